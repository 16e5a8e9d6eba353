package scope_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// TestMisusePanics lists every programmer error that panics at once, with
// the message it panics with: it starts with "scope:" and names the call.
func TestMisusePanics(t *testing.T) {
	var nilScope *scope.Scope
	entered := func() scope.Manager[int] {
		g := scope.Generator(func(yield func(int) error) error { return yield(1) })
		_, _ = g.Enter()
		_ = g.Exit(nil)
		return g
	}
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"With nil Manager", func() { _ = scope.With[int](nil, func(int) error { return nil }) }, "scope: With called with a nil Manager"},
		{"With nil body", func() { _ = scope.With(scope.Value(1), nil) }, "scope: With called with a nil body"},
		{"WithResult nil body", func() { _, _ = scope.WithResult[int, int](scope.Value(1), nil) }, "scope: WithResult called with a nil body"},
		{"Enter nil scope", func() { _, _ = scope.Enter(nilScope, scope.Value(1)) }, "scope: Enter called with a nil *Scope"},
		{"Enter nil manager", func() { _, _ = scope.Enter[int](new(scope.Scope), nil) }, "scope: Enter called with a nil Manager"},
		{"Push nil func", func() { new(scope.Scope).Push(nil) }, "scope: Scope.Push called with a nil func"},
		{"Defer nil func", func() { new(scope.Scope).Defer(nil) }, "scope: Scope.Defer called with a nil func"},
		{"Push on nil scope", func() { nilScope.Push(func(error) error { return nil }) }, "scope: Scope.Push called on a nil *Scope"},
		{"Defer on nil scope", func() { nilScope.Defer(func() error { return nil }) }, "scope: Scope.Defer called on a nil *Scope"},
		{"Move nil", func() { nilScope.Move() }, "scope: Scope.Move called on a nil *Scope"},
		{"Close nil", func() { _ = nilScope.Close() }, "scope: Scope.Close called on a nil *Scope"},
		{"Exit nil", func() { _ = nilScope.Exit(nil) }, "scope: Scope.Exit called on a nil *Scope"},
		{"Enter method nil", func() { _, _ = nilScope.Enter() }, "scope: Scope.Enter called on a nil *Scope"},
		{"Unwind nil", func() { var err error; nilScope.Unwind(&err) }, "scope: Scope.Unwind called on a nil *Scope"},
		{"Func nil enter", func() { scope.Func[int](nil, func(int, error) error { return nil }) }, "scope: Func called with a nil enter func"},
		{"Func nil exit", func() { scope.Func(func() (int, error) { return 0, nil }, nil) }, "scope: Func called with a nil exit func"},
		{"Func Exit not entered", func() {
			_ = scope.Func(func() (int, error) { return 0, nil }, func(int, error) error { return nil }).Exit(nil)
		}, "scope: Exit called on a Func manager that is not entered"},
		{"Exit on a Generator never entered", func() { _ = scope.Generator(func(yield func(int) error) error { return yield(1) }).Exit(nil) }, "scope: Exit called on a Generator that is not entered"},
		{"double Exit on a Generator", func() { _ = entered().Exit(nil) }, "scope: Exit called on a Generator that is not entered"},
		{"Generator nil func", func() { scope.Generator[int](nil) }, "scope: Generator called with a nil function"},
		{"Exit on a Chdir never entered", func() { _ = scope.Chdir(".").Exit(nil) }, "scope: Exit called on a Manager that is not entered"},
		{"Lock nil", func() { scope.Lock[sync.Locker](nil) }, "scope: Lock called with a nil Locker"},
		{"RLock nil", func() { scope.RLock(nil) }, "scope: RLock called with a nil *sync.RWMutex"},
		{"LockContext nil locker", func() { scope.LockContext[scope.ContextLocker](context.Background(), nil) }, "scope: LockContext called with a nil ContextLocker"},
		{"Swap nil", func() { scope.Swap[int](nil, 1) }, "scope: Swap called with a nil pointer"},
		{"Tx nil db", func() { scope.Tx(context.Background(), nil, nil) }, "scope: Tx called with a nil TxBeginner"},
		{"ForTest nil", func() { scope.ForTest(nil) }, "scope: ForTest called with a nil TestingT"},
		{"ForTest nil *testing.T", func() { scope.ForTest((*testing.T)(nil)) }, "scope: ForTest called with a nil TestingT"},
		{"Tx nil *sql.DB", func() { scope.Tx(context.Background(), (*sql.DB)(nil), nil) }, "scope: Tx called with a nil TxBeginner"},
		{"Tx nil *sql.Conn", func() { scope.Tx(context.Background(), (*sql.Conn)(nil), nil) }, "scope: Tx called with a nil TxBeginner"},
		{"Closing nil", func() { scope.Closing[io.Closer](nil) }, "scope: Closing called with a nil io.Closer"},
		{"Closing nil *os.File", func() { scope.Closing((*os.File)(nil)) }, "scope: Closing called with a nil io.Closer"},
		{"LockContext nil *Mutex", func() { scope.LockContext(context.Background(), (*scope.Mutex)(nil)) }, "scope: LockContext called with a nil ContextLocker"},
		{"Lock nil *sync.Mutex", func() { scope.Lock((*sync.Mutex)(nil)) }, "scope: Lock called with a nil Locker"},
		{"Lock nil *sync.Mutex in a Locker", func() { scope.Lock(sync.Locker((*sync.Mutex)(nil))) }, "scope: Lock called with a nil Locker"},
		{"Enter a Scope into itself", func() { s := new(scope.Scope); _, _ = scope.Enter(s, s) }, "scope: Enter called with a Scope entered into itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tt.want, tt.call)
		})
	}
}

