package scope

import (
	"context"
	"database/sql"
	"errors"
)

// TxBeginner is what [Tx] needs of a database: *sql.DB and *sql.Conn have it.
type TxBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// Tx returns a Manager that begins a transaction on db and, on exit, commits
// it if the outcome is nil, and rolls it back on any error, panic or Goexit
// (so a t.FailNow in a test never commits). A commit or rollback error is
// added to the outcome, except a rollback's [sql.ErrTxDone]: the transaction
// already ended, as it does when ctx is canceled.
//
// Tx panics if ctx or db is nil (a nil interface, or a nil *sql.DB or
// *sql.Conn), before any block runs.
func Tx(ctx context.Context, db TxBeginner, opts *sql.TxOptions) Manager[*sql.Tx] {
	if ctx == nil {
		panic("scope: Tx called with a nil Context")
	}
	if isNil(db) {
		panic("scope: Tx called with a nil TxBeginner")
	}
	return Func(func() (*sql.Tx, error) {
		return db.BeginTx(ctx, opts)
	}, func(tx *sql.Tx, err error) error {
		if err == nil {
			return tx.Commit()
		}
		if err := tx.Rollback(); !errors.Is(err, sql.ErrTxDone) {
			return err
		}
		return nil
	})
}

var (
	_ TxBeginner = (*sql.DB)(nil)
	_ TxBeginner = (*sql.Conn)(nil)
)
