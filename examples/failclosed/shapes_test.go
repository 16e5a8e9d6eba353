package failclosed

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBody = errors.New("body failed")

// open returns a new database with an empty table, closed at the end of the
// test.
func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "test.db"))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	_, err = db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	require.NoError(t, err)
	return db
}

func insert(tx *sql.Tx) error {
	_, err := tx.Exec(`INSERT INTO items (name) VALUES ('a')`)
	return err
}

func countItems(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM items`).Scan(&n))
	return n
}

// The shapes of Unwind's and Close's doc tables over a real SQLite
// transaction: a row inserted in the block must be committed when the
// function returns nil, and never when it returns an error, panics or calls
// Goexit. A commit during a panic or a Goexit is the failure caught here.

type ending struct {
	name   string
	end    func() error
	commit bool
}

var endings = []ending{
	{"return nil", func() error { return nil }, true},
	{"return error", func() error { return errBody }, false},
	{"panic", func() error { panic("boom") }, false},
	{"Goexit", func() error { runtime.Goexit(); return nil }, false},
}

// shape runs a function F that enters a Tx into s, inserts a row and ends
// with end; each shape unwinds s its own way.
type shape struct {
	name  string
	run   func(s *scope.Scope, work func() error) error
	close bool // unwound by Close or its variants: a plain return commits whatever F returned
}

func finishHelper(s *scope.Scope, errp *error) { s.Unwind(errp) }

type job struct{ s *scope.Scope }

func (j *job) finish(errp *error) { j.s.Unwind(errp) }

var shapes = []shape{
	{name: "defer s.Unwind(&err)", run: func(s *scope.Scope, work func() error) (err error) {
		defer s.Unwind(&err)
		return work()
	}},
	{name: "defer in a loop", run: func(s *scope.Scope, work func() error) (err error) {
		for range 1 {
			defer s.Unwind(&err)
		}
		return work()
	}},
	{name: "deferred closure", run: func(s *scope.Scope, work func() error) (err error) {
		defer func() { s.Unwind(&err) }()
		return work()
	}},
	{name: "helper function", run: func(s *scope.Scope, work func() error) (err error) {
		defer finishHelper(s, &err)
		return work()
	}},
	{name: "helper method", run: func(s *scope.Scope, work func() error) (err error) {
		j := &job{s}
		defer j.finish(&err)
		return work()
	}},
	{name: "defer s.Close()", close: true, run: func(s *scope.Scope, work func() error) error {
		defer s.Close()
		return work()
	}},
	{name: "defer s.CloseTimeout(d)", close: true, run: func(s *scope.Scope, work func() error) error {
		defer s.CloseTimeout(time.Minute)
		return work()
	}},
}

func TestTxShapes(t *testing.T) {
	for _, sh := range shapes {
		for _, e := range endings {
			t.Run(sh.name+"/"+e.name, func(t *testing.T) {
				db := open(t)
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { _ = recover() }()
					var s scope.Scope
					_ = sh.run(&s, func() error {
						tx, err := scope.Enter(&s, scope.Tx(context.Background(), db, nil))
						if err != nil {
							return err
						}
						if err := insert(tx); err != nil {
							return err
						}
						return e.end()
					})
				}()
				wg.Wait()
				want := 0
				if e.commit || (sh.close && e.name == "return error") {
					// Close starts from nil whatever F returned: that is
					// why the analyzer reports defer s.Close().
					want = 1
				}
				assert.Equal(t, want, countItems(t, db))
			})
		}
	}
}

// TestTxCrashRecordDuringPanic: a recover handler writes a crash record in a
// transaction of its own; the function that does it returns normally, so its
// transaction commits although a panic is in flight around it (amd64 and
// arm64; elsewhere it fails closed and rolls back).
func TestTxCrashRecordDuringPanic(t *testing.T) {
	db := open(t)
	record := func() (err error) {
		var s scope.Scope
		defer s.Unwind(&err)
		tx, err := scope.Enter(&s, scope.Tx(context.Background(), db, nil))
		if err != nil {
			return err
		}
		return insert(tx)
	}
	var recordErr error
	func() {
		defer func() {
			if recover() != nil {
				recordErr = record()
			}
		}()
		panic("request failed")
	}()
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		assert.Equal(t, 0, countItems(t, db), "fails closed where the shape cannot be told")
		return
	}
	require.NoError(t, recordErr)
	assert.Equal(t, 1, countItems(t, db), "the crash record is committed")
}
