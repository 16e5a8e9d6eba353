package sqltx

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBody = errors.New("body failed")

// open returns a new database file with one table, closed at the end of the
// test.
func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "test.db")+"?_pragma=foreign_keys(1)")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	_, err = db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	require.NoError(t, err)
	return db
}

func countItems(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM items`).Scan(&n))
	return n
}

func insert(tx *sql.Tx) error {
	_, err := tx.Exec(`INSERT INTO items (name) VALUES ('a')`)
	return err
}

func TestTxOnEveryPath(t *testing.T) {
	tests := []struct {
		name       string
		body       func(tx *sql.Tx) error
		wantRows   int
		wantErr    error
		wantReturn bool // whether the block's goroutine returns normally
	}{
		{"success commits", func(tx *sql.Tx) error { return insert(tx) }, 1, nil, true},
		{"error rolls back", func(tx *sql.Tx) error { _ = insert(tx); return errBody }, 0, errBody, true},
		{"panic rolls back", func(tx *sql.Tx) error { _ = insert(tx); panic("boom") }, 0, nil, true},
		{"Goexit rolls back", func(tx *sql.Tx) error { _ = insert(tx); runtime.Goexit(); return nil }, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			var (
				err      error
				returned bool
				wg       sync.WaitGroup
			)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { _ = recover() }()
				err = scope.With(scope.Tx(context.Background(), db, nil), tt.body)
				returned = true
			}()
			wg.Wait()
			assert.Equal(t, tt.wantRows, countItems(t, db))
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			if tt.name == "panic rolls back" {
				assert.False(t, returned, "the panic resumed")
			} else {
				assert.Equal(t, tt.wantReturn, returned)
			}
		})
	}
}

func TestTxCommitErrorAdded(t *testing.T) {
	db := open(t)
	_, err := db.Exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`)
	require.NoError(t, err)
	// A deferred foreign key is checked at COMMIT: the block succeeds, the
	// commit fails, and that failure is the outcome.
	err = scope.With(scope.Tx(context.Background(), db, nil), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO child VALUES (42)`)
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FOREIGN KEY")
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM child`).Scan(&n))
	assert.Zero(t, n)
}

func TestTxRollbackErrorAdded(t *testing.T) {
	db := open(t)
	// End the SQLite transaction behind database/sql's back: the ROLLBACK
	// that Tx's exit sends then fails in SQLite itself, and that error joins
	// the block's. (Killing the driver connection under an open transaction
	// is not an option: modernc's Rollback then blocks forever.)
	err := scope.With(scope.Tx(context.Background(), db, nil), func(tx *sql.Tx) error {
		require.NoError(t, insert(tx))
		_, err := tx.Exec(`COMMIT`)
		require.NoError(t, err)
		return errBody
	})
	assert.ErrorIs(t, err, errBody)
	assert.Contains(t, err.Error(), "no transaction is active", "the rollback error was added: %v", err)
}

func TestTxCanceledContext(t *testing.T) {
	db := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := scope.With(scope.Tx(ctx, db, nil), func(tx *sql.Tx) error {
		require.NoError(t, insert(tx))
		cancel() // database/sql rolls the transaction back by itself
		return ctx.Err()
	})
	assert.Same(t, context.Canceled, err, "the rollback's ErrTxDone is not reported")
	assert.Equal(t, 0, countItems(t, db))
}

func TestTxInScope(t *testing.T) {
	db := open(t)
	err := func() (err error) {
		var s scope.Scope
		defer s.Unwind(&err)
		tx, err := scope.Enter(&s, scope.Tx(context.Background(), db, &sql.TxOptions{}))
		if err != nil {
			return err
		}
		return insert(tx)
	}()
	require.NoError(t, err)
	assert.Equal(t, 1, countItems(t, db))
}
