//go:build go1.25

package scope_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

func TestGoWaitsBeforeExits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			s   scope.Scope
			mu  sync.Mutex
			log []string
		)
		add := func(e string) { mu.Lock(); log = append(log, e); mu.Unlock() }
		s.Defer(func() error { add("resource closed"); return nil })
		s.Go(func(ctx context.Context) error {
			<-ctx.Done() // runs until the scope unwinds
			time.Sleep(time.Second)
			add("goroutine done")
			return ctx.Err() // the scope's own cancellation: not an error
		})
		require.NoError(t, s.Close())
		assert.Equal(t, []string{"goroutine done", "resource closed"}, log,
			"goroutines end before the exits run")
	})
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
			s       scope.Scope
			stopped atomic.Bool
		)
		s.SetCancelOnError(false)
		s.Go(func(ctx context.Context) error {
			<-ctx.Done()
			stopped.Store(true)
			return nil
		})
		s.Go(func(ctx context.Context) error { return errBody })
		synctest.Wait()
		assert.False(t, stopped.Load(), "as a plain errgroup: siblings run on")
		assert.Same(t, errBody, s.Close())
		assert.True(t, stopped.Load())
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

func TestGoMisuse(t *testing.T) {
	var nilScope *scope.Scope
	assert.PanicsWithValue(t, "scope: Scope.Go called with a nil func", func() { new(scope.Scope).Go(nil) })
	assert.PanicsWithValue(t, "scope: Scope.Go called on a nil *Scope", func() {
		nilScope.Go(func(context.Context) error { return nil })
	})
	//lint:ignore SA1012 testing the nil check
	assert.PanicsWithValue(t, "scope: New called with a nil Context", func() { scope.New(nil) })
}
