package scope_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

func TestWithOrder(t *testing.T) {
	var l log
	err := scope.With(tracked(&l, "a", nil), func(v string) error {
		l.add("body %s", v)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"enter a", "body a", "exit a (<nil>)"}, l.get())
}

func TestWithEnterFails(t *testing.T) {
	exited, ran := false, false
	m := scope.Func(func() (int, error) { return 0, errEnter }, func(int, error) error { exited = true; return nil })
	err := scope.With(m, func(int) error { ran = true; return nil })
	assert.Same(t, errEnter, err, "With returns Enter's error")
	assert.False(t, ran, "no body after a failed Enter")
	assert.False(t, exited, "no Exit after a failed Enter")
}

// plainManager is a Manager[int] of the kind With does not special-case.
type plainManager struct{ exit func(err error) error }

func (m *plainManager) Enter() (int, error)  { return 0, nil }
func (m *plainManager) Exit(err error) error { return m.exit(err) }

// lockManager is a plain pointer Manager, the kind With does not special-case.
type lockManager struct {
	log  *log
	exit func(err error) error
}

func (m *lockManager) Enter() (*lockManager, error) { m.log.add("enter"); return m, nil }
func (m *lockManager) Exit(err error) error {
	m.log.add("exit (%v)", err)
	return m.exit(err)
}

func TestWithOutcomes(t *testing.T) {
	errPanic := errors.New("panic value")
	tests := []struct {
		name   string
		reason string
		body   func() error
		check  func(t *testing.T, seen error)
	}{
		{
			name: "nil", reason: "the body returned nil",
			body:  func() error { return nil },
			check: func(t *testing.T, seen error) { assert.NoError(t, seen) },
		},
		{
			name: "error", reason: "the body's error itself",
			body:  func() error { return errBody },
			check: func(t *testing.T, seen error) { assert.Same(t, errBody, seen) },
		},
		{
			name: "panic string", reason: "a *PanicError with the value and the stack",
			body: func() error { panic("boom") },
			check: func(t *testing.T, seen error) {
				var pe *scope.PanicError
				require.ErrorAs(t, seen, &pe)
				assert.Equal(t, "boom", pe.Value)
				assert.Contains(t, string(pe.Stack), "TestWithOutcomes", "the stack holds the panicking frames")
			},
		},
		{
			name: "panic error", reason: "Unwrap reaches an error panic value",
			body:  func() error { panic(errPanic) },
			check: func(t *testing.T, seen error) { assert.ErrorIs(t, seen, errPanic) },
		},
		{
			name: "panic nil", reason: "panic(nil) arrives as *runtime.PanicNilError",
			body: func() error { panic(nil) },
			check: func(t *testing.T, seen error) {
				var pn *runtime.PanicNilError
				assert.ErrorAs(t, seen, &pn)
			},
		},
	}
	managers := map[string]func(l *log, exit func(error) error) scope.Manager[int]{
		"Func": func(l *log, exit func(error) error) scope.Manager[int] {
			return scope.Func(func() (int, error) { return 0, nil }, func(_ int, err error) error { l.add("exit"); return exit(err) })
		},
		"plain": func(l *log, exit func(error) error) scope.Manager[int] {
			return &plainManager{exit: func(err error) error { l.add("exit"); return exit(err) }}
		},
		"Generator": func(l *log, exit func(error) error) scope.Manager[int] {
			return scope.Generator(func(yield func(int) error) error {
				err := yield(0)
				l.add("exit")
				return exit(err)
			})
		},
	}
	for mname, mk := range managers {
		for _, tt := range tests {
			t.Run(mname+"/"+tt.name, func(t *testing.T) {
				var (
					l    log
					seen error
				)
				m := mk(&l, func(err error) error { seen = err; return nil })
				_, _ = recoverValue(func() { _ = scope.With(m, func(int) error { return tt.body() }) })
				assert.Equal(t, []string{"exit"}, l.get(), "Exit runs exactly once (%s)", tt.reason)
				tt.check(t, seen)
			})
		}
	}
}

func TestWithRepanicsOriginalValue(t *testing.T) {
	values := map[string]any{
		"string":               "boom",
		"error":                errBody,
		"http.ErrAbortHandler": http.ErrAbortHandler,
	}
	for name, value := range values {
		t.Run(name, func(t *testing.T) {
			var l log
			m := &lockManager{log: &l, exit: func(error) error { return errExit1 }}
			got, panicked := recoverValue(func() {
				_ = scope.With[*lockManager](m, func(*lockManager) error { panic(value) })
			})
			require.True(t, panicked, "a panic that no exit replaced resumes")
			assert.True(t, got == value, "recovered %#v; want the original value %#v, not a wrapper", got, value)
			assert.Equal(t, []string{"enter", "exit (panic: " + errString(value) + ")"}, l.get())
		})
	}
	t.Run("panic(nil)", func(t *testing.T) {
		got, panicked := recoverValue(func() {
			_ = scope.With(scope.Value(1), func(int) error { panic(nil) })
		})
		require.True(t, panicked)
		var pn *runtime.PanicNilError
		assert.ErrorAs(t, got.(error), &pn, "panic(nil) resumes as the runtime's *PanicNilError")
	})
}

