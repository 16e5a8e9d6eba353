package scope_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"os/exec"
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
	const (
		nilArg  = "a nil argument is a programmer error: it panics at the call, before any block runs"
		nilPtr  = "a nil pointer that could only crash later panics at the call too"
		noEnter = "an Exit without its Enter is a programmer error"
		itself  = "a Scope entered into itself would wait for itself when it unwinds"
		onNil   = "a method of a nil *Scope panics naming the method"
	)
	tests := []struct {
		name   string
		reason string
		call   func()
		want   string
	}{
		{"With nil Manager", nilArg, func() { _ = scope.With[int](nil, func(int) error { return nil }) }, "scope: With called with a nil Manager"},
		{"With nil body", nilArg, func() { _ = scope.With(scope.Value(1), nil) }, "scope: With called with a nil body"},
		{"WithResult nil body", nilArg, func() { _, _ = scope.WithResult[int, int](scope.Value(1), nil) }, "scope: WithResult called with a nil body"},
		{"Enter nil scope", nilArg, func() { _, _ = scope.Enter(nilScope, scope.Value(1)) }, "scope: Enter called with a nil *Scope"},
		{"Enter nil manager", nilArg, func() { _, _ = scope.Enter[int](new(scope.Scope), nil) }, "scope: Enter called with a nil Manager"},
		{"Push nil func", nilArg, func() { new(scope.Scope).Push(nil) }, "scope: Scope.Push called with a nil func"},
		{"Defer nil func", nilArg, func() { new(scope.Scope).Defer(nil) }, "scope: Scope.Defer called with a nil func"},
		{"Push on nil scope", onNil, func() { nilScope.Push(func(error) error { return nil }) }, "scope: Scope.Push called on a nil *Scope"},
		{"Defer on nil scope", onNil, func() { nilScope.Defer(func() error { return nil }) }, "scope: Scope.Defer called on a nil *Scope"},
		{"Move nil", onNil, func() { nilScope.Move() }, "scope: Scope.Move called on a nil *Scope"},
		{"Close nil", onNil, func() { _ = nilScope.Close() }, "scope: Scope.Close called on a nil *Scope"},
		{"Exit nil", onNil, func() { _ = nilScope.Exit(nil) }, "scope: Scope.Exit called on a nil *Scope"},
		{"Enter method nil", onNil, func() { _, _ = nilScope.Enter() }, "scope: Scope.Enter called on a nil *Scope"},
		{"Unwind nil", onNil, func() { var err error; nilScope.Unwind(&err) }, "scope: Scope.Unwind called on a nil *Scope"},
		{"Func nil enter", nilArg, func() { scope.Func[int](nil, func(int, error) error { return nil }) }, "scope: Func called with a nil enter func"},
		{"Func nil exit", nilArg, func() { scope.Func(func() (int, error) { return 0, nil }, nil) }, "scope: Func called with a nil exit func"},
		{"Func Exit not entered", noEnter, func() {
			_ = scope.Func(func() (int, error) { return 0, nil }, func(int, error) error { return nil }).Exit(nil)
		}, "scope: Exit called on a Func manager that is not entered"},
		{"Exit on a Generator never entered", noEnter, func() { _ = scope.Generator(func(yield func(int) error) error { return yield(1) }).Exit(nil) }, "scope: Exit called on a Generator that is not entered"},
		{"double Exit on a Generator", noEnter, func() { _ = entered().Exit(nil) }, "scope: Exit called on a Generator that is not entered"},
		{"Generator nil func", nilArg, func() { scope.Generator[int](nil) }, "scope: Generator called with a nil function"},
		{"Exit on a Chdir never entered", noEnter, func() { _ = scope.Chdir(".").Exit(nil) }, "scope: Exit called on a Manager that is not entered"},
		{"Lock nil", nilArg, func() { scope.Lock[sync.Locker](nil) }, "scope: Lock called with a nil Locker"},
		{"RLock nil", nilArg, func() { scope.RLock(nil) }, "scope: RLock called with a nil *sync.RWMutex"},
		{"LockContext nil locker", nilArg, func() { scope.LockContext[scope.ContextLocker](context.Background(), nil) }, "scope: LockContext called with a nil ContextLocker"},
		{"Swap nil", nilArg, func() { scope.Swap[int](nil, 1) }, "scope: Swap called with a nil pointer"},
		{"Tx nil db", nilArg, func() { scope.Tx(context.Background(), nil, nil) }, "scope: Tx called with a nil TxBeginner"},
		{"ForTest nil", nilArg, func() { scope.ForTest(nil) }, "scope: ForTest called with a nil TestingT"},
		{"ForTest nil *testing.T", nilPtr, func() { scope.ForTest((*testing.T)(nil)) }, "scope: ForTest called with a nil TestingT"},
		{"Tx nil *sql.DB", nilPtr, func() { scope.Tx(context.Background(), (*sql.DB)(nil), nil) }, "scope: Tx called with a nil TxBeginner"},
		{"Tx nil *sql.Conn", nilPtr, func() { scope.Tx(context.Background(), (*sql.Conn)(nil), nil) }, "scope: Tx called with a nil TxBeginner"},
		{"Closing nil", nilArg, func() { scope.Closing[io.Closer](nil) }, "scope: Closing called with a nil io.Closer"},
		{"Closing nil *os.File", nilPtr, func() { scope.Closing((*os.File)(nil)) }, "scope: Closing called with a nil io.Closer"},
		{"LockContext nil *Mutex", nilPtr, func() { scope.LockContext(context.Background(), (*scope.Mutex)(nil)) }, "scope: LockContext called with a nil ContextLocker"},
		{"Lock nil *sync.Mutex", nilPtr, func() { scope.Lock((*sync.Mutex)(nil)) }, "scope: Lock called with a nil Locker"},
		{"Lock nil *sync.Mutex in a Locker", nilPtr, func() { scope.Lock(sync.Locker((*sync.Mutex)(nil))) }, "scope: Lock called with a nil Locker"},
		{"Enter a Scope into itself", itself, func() { s := new(scope.Scope); _, _ = scope.Enter(s, s) }, "scope: Enter called with a Scope entered into itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tt.want, tt.call, tt.reason)
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

// TestCopiedScopeReported: a Scope must not be copied, and go vet says so.
func TestCopiedScopeReported(t *testing.T) {
	out, err := exec.Command("go", "vet", "./testdata/copylock").CombinedOutput()
	require.Error(t, err, "go vet must fail:\n%s", out)
	assert.Contains(t, string(out), "passes lock by value: github.com/go-scope/scope.Scope")
	assert.Contains(t, string(out), "assignment copies lock value to c: github.com/go-scope/scope.Scope")
}
