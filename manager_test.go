package scope_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

func TestFuncHandsValueToExit(t *testing.T) {
	var got []int
	n := 0
	m := scope.Func(func() (int, error) { n++; return n, nil }, func(v int, err error) error {
		got = append(got, v)
		return nil
	})
	// Bare Enter/Exit nest: the exit receives the value of the matching Enter.
	a, _ := m.Enter()
	b, _ := m.Enter()
	require.NoError(t, m.Exit(nil))
	require.NoError(t, m.Exit(nil))
	assert.Equal(t, []int{2, 1}, got, "entered %d then %d; exits LIFO", a, b)
}

func TestFuncConcurrentWith(t *testing.T) {
	var mu sync.Mutex
	held := false
	m := scope.Func(func() (*sync.Mutex, error) {
		mu.Lock()
		held = true
		return &mu, nil
	}, func(l *sync.Mutex, err error) error {
		held = false
		l.Unlock()
		return nil
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				assert.NoError(t, scope.With(m, func(*sync.Mutex) error {
					if !held {
						t.Error("body ran without the lock")
					}
					return nil
				}))
			}
		}()
	}
	wg.Wait()
}

func TestValue(t *testing.T) {
	err := scope.With(scope.Value(42), func(v int) error {
		assert.Equal(t, 42, v)
		return errBody
	})
	assert.Same(t, errBody, err, "Value never changes the outcome")
	assert.NoError(t, scope.Value("x").Exit(nil))
}

type closeRecorder struct {
	closed int
	err    error
}

func (c *closeRecorder) Close() error { c.closed++; return c.err }

func TestClosing(t *testing.T) {
	t.Run("closes", func(t *testing.T) {
		c := &closeRecorder{}
		err := scope.With(scope.Closing(c), func(v *closeRecorder) error {
			assert.Same(t, c, v, "Enter returns v")
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, 1, c.closed)
	})
	t.Run("close error added", func(t *testing.T) {
		c := &closeRecorder{err: errExit1}
		err := scope.With(scope.Closing(c), func(*closeRecorder) error { return errBody })
		assertParts(t, err, errBody, errExit1)
	})
	t.Run("closes on panic", func(t *testing.T) {
		c := &closeRecorder{}
		_, panicked := recoverValue(func() {
			_ = scope.With(scope.Closing(c), func(*closeRecorder) error { panic("boom") })
		})
		assert.True(t, panicked)
		assert.Equal(t, 1, c.closed)
	})
	t.Run("real file", func(t *testing.T) {
		f, err := os.Create(filepath.Join(t.TempDir(), "f"))
		require.NoError(t, err)
		require.NoError(t, scope.With(scope.Closing(f), func(f *os.File) error {
			_, err := f.WriteString("hello")
			return err
		}))
		assert.ErrorIs(t, f.Close(), os.ErrClosed, "the file was closed")
	})
}
