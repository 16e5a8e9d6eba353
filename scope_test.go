package scope_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

func TestScopeLIFO(t *testing.T) {
	var (
		l log
		s scope.Scope
	)
	for _, name := range []string{"a", "b", "c"} {
		_, err := scope.Enter(&s, tracked(&l, name, nil))
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	assert.Equal(t, []string{
		"enter a", "enter b", "enter c",
		"exit c (<nil>)", "exit b (<nil>)", "exit a (<nil>)",
	}, l.get())
}

func TestScopeExitsSeeCurrentOutcome(t *testing.T) {
	var (
		l log
		s scope.Scope
	)
	_, _ = scope.Enter(&s, tracked(&l, "outer", nil))
	_, _ = scope.Enter(&s, tracked(&l, "middle", errExit2))
	_, _ = scope.Enter(&s, tracked(&l, "inner", scope.Replace(errExit1)))
	err := s.Exit(errBody)
	assertParts(t, err, errExit1, errExit2)
	assert.Zero(t, count(err, errBody), "the inner exit replaced the body's error")
	assert.Equal(t, []string{
		"enter outer", "enter middle", "enter inner",
		"exit inner (body failed)",
		"exit middle (exit 1 failed)",
		"exit outer (exit 1 failed; exit 2 failed)",
	}, l.get(), "each exit sees the outcome as the inner ones left it")
}

func TestScopeEnterFailureRegistersNothing(t *testing.T) {
	var (
		s      scope.Scope
		exited bool
	)
	m := scope.Func(func() (int, error) { return 0, errEnter }, func(int, error) error { exited = true; return nil })
	_, err := scope.Enter(&s, m)
	assert.Same(t, errEnter, err)
	require.NoError(t, s.Close())
	assert.False(t, exited, "no exit registered for a failed Enter")
}

func TestScopePushAndDefer(t *testing.T) {
	var (
		s    scope.Scope
		seen []error
	)
	s.Defer(func() error { seen = append(seen, nil); return errExit2 })
	s.Push(func(err error) error { seen = append(seen, err); return nil })
	err := s.Exit(errBody)
	assert.Equal(t, []error{errBody, nil}, seen, "Push sees the outcome; Defer takes no argument")
	assertParts(t, err, errBody, errExit2)
}

func TestScopeMove(t *testing.T) {
	for _, n := range []int{0, 1, 4, 5, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var (
				s   scope.Scope
				ran []int
			)
			for i := range n {
				s.Defer(func() error { ran = append(ran, i); return nil })
			}
			moved := s.Move()
			require.NoError(t, s.Close())
			assert.Empty(t, ran, "the moved-from scope is empty")

			s.Defer(func() error { ran = append(ran, -1); return nil })
			require.NoError(t, s.Close())
			assert.Equal(t, []int{-1}, ran, "the moved-from scope is usable again")

			ran = nil
			require.NoError(t, moved.Close())
			want := []int{}
			for i := n - 1; i >= 0; i-- {
				want = append(want, i)
			}
			assert.Equal(t, want, append([]int{}, ran...), "the new scope runs the moved exits LIFO")
		})
	}
}

// TestScopeMoveConstructor is the pattern Move exists for: acquire several
// resources, and hand them over only if all succeeded.
func TestScopeMoveConstructor(t *testing.T) {
	var closed []string
	open := func(name string, fail bool) scope.Manager[string] {
		return scope.Func(func() (string, error) {
			if fail {
				return "", errEnter
			}
			return name, nil
		}, func(v string, err error) error { closed = append(closed, v); return nil })
	}
	build := func(failSecond bool) (*scope.Scope, error) {
		var s scope.Scope
		defer s.Close()
		if _, err := scope.Enter(&s, open("a", false)); err != nil {
			return nil, err
		}
		if _, err := scope.Enter(&s, open("b", failSecond)); err != nil {
			return nil, err
		}
		return s.Move(), nil
	}
	_, err := build(true)
	assert.Same(t, errEnter, err)
	assert.Equal(t, []string{"a"}, closed, "a failed constructor releases what it acquired")

	closed = nil
	owner, err := build(false)
	require.NoError(t, err)
	assert.Empty(t, closed, "a successful constructor hands its resources over")
	require.NoError(t, owner.Close())
	assert.Equal(t, []string{"b", "a"}, closed)
}

func TestScopeAsManager(t *testing.T) {
	var s scope.Scope
	v, err := s.Enter()
	require.NoError(t, err)
	assert.Same(t, &s, v, "Enter returns the scope itself")
	var _ io.Closer = &s
	var _ scope.Manager[*scope.Scope] = &s
}

