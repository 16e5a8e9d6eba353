package scope_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// lockPaths runs body under m on every path a block can end by, and checks
// after each that the lock is free again with tryLock.
func lockPaths[L any](t *testing.T, m scope.Manager[L], tryLock func() bool, unlock func()) {
	t.Helper()
	paths := map[string]func() error{
		"success": func() error { return nil },
		"error":   func() error { return errBody },
		"panic":   func() error { panic("boom") },
	}
	for name, body := range paths {
		_, _ = recoverValue(func() {
			_ = scope.With(m, func(L) error {
				assert.False(t, tryLock(), "%s: the lock is held in the block", name)
				return body()
			})
		})
		if assert.True(t, tryLock(), "%s: the lock is released after the block", name) {
			unlock()
		}
	}
	inGoroutine(func() {
		_ = scope.With(m, func(L) error { runGoexit(); return nil })
	})
	if assert.True(t, tryLock(), "Goexit: the lock is released") {
		unlock()
	}
}

func TestLock(t *testing.T) {
	var mu sync.Mutex
	lockPaths(t, scope.Lock(&mu), mu.TryLock, mu.Unlock)

	var custom customLocker
	lockPaths(t, scope.Lock(&custom), custom.mu.TryLock, custom.mu.Unlock)
	assert.Equal(t, 4, custom.locks, "a Locker that is not a *sync.Mutex goes through its methods")
}

// TestLockOverInterfaces: any sync.Locker value, concrete or in an interface,
// with the same behaviour; no fast path changes what a type gets.
func TestLockOverInterfaces(t *testing.T) {
	var mu sync.Mutex
	var l sync.Locker = &mu
	lockPaths(t, scope.Lock(l), mu.TryLock, mu.Unlock)
	lockPaths(t, scope.Lock[sync.Locker](&mu), mu.TryLock, mu.Unlock)

	var rw sync.RWMutex
	lockPaths(t, scope.Lock(rw.RLocker()), func() bool { return rw.TryLock() }, rw.Unlock)
	lockPaths(t, scope.Lock[sync.Locker](&rw), rw.TryLock, rw.Unlock)

	var sm scope.Mutex
	lockPaths(t, scope.Lock[sync.Locker](&sm), sm.TryLock, sm.Unlock)
}

type customLocker struct {
	mu    sync.Mutex
	locks int
}

func (c *customLocker) Lock()   { c.mu.Lock(); c.locks++ }
func (c *customLocker) Unlock() { c.mu.Unlock() }

func TestRLock(t *testing.T) {
	var rw sync.RWMutex
	lockPaths(t, scope.RLock(&rw), rw.TryLock, rw.Unlock)
	// Readers share the lock.
	require.NoError(t, scope.With(scope.RLock(&rw), func(*sync.RWMutex) error {
		return scope.With(scope.RLock(&rw), func(*sync.RWMutex) error { return nil })
	}))
}

func TestMutex(t *testing.T) {
	var mu scope.Mutex
	lockPaths(t, scope.Lock(&mu), mu.TryLock, mu.Unlock)
}

func TestMutexUnlockOfUnlocked(t *testing.T) {
	out, err := inChild(t, func() { new(scope.Mutex).Unlock() })
	require.Error(t, err, "a run-time error that ends the program, as for sync.Mutex")
	assert.Contains(t, out, "unlock of unlocked mutex")
}

func TestMutexLockContextUnderContention(t *testing.T) {
	// Goroutines taking the lock with Lock and with LockContext at once:
	// mutual exclusion holds, and every LockContext with a long deadline
	// gets the lock.
	var (
		mu      scope.Mutex
		holders atomic.Int32
		wg      sync.WaitGroup
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if i%2 == 0 {
					mu.Lock()
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					err := mu.LockContext(ctx)
					cancel()
					if !assert.NoError(t, err) {
						return
					}
				}
				if holders.Add(1) != 1 {
					t.Error("two holders at once")
				}
				holders.Add(-1)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestLockContext(t *testing.T) {
	var mu scope.Mutex
	lockPaths(t, scope.LockContext(context.Background(), &mu), mu.TryLock, mu.Unlock)

	t.Run("deadline", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		ran := false
		err := scope.With(scope.LockContext(ctx, &mu), func(*scope.Mutex) error { ran = true; return nil })
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, ran, "the block does not run without the lock")
	})
	t.Run("canceled", func(t *testing.T) {
		mu.Lock()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := scope.With(scope.LockContext(ctx, &mu), func(*scope.Mutex) error { return nil })
		assert.ErrorIs(t, err, context.Canceled)
		mu.Unlock()
		err = scope.With(scope.LockContext(ctx, &mu), func(*scope.Mutex) error { return nil })
		assert.NoError(t, err, "a free lock is taken even with a done context")
	})
	t.Run("waits", func(t *testing.T) {
		mu.Lock()
		acquired := make(chan struct{})
		go func() {
			_ = scope.With(scope.LockContext(context.Background(), &mu), func(*scope.Mutex) error {
				close(acquired)
				return nil
			})
		}()
		select {
		case <-acquired:
			t.Fatal("acquired a held lock")
		case <-time.After(5 * time.Millisecond):
		}
		mu.Unlock()
		<-acquired
		if assert.True(t, waitFor(mu.TryLock)) {
			mu.Unlock()
		}
	})
}

// waitFor polls cond for up to a second: for state another goroutine changes
// after a channel operation the test cannot wait on.
func waitFor(cond func() bool) bool {
	for range 1000 {
		if cond() {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}