// TestMisuseErrors lists the misuses that are not programmer errors in the
// panicking sense: each gets a clear result, never a hang, a lost teardown or
// a silent wrong answer.
func TestMisuseErrors(t *testing.T) {
	t.Run("Enter after the scope was moved", func(t *testing.T) {
		// Move leaves s empty and usable: what is entered next belongs to s.
		var s scope.Scope
		var ran []string
		s.Defer(func() error { ran = append(ran, "moved"); return nil })
		moved := s.Move()
		_, err := scope.Enter(&s, scope.Func(func() (int, error) { return 0, nil },
			func(int, error) error { ran = append(ran, "after move"); return nil }))
		require.NoError(t, err)
		require.NoError(t, s.Close())
		assert.Equal(t, []string{"after move"}, ran)
		require.NoError(t, moved.Close())
		assert.Equal(t, []string{"after move", "moved"}, ran)
	})
	t.Run("typed nil error from a body", func(t *testing.T) {
		var typed *myErr
		err := withExit(typed, func(error) error { return nil })
		assert.ErrorAs(t, err, &typed, "a non-nil interface holding a nil pointer is an error, as in all of Go")
	})
	t.Run("typed nil error from an exit", func(t *testing.T) {
		var typed *myErr
		err := withExit(nil, func(error) error { return typed })
		assert.ErrorAs(t, err, &typed)
	})
	t.Run("Replace returned by a body", func(t *testing.T) {
		err := withExit(scope.Replace(nil), func(err error) error { return err })
		assert.ErrorContains(t, err, "only an exit may replace the outcome")
	})
	t.Run("Replace wrapped by an exit", func(t *testing.T) {
		// Only a Replace result returned as is replaces; wrapped, it is an
		// ordinary error whose text says what went wrong.
		err := withExit(errBody, func(error) error { return errors.Join(scope.Replace(nil)) })
		assert.ErrorIs(t, err, errBody)
		assert.ErrorContains(t, err, "scope: Replace(nil) used outside an exit's result")
	})
	t.Run("Suppress matcher panics", func(t *testing.T) {
		got, panicked := recoverValue(func() {
			_ = scope.With(scope.Suppress(errBody), func(struct{}) error { return panickyIs{} })
		})
		assert.True(t, panicked, "the panic propagates from the exit")
		assert.Equal(t, "Is exploded", got)
	})
	t.Run("generator that never yields", func(t *testing.T) {
		err := scope.With(scope.Generator(func(func(int) error) error { return nil }), func(int) error { return nil })
		assert.Same(t, scope.ErrNoYield, err)
	})
	t.Run("Unwind not deferred directly", func(t *testing.T) {
		// Called from a deferred closure, recover cannot see the panic.
		// The exits still run, and see that a panic is in flight (a
		// transaction must not commit); then the panic goes on.
		var seen error
		got, panicked := recoverValue(func() {
			var err error
			var s scope.Scope
			defer func() { s.Unwind(&err) }()
			s.Push(func(err error) error { seen = err; return nil })
			panic("boom")
		})
		assert.True(t, panicked)
		assert.Equal(t, "boom", got)
		var pe *scope.PanicError
		assert.ErrorAs(t, seen, &pe, "the exit saw a panic, not success")
	})
}

func TestUnwindNotDeferredDirectlyDuringGoexit(t *testing.T) {
	var seen error
	returned := inGoroutine(func() {
		var err error
		var s scope.Scope
		defer func() { s.Unwind(&err) }()
		s.Push(func(err error) error { seen = err; return nil })
		runGoexit()
	})
	assert.False(t, returned)
	assert.Same(t, scope.ErrGoexit, seen)
}