func TestNestedScopeReplacesOutcome(t *testing.T) {
	suppressing := func(inner *scope.Scope) {
		inner.Push(func(error) error { return scope.Replace(nil) })
	}
	t.Run("With", func(t *testing.T) {
		err := scope.With(new(scope.Scope), func(s *scope.Scope) error {
			suppressing(s)
			return errBody
		})
		assert.NoError(t, err, "a suppression inside the scope reaches the block")
	})
	t.Run("Enter into outer", func(t *testing.T) {
		var outer scope.Scope
		var seen error
		outer.Push(func(err error) error { seen = err; return nil })
		inner, err := scope.Enter(&outer, new(scope.Scope))
		require.NoError(t, err)
		suppressing(inner)
		assert.NoError(t, outer.Exit(errBody))
		assert.NoError(t, seen, "the outer exit sees the inner scope's final outcome")
	})
	t.Run("embedded", func(t *testing.T) {
		err := scope.With[*scope.Scope](&embedsScope{}, func(s *scope.Scope) error {
			suppressing(s)
			return errBody
		})
		assert.NoError(t, err, "a type embedding a Scope replaces the outcome too")
	})
	t.Run("Push(inner.Exit) does not", func(t *testing.T) {
		var outer, inner scope.Scope
		suppressing(&inner)
		outer.Push(inner.Exit)
		assert.Same(t, errBody, outer.Exit(errBody),
			"as a plain exit, a nil result leaves the outcome alone (rule 1)")
	})
}

type embedsScope struct{ scope.Scope }

func TestUnwind(t *testing.T) {
	run := func(body func() error, exit func(err error) error) (err error) {
		var s scope.Scope
		defer s.Unwind(&err)
		s.Push(exit)
		return body()
	}
	t.Run("success", func(t *testing.T) {
		var seen error = errOther
		err := run(func() error { return nil }, func(err error) error { seen = err; return nil })
		assert.NoError(t, err)
		assert.NoError(t, seen)
	})
	t.Run("error", func(t *testing.T) {
		err := run(func() error { return errBody }, func(err error) error { return errExit1 })
		assertParts(t, err, errBody, errExit1)
	})
	t.Run("panic resumes", func(t *testing.T) {
		var seen error
		got, panicked := recoverValue(func() {
			_ = run(func() error { panic(errBody) }, func(err error) error { seen = err; return errExit1 })
		})
		require.True(t, panicked)
		assert.True(t, got == error(errBody), "original value, got %#v", got)
		var pe *scope.PanicError
		assert.ErrorAs(t, seen, &pe)
	})
	t.Run("panic replaced", func(t *testing.T) {
		var err error
		_, panicked := recoverValue(func() {
			err = run(func() error { panic("boom") }, func(error) error { return scope.Replace(errOther) })
		})
		assert.False(t, panicked)
		assert.Same(t, errOther, err, "the function returns normally with the replacement")
	})
	t.Run("Goexit", func(t *testing.T) {
		var seen error
		returned := inGoroutine(func() {
			_ = run(func() error { runtime.Goexit(); return nil }, func(err error) error { seen = err; return nil })
		})
		assert.False(t, returned)
		assert.Same(t, scope.ErrGoexit, seen, "Unwind tells Goexit from a normal return")
	})
	t.Run("deferred in a loop", func(t *testing.T) {
		// A defer in a loop is not open-coded: runtime.deferreturn runs it.
		var seen []error
		returned := inGoroutine(func() {
			func() (err error) {
				for range 2 {
					var s scope.Scope
					defer s.Unwind(&err)
					s.Push(func(err error) error { seen = append(seen, err); return nil })
				}
				return errBody
			}()
		})
		assert.True(t, returned)
		assert.Equal(t, []error{errBody, errBody}, seen)
	})
	t.Run("normal return inside a deferred call during Goexit", func(t *testing.T) {
		var seen error = errOther
		returned := inGoroutine(func() {
			defer func() {
				seen = run(func() error { return nil }, func(err error) error { return err })
			}()
			runtime.Goexit()
		})
		assert.False(t, returned)
		if !framePointers {
			assert.Same(t, scope.ErrGoexit, seen, "without frame pointers this shape fails closed")
			return
		}
		assert.NoError(t, seen, "only the function's own Goexit counts")
	})
	t.Run("nil errp", func(t *testing.T) {
		ran := false
		assert.PanicsWithValue(t, "scope: Scope.Unwind called with a nil *error", func() {
			var s scope.Scope
			defer s.Unwind(nil)
			s.Defer(func() error { ran = true; return nil })
		})
		assert.True(t, ran, "the exits ran before the misuse panic")
	})
}

