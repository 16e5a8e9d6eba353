package scope_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// These tests pin the shapes of Unwind's and Close's doc tables: for every
// way a Go user would write the teardown, the exits see how the block ended,
// or a failure, never nil for a block that failed. CI runs them in every build
// mode (default, -race, -gcflags=all=-l, -gcflags=all='-N -l').

// outcomeSeen runs fn on a goroutine of its own, with a scope whose one exit
// records the outcome it sees, and returns that outcome, the value the
// goroutine panicked with (nil if it did not), and what fn returned.
func outcomeSeen(fn func(s *scope.Scope, end func() error) error, end func() error) (seen error, panicValue any, returned error) {
	seen = errors.New("the exit did not run")
	inGoroutine(func() {
		defer func() { panicValue = recover() }()
		var s scope.Scope
		s.Push(func(err error) error { seen = err; return nil })
		returned = fn(&s, end)
	})
	return seen, panicValue, returned
}

// The shapes. Each is a function F that ends with end() and unwinds s.

func direct(s *scope.Scope, end func() error) (err error) {
	defer s.Unwind(&err)
	return end()
}

type job struct{ s *scope.Scope }

func (j *job) run(end func() error) (err error) {
	defer j.s.Unwind(&err)
	return end()
}

func (j job) runValue(end func() error) (err error) {
	defer j.s.Unwind(&err)
	return end()
}

func (j *job) finish(errp *error) { j.s.Unwind(errp) }

func generic[T any](s *scope.Scope, end func() error) (err error) {
	defer s.Unwind(&err)
	var zero T
	_ = zero
	return end()
}

func manyDefers(s *scope.Scope, end func() error) (err error) {
	defer s.Unwind(&err)
	for range 9 {
		defer func() {}()
	}
	return end()
}

func inLoop(s *scope.Scope, end func() error) (err error) {
	for range 1 {
		defer s.Unwind(&err)
	}
	return end()
}

func recursive(s *scope.Scope, end func() error, depth int) (err error) {
	if depth > 0 {
		return recursive(s, end, depth-1)
	}
	defer s.Unwind(&err)
	return end()
}

func closure(s *scope.Scope, end func() error) (err error) {
	defer func() { s.Unwind(&err) }()
	return end()
}

func finish(s *scope.Scope, errp *error) { s.Unwind(errp) }

func helper(s *scope.Scope, end func() error) (err error) {
	defer finish(s, &err)
	return end()
}

func helperInClosure(s *scope.Scope, end func() error) (err error) {
	defer func() { func() { finish(s, &err) }() }()
	return end()
}

func TestUnwindShapes(t *testing.T) {
	shapes := []struct {
		name   string
		reason string
		run    func(s *scope.Scope, end func() error) error
		direct bool // deferred directly: the panic's own value, resumed
	}{
		{"plain function", "deferred directly", direct, true},
		{"method, pointer receiver", "deferred directly", func(s *scope.Scope, end func() error) error { return (&job{s}).run(end) }, true},
		{"method, value receiver", "deferred directly", func(s *scope.Scope, end func() error) error { return job{s}.runValue(end) }, true},
		{"method value", "a method value deferred directly", func(s *scope.Scope, end func() error) (err error) {
			unwind := s.Unwind
			defer unwind(&err)
			return end()
		}, true},
		{"generic function", "deferred directly", generic[int], true},
		{"more than 8 defers", "not open-coded: runtime.deferreturn runs it", manyDefers, true},
		{"defer in a loop", "not open-coded: runtime.deferreturn runs it", inLoop, true},
		{"recursive function", "deferred directly, deep in the stack", func(s *scope.Scope, end func() error) error { return recursive(s, end, 5) }, true},
		{"deferred closure", "called from a deferred closure: the panic is seen, not recovered", closure, false},
		{"helper function", "defer finish(&err)", helper, false},
		{"helper method", "defer j.finish(&err)", func(s *scope.Scope, end func() error) (err error) {
			j := &job{s}
			defer j.finish(&err)
			return end()
		}, false},
		{"helper in a closure in a closure", "any depth", helperInClosure, false},
	}
	for _, shape := range shapes {
		for _, e := range blockEndings {
			t.Run(shape.name+"/"+e.name, func(t *testing.T) {
				seen, p, returned := outcomeSeen(shape.run, e.end)
				switch e.name {
				case "success":
					assert.NoError(t, seen, shape.reason)
					assert.NoError(t, returned)
				case "error":
					assert.Same(t, errBody, seen, shape.reason)
					assert.Same(t, errBody, returned)
				case "panic":
					var pe *scope.PanicError
					require.ErrorAs(t, seen, &pe, "%s: a panic is never taken for success", shape.reason)
					assert.True(t, p == error(errBody), "the panic goes on with its original value, got %#v", p)
					if shape.direct {
						assert.Same(t, errBody, pe.Value, "deferred directly, Unwind recovers the value itself")
					} else {
						assert.Contains(t, pe.Error(), "not deferred directly", "a stand-in that says why")
					}
				case "Goexit":
					assert.Same(t, scope.ErrGoexit, seen, shape.reason)
				}
			})
		}
	}
}

// framePointers says whether this architecture reads the deferred call's
// runner from the frame-pointer chain; elsewhere the nested shape fails
// closed.
const framePointers = runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64"

