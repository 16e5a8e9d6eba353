package main

import (
	"context"
	"database/sql"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/go-scope/scope"
	"github.com/go-scope/scope/pglock"
)

// meta says how an archive was made: with -lock-db, the lease's name and
// fencing token.
type meta struct {
	Lock  string `json:"lock"`
	Token uint64 `json:"token"`
}

// takeLock takes the lock that keeps runs on the archive directory out apart:
// a file lock in it, or, with -lock-db, a lease in PostgreSQL, for runs on
// several machines. Both refuse at once with an error matching
// scope.ErrLocked when another run holds the lock. It returns the context
// the work must run in: with a lease, one that is canceled if the lease is
// lost, so that no archive is published then.
func takeLock(ctx context.Context, s *scope.Scope, c config, out string) (*meta, context.Context, error) {
	if c.lockDB == "" {
		_, err := scope.Enter(s, scope.TryFileLock(filepath.Join(out, ".backup.lock")))
		return nil, ctx, err
	}
	db, err := sql.Open("pgx", c.lockDB)
	if err != nil {
		return nil, ctx, err
	}
	s.Defer(db.Close)
	name := "scope-backup:" + out
	lease, err := scope.Enter(s, pglock.TryLock(ctx, db, name, nil))
	if err != nil {
		return nil, ctx, err
	}
	return &meta{Lock: name, Token: lease.Token}, lease.Context(), nil
}