func TestScopeExitPanics(t *testing.T) {
	var (
		l     log
		s     scope.Scope
		seen1 error
	)
	s.Push(func(err error) error { seen1 = err; l.add("first"); return nil })
	s.Push(func(error) error { l.add("panicking"); panic("exit boom") })
	s.Push(func(error) error { l.add("last"); return nil })
	got, panicked := recoverValue(func() { _ = s.Close() })
	require.True(t, panicked)
	assert.Equal(t, "exit boom", got, "the panic resumes with its original value")
	assert.Equal(t, []string{"last", "panicking", "first"}, l.get(), "the other exits still ran")
	var pe *scope.PanicError
	require.ErrorAs(t, seen1, &pe, "later exits see the panic as a *PanicError")
	assert.Equal(t, "exit boom", pe.Value)

	require.NoError(t, s.Close(), "the scope is empty after unwinding")
}

func TestScopeExitPanicReplaced(t *testing.T) {
	var s scope.Scope
	s.Push(func(err error) error { return scope.Replace(nil) })
	s.Push(func(error) error { panic("exit boom") })
	_, panicked := recoverValue(func() { assert.NoError(t, s.Close()) })
	assert.False(t, panicked, "an outer exit may replace an inner exit's panic")
}

func TestScopeEarliestPanicResumes(t *testing.T) {
	t.Run("two exits", func(t *testing.T) {
		var s scope.Scope
		var seen error
		s.Push(func(err error) error { seen = err; return nil })
		s.Push(func(error) error { panic("second") })
		s.Push(func(error) error { panic("first") })
		got, panicked := recoverValue(func() { _ = s.Close() })
		require.True(t, panicked)
		assert.Equal(t, "first", got)
		assert.Equal(t, "panic: first; panic: second", seen.Error(), "both panics reach the outcome")
	})
	t.Run("block and exit", func(t *testing.T) {
		got, panicked := recoverValue(func() {
			_ = scope.With(new(scope.Scope), func(s *scope.Scope) error {
				s.Push(func(error) error { panic("exit") })
				panic("block")
			})
		})
		require.True(t, panicked)
		assert.Equal(t, "block", got, "the block's panic came first")
	})
}

func TestScopeExitGoexit(t *testing.T) {
	var (
		l    log
		seen error
	)
	returned := inGoroutine(func() {
		var s scope.Scope
		s.Push(func(err error) error { seen = err; l.add("first"); return scope.Replace(nil) })
		s.Push(func(error) error { l.add("goexit"); runtime.Goexit(); return nil })
		_ = s.Close()
	})
	assert.False(t, returned, "Goexit in an exit resumes after the unwinding")
	assert.Equal(t, []string{"goexit", "first"}, l.get(), "the remaining exits ran")
	assert.Same(t, scope.ErrGoexit, seen)
}

func TestScopeRegisterWhileUnwinding(t *testing.T) {
	var (
		l log
		s scope.Scope
	)
	s.Defer(func() error { l.add("first registered"); return nil })
	s.Defer(func() error {
		l.add("registering")
		s.Defer(func() error { l.add("registered while unwinding"); return errExit1 })
		return nil
	})
	assert.Same(t, errExit1, s.Close(), "its error is in this unwinding's outcome")
	assert.Equal(t, []string{"registering", "registered while unwinding", "first registered"}, l.get(),
		"an exit registered during unwinding runs next")
}

func TestScopeManyExits(t *testing.T) {
	const n = 100_000
	var (
		s    scope.Scope
		next = n - 1
		bad  int
	)
	for i := range n {
		s.Defer(func() error {
			if i != next {
				bad++
			}
			next--
			return nil
		})
	}
	require.NoError(t, s.Close(), "a loop, not recursion: no stack overflow")
	assert.Equal(t, -1, next, "all ran")
	assert.Zero(t, bad, "in LIFO order")
}

func TestScopeReuseAndDoubleClose(t *testing.T) {
	var s scope.Scope
	runs := 0
	s.Defer(func() error { runs++; return errExit1 })
	assert.Same(t, errExit1, s.Close())
	assert.NoError(t, s.Close(), "a second Close is a no-op returning nil")
	s.Defer(func() error { runs++; return nil })
	assert.NoError(t, s.Close())
	assert.Equal(t, 2, runs, "each exit ran once; the scope was usable again")
}

