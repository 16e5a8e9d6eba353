package scope_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// TestStressRegisterWhileUnwinding has 64 goroutines register 10,000 exits
// each into one Scope while another goroutine unwinds it at a random moment,
// and once more after they finish: every exit runs exactly once.
func TestStressRegisterWhileUnwinding(t *testing.T) {
	const goroutines, each = 64, 10_000
	var (
		s     scope.Scope
		runs  = make([]atomic.Int32, goroutines*each)
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				id := g*each + i
				if i%2 == 0 {
					s.Defer(func() error { runs[id].Add(1); return nil })
				} else {
					s.Push(func(err error) error { runs[id].Add(1); return err })
				}
			}
		}()
	}
	unwound := make(chan error, 1)
	go func() {
		<-start
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		unwound <- s.Close()
	}()
	close(start)
	wg.Wait()
	require.NoError(t, <-unwound)
	require.NoError(t, s.Close(), "the second unwinding runs what the first did not find")
	for id := range runs {
		if n := runs[id].Load(); n != 1 {
			t.Fatalf("exit %d ran %d times; want exactly once", id, n)
		}
	}
}

// TestStressSharedManagers uses one Lock manager, one Generator and one Func
// manager from many goroutines at once, under With and Enter.
func TestStressSharedManagers(t *testing.T) {
	var (
		mu      sync.Mutex
		holders atomic.Int32
		wg      sync.WaitGroup
	)
	lock := scope.Lock(&mu)
	gen := scope.Generator(func(yield func(*sync.Mutex) error) error {
		mu.Lock()
		defer mu.Unlock()
		return yield(&mu)
	})
	fn := scope.Func(func() (*sync.Mutex, error) { mu.Lock(); return &mu, nil },
		func(mu *sync.Mutex, err error) error { mu.Unlock(); return err })
	body := func(*sync.Mutex) error {
		if holders.Add(1) != 1 {
			t.Error("two goroutines held the lock at once")
		}
		holders.Add(-1)
		return nil
	}
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				m := []scope.Manager[*sync.Mutex]{lock, gen, fn}[(g+i)%3]
				if i%2 == 0 {
					assert.NoError(t, scope.With(m, body))
					continue
				}
				var s scope.Scope
				v, err := scope.Enter(&s, m)
				if assert.NoError(t, err) {
					assert.NoError(t, body(v))
				}
				assert.NoError(t, s.Close())
			}
		}()
	}
	wg.Wait()
}