func errString(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	return v.(string)
}

func TestWithReplaceStopsPanic(t *testing.T) {
	var l log
	m := &lockManager{log: &l, exit: func(error) error { return scope.Replace(errOther) }}
	var err error
	_, panicked := recoverValue(func() {
		err = scope.With[*lockManager](m, func(*lockManager) error { panic("boom") })
	})
	assert.False(t, panicked, "an exit that replaced the panic stops it")
	assert.Same(t, errOther, err)

	m.exit = func(error) error { return scope.Replace(nil) }
	_, panicked = recoverValue(func() {
		err = scope.With[*lockManager](m, func(*lockManager) error { panic("boom") })
	})
	assert.False(t, panicked)
	assert.NoError(t, err, "Replace(nil) suppresses a panic")
}

func TestWithGoexit(t *testing.T) {
	var (
		l     log
		seen  error
		after bool
	)
	m := &lockManager{log: &l, exit: func(err error) error { seen = err; return scope.Replace(nil) }}
	returned := inGoroutine(func() {
		_ = scope.With[*lockManager](m, func(*lockManager) error {
			runtime.Goexit()
			return nil
		})
		after = true
	})
	assert.False(t, returned, "Goexit goes on after Exit, even when Exit replaced the outcome")
	assert.False(t, after, "code after With does not run")
	assert.Same(t, scope.ErrGoexit, seen, "Exit sees ErrGoexit")
	assert.Equal(t, []string{"enter", "exit (scope: block called runtime.Goexit)"}, l.get())
}

func TestWithExitPanicPropagates(t *testing.T) {
	m := scope.Func(func() (int, error) { return 0, nil }, func(int, error) error { panic("exit boom") })
	got, panicked := recoverValue(func() { _ = scope.With(m, func(int) error { return errBody }) })
	assert.True(t, panicked)
	assert.Equal(t, "exit boom", got)
}

func TestWithResult(t *testing.T) {
	m := tracked(&log{}, "a", nil)
	got, err := scope.WithResult(m, func(v string) (int, error) { return len(v) + 41, nil })
	require.NoError(t, err)
	assert.Equal(t, 42, got)

	got, err = scope.WithResult(m, func(string) (int, error) { return 7, errBody })
	assert.Same(t, errBody, err)
	assert.Equal(t, 7, got, "the body's result whatever the outcome")

	sup := scope.Func(func() (int, error) { return 0, nil }, func(int, error) error { return scope.Replace(nil) })
	got, err = scope.WithResult(sup, func(int) (int, error) { panic("boom") })
	assert.NoError(t, err)
	assert.Zero(t, got, "zero result after a suppressed panic")
}

//go:noinline
func panickingFunction() error {
	panic("crash in the block")
}

func TestWithCrashOutputKeepsFrames(t *testing.T) {
	managers := map[string]scope.Manager[int]{
		"Func":          scope.Func(func() (int, error) { return 0, nil }, func(int, error) error { return errExit1 }),
		"plain Manager": &plainManager{exit: func(error) error { return errExit1 }},
	}
	for name, m := range managers {
		t.Run(name, func(t *testing.T) {
			out, err := inChild(t, func() { _ = scope.With(m, func(int) error { return panickingFunction() }) })
			var exit interface{ ExitCode() int }
			require.ErrorAs(t, err, &exit, "the child crashes")
			assert.Equal(t, 2, exit.ExitCode(), "exit code of an unrecovered panic")
			assert.Contains(t, out, "panic: crash in the block [recovered, repanicked]", "the original value, not a wrapper")
			assert.Contains(t, out, "scope_test.panickingFunction(", "the crash output names the panicking function")
		})
	}
}

// TestFailNowIsGoexit runs itself in a child process where two subtests call
// t.FailNow inside a block: the child fails, as it should, and its output
// shows that the exits saw ErrGoexit, not success.
func TestFailNowIsGoexit(t *testing.T) {
	if os.Getenv("SCOPE_FAILNOW") == "1" {
		exit := func(name string) func(error) error {
			return func(err error) error {
				fmt.Printf("%s exit saw: %v\n", name, err)
				return nil
			}
		}
		t.Run("With", func(t *testing.T) {
			m := scope.Func(func() (int, error) { return 0, nil }, func(_ int, err error) error { return exit("With")(err) })
			_ = scope.With(m, func(int) error { t.FailNow(); return nil })
		})
		t.Run("Unwind", func(t *testing.T) {
			_ = func() (err error) {
				var s scope.Scope
				defer s.Unwind(&err)
				s.Push(exit("Unwind"))
				t.FailNow()
				return nil
			}()
		})
		return
	}
	cmd := selfCmd("-test.run=^TestFailNowIsGoexit$", "-test.v")
	cmd.Env = append(os.Environ(), "SCOPE_FAILNOW=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the child's subtests fail by design:\n%s", out)
	assert.Contains(t, string(out), "With exit saw: scope: block called runtime.Goexit")
	assert.Contains(t, string(out), "Unwind exit saw: scope: block called runtime.Goexit")
}
