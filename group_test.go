//go:build go1.25

package scope_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// These tests run in a synctest bubble where they wait: time is simulated,
// and a goroutine that waits for ever is reported, not hung on.

// events records, safely across goroutines, what happened in which order.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) { e.mu.Lock(); e.log = append(e.log, s); e.mu.Unlock() }

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// TestGoSuccessWaits: a nil outcome waits for the tasks without canceling
// them, as TaskGroup and errgroup.Wait do: three downloads started by a block
// that returns nil all complete.
func TestGoSuccessWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			e   events
			err error
		)
		func() {
			var s scope.Scope
			defer s.Unwind(&err)
			s.Defer(func() error { e.add("connection closed"); return nil })
			for i := range 3 {
				s.Go(func(ctx context.Context) error {
					select {
					case <-time.After(time.Duration(i+1) * time.Second):
						e.add(fmt.Sprintf("download %d done", i))
						return nil
					case <-ctx.Done():
						e.add(fmt.Sprintf("download %d canceled", i))
						return ctx.Err()
					}
				})
			}
		}()
		require.NoError(t, err)
		assert.Equal(t, []string{"download 0 done", "download 1 done", "download 2 done", "connection closed"}, e.get(),
			"every task completed before the exits ran")
	})
}

// TestGoFailureCancels: a failing block (error, panic, Goexit) cancels the
// tasks, then waits for them before any exit runs.
func TestGoFailureCancels(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		end    func() error
		want   error
	}{
		{"error", "an error outcome cancels", func() error { return errBody }, errBody},
		{"panic", "a panic outcome cancels", func() error { panic(errBody) }, nil},
		{"Goexit", "a Goexit outcome cancels", func() error { runtime.Goexit(); return nil }, scope.ErrGoexit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					e    events
					seen error
				)
				inGoroutine(func() {
					defer func() { _ = recover() }()
					_ = func() (err error) {
						var s scope.Scope
						defer s.Unwind(&err)
						s.Push(func(err error) error { seen = err; e.add("exit"); return nil })
						s.Go(func(ctx context.Context) error {
							<-ctx.Done()
							time.Sleep(time.Second) // still running after the cancel
							e.add("task stopped")
							return ctx.Err()
						})
						return tt.end()
					}()
				})
				assert.Equal(t, []string{"task stopped", "exit"}, e.get(), tt.reason)
				if tt.want != nil {
					assert.ErrorIs(t, seen, tt.want)
				} else {
					var pe *scope.PanicError
					assert.ErrorAs(t, seen, &pe)
				}
				assert.NotErrorIs(t, seen, context.Canceled, "the cancellation the scope caused is not an error")
			})
		})
	}
}

func TestGoFirstFailureCancelsSiblings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			s       scope.Scope
			stopped atomic.Bool
		)
		s.Go(func(ctx context.Context) error {
			<-ctx.Done()
			stopped.Store(true)
			return ctx.Err()
		})
		s.Go(func(ctx context.Context) error { return errBody })
		synctest.Wait()
		assert.True(t, stopped.Load(), "the sibling was canceled before the scope unwound")
		assert.Same(t, errBody, s.Close(), "the failure is reported; the sibling's cancellation is not")
	})
}

func TestGoKeepGoing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			s        scope.Scope
			canceled atomic.Bool
		)
		s.SetCancelOnError(false)
		s.Go(func(ctx context.Context) error {
			time.Sleep(time.Second)
			canceled.Store(ctx.Err() != nil)
			return nil
		})
		s.Go(func(ctx context.Context) error { return errBody })
		assert.Same(t, errBody, s.Close(), "the failure is reported")
		assert.False(t, canceled.Load(), "as a plain errgroup: the sibling ran on to its end")
	})
}

func TestGoAllErrorsReported(t *testing.T) {
	const n = 1000
	var s scope.Scope
	errs := make([]error, n)
	for i := range n {
		switch i % 3 {
		case 0:
			errs[i] = fmt.Errorf("worker %d failed", i)
		}
		s.Go(func(ctx context.Context) error {
			if i%3 == 1 {
				<-ctx.Done() // canceled by the first failure
				return ctx.Err()
			}
			return errs[i]
		})
	}
	err := s.Close()
	reported := 0
	for i, e := range errs {
		if e == nil {
			continue
		}
		reported++
		assert.Equal(t, 1, count(err, e), "worker %d's error reported once", i)
	}
	assert.Equal(t, 334, reported)
	assert.NotErrorIs(t, err, context.Canceled, "the cancellations the scope caused are not errors")
}

//go:noinline
func panickingWorker() error { panic(errBody) }

