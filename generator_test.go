package scope_test

import (
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// modes runs a block over a manager the two ways a Generator can run: under
// With (callback: yield calls the block) and entered into a Scope (coroutine:
// Enter now, Exit later). Both must give the same results. (A bare Enter and
// Exit returns the exit's raw result, which its caller applies: see
// TestGeneratorBareExitResult.)
var modes = map[string]func(m scope.Manager[string], body func(string) error) error{
	"With": scope.With[string],
	"Scope": func(m scope.Manager[string], body func(string) error) (err error) {
		var s scope.Scope
		defer s.Unwind(&err)
		v, err := scope.Enter(&s, m)
		if err != nil {
			return err
		}
		return body(v)
	},
}

func TestGenerator(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		gen    func(l *log) func(yield func(string) error) error
		body   func(l *log) error
		want   []string // the log
		check  func(t *testing.T, err error)
	}{
		{
			name: "order", reason: "setup, block, teardown; yield returns the outcome",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error {
					l.add("setup")
					err := yield("v")
					l.add("teardown (%v)", err)
					return err
				}
			},
			body:  func(l *log) error { l.add("body"); return nil },
			want:  []string{"setup", "body", "teardown (<nil>)"},
			check: func(t *testing.T, err error) { assert.NoError(t, err) },
		},
		{
			name: "propagate", reason: "return yield(v) passes the block's error through once",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error { return yield("v") }
			},
			body:  func(l *log) error { return errBody },
			check: func(t *testing.T, err error) { assert.Same(t, errBody, err) },
		},
		{
			name: "close error added", reason: "return f.Close() adds the close error after the block's",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error { _ = yield("v"); return errExit1 }
			},
			body:  func(l *log) error { return errBody },
			check: func(t *testing.T, err error) { assertParts(t, err, errBody, errExit1) },
		},
		{
			name: "suppress", reason: "return Replace(nil) suppresses the block's error",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error { _ = yield("v"); return scope.Replace(nil) }
			},
			body:  func(l *log) error { return errBody },
			check: func(t *testing.T, err error) { assert.NoError(t, err) },
		},
		{
			name: "no yield", reason: "gen returned nil before yielding: ErrNoYield, no block",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error { return nil }
			},
			body:  func(l *log) error { l.add("body"); return nil },
			check: func(t *testing.T, err error) { assert.Same(t, scope.ErrNoYield, err) },
		},
		{
			name: "setup fails", reason: "gen's error before yielding is Enter's error, no block",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error { return errEnter }
			},
			body:  func(l *log) error { l.add("body"); return nil },
			check: func(t *testing.T, err error) { assert.Same(t, errEnter, err) },
		},
		{
			name: "extra yield", reason: "a second yield runs nothing, returns ErrExtraYield, and the outcome includes it",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error {
					_ = yield("first")
					err := yield("second")
					l.add("second yield: %v", err)
					l.add("teardown")
					return nil
				}
			},
			body: func(l *log) error { l.add("body"); return errBody },
			want: []string{"body", "second yield: scope: generator called yield more than once", "teardown"},
			check: func(t *testing.T, err error) {
				assertParts(t, err, errBody, scope.ErrExtraYield)
			},
		},
		{
			name: "extra yield returned", reason: "returning the second yield's result reports ErrExtraYield once",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error {
					_ = yield("first")
					return yield("second")
				}
			},
			body:  func(l *log) error { return nil },
			check: func(t *testing.T, err error) { assert.Same(t, scope.ErrExtraYield, err) },
		},
		{
			name: "teardown sees a panic", reason: "yield never panics; the code after it sees a *PanicError",
			gen: func(l *log) func(yield func(string) error) error {
				return func(yield func(string) error) error {
					err := yield("v")
					var pe *scope.PanicError
					l.add("teardown sees panic: %v", errors.As(err, &pe))
					return scope.Replace(nil)
				}
			},
			body:  func(l *log) error { panic("boom") },
			want:  []string{"teardown sees panic: true"},
			check: func(t *testing.T, err error) { assert.NoError(t, err, "the generator suppressed the panic") },
		},
	}
	for mode, run := range modes {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				var l log
				err := run(scope.Generator(tt.gen(&l)), func(string) error { return tt.body(&l) })
				tt.check(t, err)
				if tt.want != nil {
					assert.Equal(t, tt.want, l.get(), tt.reason)
				}
			})
		}
	}
}

func TestGeneratorPanicResumes(t *testing.T) {
	for mode, run := range modes {
		t.Run(mode, func(t *testing.T) {
			var tornDown bool
			gen := scope.Generator(func(yield func(string) error) error {
				err := yield("v")
				tornDown = true
				return err
			})
			got, panicked := recoverValue(func() {
				_ = run(gen, func(string) error { panic(errBody) })
			})
			require.True(t, panicked)
			assert.True(t, got == error(errBody), "resumes with the original value, got %#v", got)
			assert.True(t, tornDown, "the teardown after yield ran")
		})
	}
}

