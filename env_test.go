package scope_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// These tests change process state: none of them runs in parallel.

func TestChdir(t *testing.T) {
	start, err := os.Getwd()
	require.NoError(t, err)
	a, b := t.TempDir(), t.TempDir()
	for _, ending := range blockEndings {
		t.Run(ending.name, func(t *testing.T) {
			var inside string
			_ = within(scope.Chdir(a), func(dir string) error {
				assert.Equal(t, a, dir, "Enter returns dir")
				inside, _ = os.Getwd()
				return ending.end()
			})
			assert.Equal(t, a, inside)
			now, _ := os.Getwd()
			assert.Equal(t, start, now, "restored")
		})
	}
	t.Run("nested and reused", func(t *testing.T) {
		ma := scope.Chdir(a)
		var seen []string
		err := scope.With(ma, func(string) error {
			return scope.With(scope.Chdir(b), func(string) error {
				wd, _ := os.Getwd()
				seen = append(seen, wd)
				return scope.With(ma, func(string) error { // the same manager, entered again
					wd, _ := os.Getwd()
					seen = append(seen, wd)
					return nil
				})
			})
		})
		require.NoError(t, err)
		now, _ := os.Getwd()
		assert.Equal(t, []string{b, a}, seen)
		assert.Equal(t, start, now, "LIFO restores back to the start")
	})
	t.Run("bare Enter and Exit nest", func(t *testing.T) {
		ma, mb := scope.Chdir(a), scope.Chdir(b)
		_, err := ma.Enter()
		require.NoError(t, err)
		_, err = mb.Enter()
		require.NoError(t, err)
		require.NoError(t, mb.Exit(nil))
		wd, _ := os.Getwd()
		assert.Equal(t, a, wd)
		require.NoError(t, ma.Exit(nil))
		wd, _ = os.Getwd()
		assert.Equal(t, start, wd)
		assert.PanicsWithValue(t, "scope: Exit called on a Manager that is not entered", func() { _ = ma.Exit(nil) })
	})
	t.Run("failed change saves nothing", func(t *testing.T) {
		m := scope.Chdir(filepath.Join(a, "missing"))
		_, err := m.Enter()
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.Panics(t, func() { _ = m.Exit(nil) }, "no stale entry to restore (CPython keeps one)")
	})
	t.Run("restore fails", func(t *testing.T) {
		gone := filepath.Join(t.TempDir(), "gone")
		require.NoError(t, os.Mkdir(gone, 0o700))
		err := scope.With(scope.Chdir(gone), func(string) error {
			return scope.With(scope.Chdir(a), func(string) error {
				return os.Remove(gone)
			})
		})
		assert.ErrorIs(t, err, os.ErrNotExist, "the failure to restore is reported")
		require.NoError(t, os.Chdir(start))
	})
}

func TestSetenv(t *testing.T) {
	const key = "SCOPE_TEST_SETENV"
	cases := []struct {
		name   string
		reason string
		before *string // nil: unset
	}{
		{"was unset", "an unset variable is unset again, not set to empty", nil},
		{"was empty", "an empty variable is empty again, not unset", ptr("")},
		{"was set", "a set variable gets its old value back", ptr("old")},
	}
	for _, c := range cases {
		for _, ending := range blockEndings {
			t.Run(c.name+"/"+ending.name, func(t *testing.T) {
				if c.before == nil {
					require.NoError(t, os.Unsetenv(key))
				} else {
					require.NoError(t, os.Setenv(key, *c.before))
				}
				defer os.Unsetenv(key)
				_ = within(scope.Setenv(key, "new"), func(v string) error {
					assert.Equal(t, "new", v)
					assert.Equal(t, "new", os.Getenv(key))
					return ending.end()
				})
				got, had := os.LookupEnv(key)
				if c.before == nil {
					assert.False(t, had, c.reason)
					return
				}
				assert.True(t, had, c.reason)
				assert.Equal(t, *c.before, got, c.reason)
			})
		}
	}
	t.Run("nested", func(t *testing.T) {
		require.NoError(t, os.Unsetenv(key))
		m := scope.Setenv(key, "outer")
		err := scope.With(m, func(string) error {
			return scope.With(scope.Setenv(key, "inner"), func(string) error {
				assert.Equal(t, "inner", os.Getenv(key))
				return nil
			})
		})
		require.NoError(t, err)
		_, had := os.LookupEnv(key)
		assert.False(t, had)
	})
	t.Run("invalid key", func(t *testing.T) {
		err := scope.With(scope.Setenv("", "x"), func(string) error { return nil })
		assert.Error(t, err)
	})
}

func ptr[T any](v T) *T { return &v }

func TestSwap(t *testing.T) {
	var out io.Writer = os.Stdout
	var buf bytes.Buffer
	for _, ending := range blockEndings {
		t.Run(ending.name, func(t *testing.T) {
			_ = within(scope.Swap(&out, io.Writer(&buf)), func(w io.Writer) error {
				fmt.Fprint(out, "x")
				return ending.end()
			})
			assert.Equal(t, io.Writer(os.Stdout), out, "restored")
		})
	}
	assert.Equal(t, "xxxx", buf.String(), "writes went to the swapped-in writer")

	n := 1
	m := scope.Swap(&n, 2)
	require.NoError(t, scope.With(m, func(int) error {
		return scope.With(scope.Swap(&n, 3), func(int) error {
			return scope.With(m, func(int) error { assert.Equal(t, 2, n); return nil })
		})
	}))
	assert.Equal(t, 1, n, "nested swaps restore LIFO")
	assert.PanicsWithValue(t, "scope: Swap called with a nil pointer", func() { scope.Swap[int](nil, 1) })
}