func TestGoPanicReachesOwner(t *testing.T) {
	var (
		s    scope.Scope
		seen *scope.PanicError
		ran  bool
	)
	s.Push(func(err error) error {
		errors.As(err, &seen)
		return nil
	})
	s.Go(func(ctx context.Context) error {
		<-ctx.Done()
		ran = true
		return nil
	})
	s.Go(func(context.Context) error { return panickingWorker() })
	got, panicked := recoverValue(func() { _ = s.Close() })
	require.True(t, panicked, "the owner panics again")
	assert.True(t, got == error(errBody), "with the original value, got %#v", got)
	require.NotNil(t, seen, "exits see the goroutine's panic")
	assert.Contains(t, string(seen.Stack), "panickingWorker", "with the goroutine's stack")
	assert.True(t, ran, "the panic canceled the siblings")
}

func TestGoPanicReplaced(t *testing.T) {
	var s scope.Scope
	s.Push(func(err error) error { return scope.Replace(nil) })
	s.Go(func(context.Context) error { panic("boom") })
	_, panicked := recoverValue(func() { assert.NoError(t, s.Close()) })
	assert.False(t, panicked, "an exit may replace an owned goroutine's panic")
}

func TestGoLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			s           scope.Scope
			running, mx atomic.Int32
		)
		s.SetLimit(2)
		for range 10 {
			s.Go(func(context.Context) error {
				n := running.Add(1)
				for {
					m := mx.Load()
					if n <= m || mx.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(time.Second)
				running.Add(-1)
				return nil
			})
		}
		require.NoError(t, s.Close())
		assert.Equal(t, int32(2), mx.Load())
	})
}

func TestGoLimitNegativeIsNone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			s       scope.Scope
			running atomic.Int32
		)
		s.SetLimit(-1)
		for range 10 {
			s.Go(func(context.Context) error { running.Add(1); time.Sleep(time.Second); return nil })
		}
		synctest.Wait()
		assert.Equal(t, int32(10), running.Load(), "a negative limit is no limit, as in errgroup")
		require.NoError(t, s.Close())
	})
}

func TestGoStartedByExit(t *testing.T) {
	var (
		s    scope.Scope
		done atomic.Bool
	)
	s.Defer(func() error {
		s.Go(func(context.Context) error { time.Sleep(time.Millisecond); done.Store(true); return errExit1 })
		return nil
	})
	assert.Same(t, errExit1, s.Close(), "a goroutine started while unwinding is waited for and reported")
	assert.True(t, done.Load())
}

// TestGoStartedByExitBeforeOlderExits: no exit runs while an owned
// goroutine runs, also one that a newer exit started.
func TestGoStartedByExitBeforeOlderExits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			e events
			s scope.Scope
		)
		s.Defer(func() error { e.add("older exit"); return nil })
		s.Defer(func() error {
			s.Go(func(context.Context) error {
				time.Sleep(time.Second)
				e.add("goroutine done")
				return nil
			})
			return nil
		})
		require.NoError(t, s.Close())
		assert.Equal(t, []string{"goroutine done", "older exit"}, e.get())
	})
}

// TestGoStartedDuringShutdown: an accept loop hands a connection to a
// goroutine of its own while the scope shuts down; no exit runs before that
// one is done too.
func TestGoStartedDuringShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var e events
		ctx, cancel := context.WithCancel(context.Background())
		s := scope.New(ctx)
		s.Defer(func() error { e.add("listener closed"); return nil })
		s.Go(func(ctx context.Context) error {
			<-ctx.Done()
			s.Go(func(context.Context) error {
				time.Sleep(time.Second)
				e.add("last connection done")
				return nil
			})
			return nil
		})
		cancel()
		require.NoError(t, s.Close())
		assert.Equal(t, []string{"last connection done", "listener closed"}, e.get())
	})
}

// TestGoConcurrentClose: two Closes at once while a goroutine runs. Neither
// runs an exit before the goroutine is done, the second waits for the
// first, and the exits run once each, in LIFO order.
func TestGoConcurrentClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			e  events
			s  scope.Scope
			wg sync.WaitGroup
		)
		for _, name := range []string{"a", "b", "c"} {
			s.Defer(func() error { e.add("exit " + name); return nil })
		}
		s.Go(func(context.Context) error {
			time.Sleep(time.Second)
			e.add("goroutine done")
			return nil
		})
		returned := make([]time.Duration, 2)
		start := time.Now()
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, s.Close())
				e.add("close returned")
				returned[i] = time.Since(start)
			}()
		}
		wg.Wait()
		assert.Equal(t, []string{"goroutine done", "exit c", "exit b", "exit a", "close returned", "close returned"}, e.get())
		assert.Equal(t, []time.Duration{time.Second, time.Second}, returned, "neither Close returned before the goroutine was done")
	})
}

func TestGoNewContextStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s := scope.New(ctx)
		s.Go(func(ctx context.Context) error {
			<-ctx.Done() // an accept loop: runs until told to stop
			return nil
		})
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		require.NoError(t, s.Close())
		assert.Equal(t, time.Second, time.Since(start), "Close waited until New's context was canceled")
	})
}

// TestGoDeadlineBoundsTheWait: a teardown with a deadline waits for the
// goroutines until the deadline, then cancels them and waits, and reports
// the deadline once; the exits run after.
func TestGoDeadlineBoundsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			e events
			s scope.Scope
		)
		s.Defer(func() error { e.add("exit"); return nil })
		s.Go(func(ctx context.Context) error {
			<-ctx.Done()
			e.add("loop stopped")
			return ctx.Err()
		})
		start := time.Now()
		err := s.CloseTimeout(time.Second)
		assert.Equal(t, time.Second, time.Since(start))
		assert.Equal(t, 1, count(err, context.DeadlineExceeded), "the deadline is reported once: %v", err)
		assert.NotErrorIs(t, err, context.Canceled, "the cancellation it caused is not")
		assert.Equal(t, []string{"loop stopped", "exit"}, e.get())
	})
	t.Run("in time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var s scope.Scope
			s.Go(func(ctx context.Context) error { time.Sleep(time.Millisecond); return nil })
			assert.NoError(t, s.CloseTimeout(time.Second), "goroutines that end in time report nothing")
		})
	})
}

func TestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			s        scope.Scope
			canceled atomic.Bool
			exited   bool
		)
		s.Defer(func() error { exited = true; return nil })
		s.Go(func(ctx context.Context) error { return errExit1 })
		s.Go(func(ctx context.Context) error {
			time.Sleep(time.Second)
			canceled.Store(ctx.Err() != nil)
			return errExit2
		})
		err := s.Wait()
		assertParts(t, err, errExit1, errExit2)
		assert.False(t, exited, "Wait runs no exit")
		assert.True(t, canceled.Load(), "the first failure canceled the sibling, as Go says; Wait itself cancels nothing")

		final := s.Exit(err)
		assertParts(t, final, errExit1, errExit2)
		assert.True(t, exited)
	})
	t.Run("not consumed", func(t *testing.T) {
		var s scope.Scope
		s.Go(func(ctx context.Context) error { return errExit1 })
		assert.Same(t, errExit1, s.Wait())
		assert.Same(t, errExit1, s.Close(), "a dropped Wait error still reaches the exits and the outcome")
	})
	t.Run("no goroutines", func(t *testing.T) {
		var s scope.Scope
		assert.NoError(t, s.Wait())
	})
	t.Run("does not cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var (
				s        scope.Scope
				canceled atomic.Bool
			)
			s.Go(func(ctx context.Context) error {
				time.Sleep(time.Second)
				canceled.Store(ctx.Err() != nil)
				return nil
			})
			require.NoError(t, s.Wait())
			assert.False(t, canceled.Load())
			require.NoError(t, s.Close())
		})
	})
}

func TestGoWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	s := scope.New(ctx)
	s.Go(func(ctx context.Context) error {
		assert.Equal(t, "v", ctx.Value(ctxKey{}))
		<-ctx.Done()
		return ctx.Err()
	})
	cancel()
	assert.ErrorIs(t, s.Close(), context.Canceled, "a cancellation from outside is reported")
}

func TestGoGoexit(t *testing.T) {
	var s scope.Scope
	s.Go(func(context.Context) error { runGoexit(); return nil })
	assert.Same(t, scope.ErrGoexit, s.Close())
}

func TestGoFreshGroupAfterUnwinding(t *testing.T) {
	var s scope.Scope
	s.Go(func(context.Context) error { return errBody })
	assert.Same(t, errBody, s.Close())
	var ctxErr error
	s.Go(func(ctx context.Context) error { ctxErr = ctx.Err(); return nil })
	require.NoError(t, s.Close(), "the scope is reusable: the old failure is not reported again")
	assert.NoError(t, ctxErr, "and its goroutines get a fresh context")
}

func TestGoMisuse(t *testing.T) {
	var nilScope *scope.Scope
	assert.PanicsWithValue(t, "scope: Scope.Go called with a nil func", func() { new(scope.Scope).Go(nil) })
	assert.PanicsWithValue(t, "scope: Scope.Go called on a nil *Scope", func() {
		nilScope.Go(func(context.Context) error { return nil })
	})
	assert.PanicsWithValue(t, "scope: Scope.Wait called on a nil *Scope", func() { _ = nilScope.Wait() })
	assert.PanicsWithValue(t, "scope: Scope.SetLimit called with 0: Go would block for ever; a negative n removes the limit",
		func() { new(scope.Scope).SetLimit(0) })
	//lint:ignore SA1012 testing the nil check
	assert.PanicsWithValue(t, "scope: New called with a nil Context", func() { scope.New(nil) })
}