func TestScopeConcurrentClose(t *testing.T) {
	var (
		s    scope.Scope
		runs atomic.Int32
		wg   sync.WaitGroup
	)
	for range 1000 {
		s.Defer(func() error { runs.Add(1); return nil })
	}
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); assert.NoError(t, s.Close()) }()
	}
	wg.Wait()
	assert.Equal(t, int32(1000), runs.Load(), "concurrent unwindings share the exits; each runs once")
}

func TestScopeGeneratorAndFuncShared(t *testing.T) {
	// One Func and one Generator manager entered into many scopes at once:
	// each scope exits the value it entered.
	fm := scope.Func(func() (int, error) { return 1, nil }, func(v int, err error) error {
		if v != 1 {
			return errors.New("wrong value")
		}
		return nil
	})
	gm := scope.Generator(func(yield func(int) error) error { return yield(2) })
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				var s scope.Scope
				_, err := scope.Enter(&s, fm)
				assert.NoError(t, err)
				v, err := scope.Enter(&s, gm)
				assert.NoError(t, err)
				assert.Equal(t, 2, v)
				assert.NoError(t, s.Close())
			}
		}()
	}
	wg.Wait()
}

//go:noinline
func panickingExit() error {
	panic("crash in an exit")
}

func TestScopeCrashOutputKeepsFrames(t *testing.T) {
	tests := []struct {
		name, reason string
		scenario     func()
		value, frame string
	}{
		{"block panics", "Unwind resumes the block's panic from inside its deferred call", func() {
			_ = func() (err error) {
				var s scope.Scope
				defer s.Unwind(&err)
				s.Defer(func() error { return errExit1 })
				return panickingFunction()
			}()
		}, "crash in the block", "scope_test.panickingFunction("},
		{"exit panics", "the unwinding resumes an exit's panic on top of its frames", func() {
			var s scope.Scope
			s.Defer(func() error { return errExit1 })
			s.Defer(panickingExit)
			_ = s.Close()
		}, "crash in an exit", "scope_test.panickingExit("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := inChild(t, tt.scenario)
			require.Error(t, err, "the child crashes")
			assert.Contains(t, out, "panic: "+tt.value+" [recovered, repanicked]", tt.reason)
			assert.Contains(t, out, tt.frame, "the crash output names the panicking function")
		})
	}
}

// recoverToError is an exit that turns a panic in the outcome into an error,
// keeping every other error: what an HTTP server's recovery does.
func recoverToError(err error) error {
	var pe *scope.PanicError
	if !errors.As(err, &pe) {
		return nil
	}
	var kept []error
	for _, e := range multierrErrors(err) {
		if !errors.As(e, &pe) {
			kept = append(kept, e)
		}
	}
	return scope.Replace(errors.Join(append(kept, fmt.Errorf("recovered: %v", pe.Value))...))
}

func multierrErrors(err error) []error {
	if g, ok := err.(interface{ Unwrap() []error }); ok {
		return g.Unwrap()
	}
	return []error{err}
}

func TestNestedScopePanicKeepsItsErrors(t *testing.T) {
	var outer scope.Scope
	outer.Push(recoverToError)
	inner, err := scope.Enter(&outer, new(scope.Scope))
	require.NoError(t, err)
	inner.Defer(func() error { return errExit1 })
	inner.Defer(func() error { panic("inner boom") })
	inner.Defer(func() error { return errExit2 })
	_, panicked := recoverValue(func() { err = outer.Close() })
	require.False(t, panicked, "the outer exit converted the panic")
	assert.ErrorIs(t, err, errExit1, "the inner scope's errors survive its panic")
	assert.ErrorIs(t, err, errExit2)
	assert.Contains(t, err.Error(), "recovered: inner boom")
}

func TestNestedScopePanicValueKept(t *testing.T) {
	var outer, seenBy scope.Scope
	var seen error
	outer.Push(func(err error) error { seen = err; return nil })
	_, _ = scope.Enter(&outer, &seenBy)
	seenBy.Defer(func() error { panic(errBody) })
	got, panicked := recoverValue(func() { _ = outer.Close() })
	require.True(t, panicked)
	assert.Equal(t, errBody, got, "the original value resumes through both scopes")
	var pe *scope.PanicError
	require.ErrorAs(t, seen, &pe)
	assert.Equal(t, 1, count(seen, pe), "recorded once, not once per scope")
}