func TestGeneratorOwnPanicPropagates(t *testing.T) {
	for mode, run := range modes {
		for _, where := range []string{"before yield", "after yield"} {
			t.Run(mode+"/"+where, func(t *testing.T) {
				gen := scope.Generator(func(yield func(string) error) error {
					if where == "before yield" {
						panic("gen boom")
					}
					_ = yield("v")
					panic("gen boom")
				})
				got, panicked := recoverValue(func() { _ = run(gen, func(string) error { return nil }) })
				assert.True(t, panicked)
				assert.Equal(t, "gen boom", got)
			})
		}
	}
}

func TestGeneratorGoexitUnderWith(t *testing.T) {
	var l log
	gen := scope.Generator(func(yield func(string) error) error {
		defer l.add("gen's defer")
		_ = yield("v")
		l.add("after yield")
		return nil
	})
	returned := inGoroutine(func() {
		_ = scope.With(gen, func(string) error { runtime.Goexit(); return nil })
	})
	assert.False(t, returned)
	assert.Equal(t, []string{"gen's defer"}, l.get(),
		"under With a Goexit runs only gen's deferred calls, as documented")
}

func TestGeneratorGoexitInScope(t *testing.T) {
	var l log
	gen := scope.Generator(func(yield func(string) error) error {
		err := yield("v")
		l.add("teardown (%v)", err)
		return nil
	})
	returned := inGoroutine(func() {
		var err error
		var s scope.Scope
		defer s.Unwind(&err)
		_, _ = scope.Enter(&s, gen)
		runtime.Goexit()
	})
	assert.False(t, returned)
	assert.Equal(t, []string{"teardown (scope: block called runtime.Goexit)"}, l.get(),
		"entered into a Scope, the teardown sees ErrGoexit")
}

func TestGeneratorGoexitInTeardown(t *testing.T) {
	gen := scope.Generator(func(yield func(string) error) error {
		_ = yield("v")
		runtime.Goexit()
		return nil
	})
	for mode, run := range modes {
		t.Run(mode, func(t *testing.T) {
			returned := inGoroutine(func() { _ = run(gen, func(string) error { return nil }) })
			assert.False(t, returned, "a Goexit in gen's teardown reaches the caller")
		})
	}
}

func TestGeneratorReuseAndNesting(t *testing.T) {
	var l log
	n := 0
	gen := scope.Generator(func(yield func(int) error) error {
		n++
		id := n
		l.add("enter %d", id)
		err := yield(id)
		l.add("exit %d", id)
		return err
	})
	a, err := gen.Enter()
	require.NoError(t, err)
	b, err := gen.Enter()
	require.NoError(t, err)
	require.NoError(t, gen.Exit(nil))
	require.NoError(t, gen.Exit(nil))
	assert.Equal(t, []int{1, 2}, []int{a, b})
	assert.Equal(t, []string{"enter 1", "enter 2", "exit 2", "exit 1"}, l.get(), "nested entries exit LIFO")

	require.NoError(t, scope.With(gen, func(int) error { return nil }), "usable again after exiting")
}

func TestGeneratorConcurrentWith(t *testing.T) {
	var mu sync.Mutex
	active := 0
	gen := scope.Generator(func(yield func(*sync.Mutex) error) error {
		mu.Lock()
		active++
		defer func() { active--; mu.Unlock() }()
		return yield(&mu)
	})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				assert.NoError(t, scope.With(gen, func(*sync.Mutex) error {
					if active != 1 {
						return errors.New("lock not held")
					}
					return nil
				}))
			}
		}()
	}
	wg.Wait()
}

func TestGeneratorYieldAfterReturn(t *testing.T) {
	var saved func(int) error
	gen := scope.Generator(func(yield func(int) error) error {
		saved = yield
		return yield(1)
	})
	ran := 0
	require.NoError(t, scope.With(gen, func(int) error { ran++; return nil }))
	assert.Same(t, scope.ErrExtraYield, saved(2), "a yield kept past gen's return runs nothing")
	assert.Equal(t, 1, ran)
}

func TestGeneratorBareExitResult(t *testing.T) {
	gen := scope.Generator(func(yield func(int) error) error {
		if err := yield(1); err != errBody {
			return errors.New("yield did not return the outcome Exit was given")
		}
		return errExit1
	})
	_, err := gen.Enter()
	require.NoError(t, err)
	assert.Same(t, errExit1, gen.Exit(errBody), "Exit returns gen's result for its caller to apply")
}

// TestGeneratorPanicStackKept: under With the generator's teardown runs after
// the block's frames are gone (With's doc says so); the block's stack is in
// the PanicError that yield returns.
func TestGeneratorPanicStackKept(t *testing.T) {
	var stack string
	g := scope.Generator(func(yield func(int) error) error {
		err := yield(1)
		var pe *scope.PanicError
		if errors.As(err, &pe) {
			stack = string(pe.Stack)
		}
		return err
	})
	_, panicked := recoverValue(func() { _ = scope.With(g, func(int) error { return panickingFunction() }) })
	require.True(t, panicked)
	assert.Contains(t, stack, "scope_test.panickingFunction(", "the teardown sees where the block panicked")
}
