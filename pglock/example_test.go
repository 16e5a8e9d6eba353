package pglock_test

import (
	"context"
	"database/sql"
	"errors"
	"log"

	"github.com/go-scope/scope"
	"github.com/go-scope/scope/pglock"
)

func backup(ctx context.Context, token uint64) error { return ctx.Err() }

// A nightly job that runs on several machines: one of them does the work,
// the others find the lock held and skip. The work runs with the lease's
// context, which is canceled if the lease is lost, and hands the fencing
// token to what it writes. (It needs a server, so it is compiled, not run.)
func ExampleTryLock() {
	db, err := sql.Open("pgx", "") // the PG* environment variables
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	err = scope.With(pglock.TryLock(ctx, db, "nightly-backup", nil), func(l *pglock.Lease) error {
		return backup(l.Context(), l.Token)
	})
	switch {
	case errors.Is(err, scope.ErrLocked):
		log.Print("another machine runs the backup")
	case err != nil:
		log.Fatal(err)
	}
}