// TestUnwindInsideDeferredCall: F defers Unwind directly and returns normally
// while it runs as a deferred call during a panic (recovered or not) or a
// Goexit, as a recover handler that writes a crash record in a transaction
// does. F's own outcome counts.
func TestUnwindInsideDeferredCall(t *testing.T) {
	tests := []struct {
		name     string
		reason   string
		around   func()
		recovers bool
	}{
		{"panic recovered", "a recover handler that writes a crash record", func() { panic("around") }, true},
		{"panic not recovered", "a deferred call that runs while the panic goes on", func() { panic("around") }, false},
		{"Goexit", "a deferred call that runs during t.FailNow", runtime.Goexit, false},
	}
	for _, tt := range tests {
		for _, e := range blockEndings[:2] {
			t.Run(tt.name+"/"+e.name, func(t *testing.T) {
				var seen, returned error
				inGoroutine(func() {
					defer func() { _ = recover() }()
					defer func() {
						if tt.recovers {
							_ = recover()
						}
						var s scope.Scope
						s.Push(func(err error) error { seen = err; return nil })
						returned = direct(&s, e.end)
					}()
					tt.around()
				})
				want := e.end()
				if !framePointers {
					// Without frame pointers this shape cannot be told
					// from a closure's: it fails closed.
					assert.Error(t, seen, "a failure, never nil")
					return
				}
				assert.Equal(t, want, seen, "F's own outcome: %s", tt.reason)
				assert.Equal(t, want, returned)
			})
		}
	}
}

// TestCloseDeferredDirectly: defer s.Close() (and Exit, CloseContext,
// CloseTimeout, ExitContext) hands the exits the panic or the Goexit, and
// the panic resumes with its value. Called normally, nothing changes.
func TestCloseDeferredDirectly(t *testing.T) {
	ctx := context.Background()
	const direct = "deferred directly, it recovers the panic and tells the Goexit"
	shapes := []struct {
		name   string
		reason string
		run    func(s *scope.Scope, end func() error) error
	}{
		{"Close", direct, func(s *scope.Scope, end func() error) error { defer s.Close(); return end() }},
		{"Exit", direct, func(s *scope.Scope, end func() error) error { defer s.Exit(nil); return end() }},
		{"CloseContext", direct, func(s *scope.Scope, end func() error) error { defer s.CloseContext(ctx); return end() }},
		{"CloseTimeout", direct, func(s *scope.Scope, end func() error) error { defer s.CloseTimeout(time.Minute); return end() }},
		{"ExitContext", direct, func(s *scope.Scope, end func() error) error { defer s.ExitContext(ctx, nil); return end() }},
		{"method value", "a deferred method value is deferred directly too", func(s *scope.Scope, end func() error) error { c := s.Close; defer c(); return end() }},
	}
	for _, shape := range shapes {
		for _, e := range blockEndings {
			t.Run(shape.name+"/"+e.name, func(t *testing.T) {
				seen, p, _ := outcomeSeen(shape.run, e.end)
				switch e.name {
				case "success", "error":
					assert.NoError(t, seen, "a plain return starts from nil, as before")
				case "panic":
					var pe *scope.PanicError
					require.ErrorAs(t, seen, &pe, "the exits see the panic: %s", shape.reason)
					assert.Same(t, errBody, pe.Value)
					assert.True(t, p == error(errBody), "and it resumes with its original value, got %#v", p)
				case "Goexit":
					assert.Same(t, scope.ErrGoexit, seen, shape.reason)
				}
			})
		}
	}
	t.Run("replaced", func(t *testing.T) {
		_, panicked := recoverValue(func() {
			var s scope.Scope
			s.Push(func(error) error { return scope.Replace(nil) })
			defer s.Close()
			panic("boom")
		})
		assert.False(t, panicked, "an exit that replaces the panic stops it")
	})
	t.Run("called normally in a deferred closure", func(t *testing.T) {
		seen, _, _ := outcomeSeen(func(s *scope.Scope, end func() error) (err error) {
			defer func() { err = errors.Join(err, s.Close()) }()
			return end()
		}, blockEndings[2].end)
		assert.NoError(t, seen, "not deferred directly: Close means success, as documented")
	})
}

func TestCloseCrashOutputKeepsFrames(t *testing.T) {
	out, err := inChild(t, func() {
		var s scope.Scope
		s.Defer(func() error { return nil })
		defer s.Close()
		_ = panickingFunction()
	})
	require.Error(t, err, "the child crashes")
	assert.Contains(t, out, "panic: crash in the block [recovered, repanicked]")
	assert.Contains(t, out, "scope_test.panickingFunction(", "the crash output names the panicking function")
}

// TestDeadlineOnlyWhenLate: ctx.Err() is reported only when a context-aware
// part of the teardown ended after the deadline.
func TestDeadlineOnlyWhenLate(t *testing.T) {
	t.Run("empty scope", func(t *testing.T) {
		var s scope.Scope
		assert.NoError(t, s.CloseTimeout(0))
	})
	t.Run("plain exits only", func(t *testing.T) {
		var s scope.Scope
		s.Defer(func() error { return nil })
		s.Push(func(err error) error { return err })
		assert.NoError(t, s.CloseTimeout(0))
	})
	t.Run("a context-aware exit after the deadline", func(t *testing.T) {
		var s scope.Scope
		s.PushContext(func(ctx context.Context, err error) error { return nil })
		assert.ErrorIs(t, s.CloseTimeout(0), context.DeadlineExceeded)
	})
	t.Run("a context-aware exit in time", func(t *testing.T) {
		var s scope.Scope
		s.PushContext(func(ctx context.Context, err error) error { return nil })
		assert.NoError(t, s.CloseTimeout(time.Minute))
	})
}
