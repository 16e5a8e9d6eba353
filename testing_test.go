package scope_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

func TestForTestUnwindsAtCleanup(t *testing.T) {
	var dir string
	t.Run("inner", func(t *testing.T) {
		s := scope.ForTest(t)
		var err error
		dir, err = scope.Enter(s, scope.MkdirTemp("", "fortest"))
		require.NoError(t, err)
		assert.DirExists(t, dir, "alive during the test")
	})
	assert.NoDirExists(t, dir, "removed when the subtest finished")
}

// recordingT is a TestingT that runs its cleanups on demand and records
// errors, to check what ForTest reports without failing this test.
type recordingT struct {
	cleanups []func()
	errors   []string
	failed   bool
}

func (r *recordingT) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingT) Error(args ...any) {
	r.errors = append(r.errors, fmt.Sprint(args...))
	r.failed = true
}
func (r *recordingT) Failed() bool { return r.failed }
func (r *recordingT) Helper()      {}
func (r *recordingT) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestForTestReports(t *testing.T) {
	t.Run("teardown error", func(t *testing.T) {
		rt := &recordingT{}
		s := scope.ForTest(rt)
		s.Defer(func() error { return errExit1 })
		rt.finish()
		require.Len(t, rt.errors, 1)
		assert.Contains(t, rt.errors[0], "scope: teardown failed: exit 1 failed")
	})
	t.Run("failed test", func(t *testing.T) {
		rt := &recordingT{failed: true}
		s := scope.ForTest(rt)
		var seen error
		s.Push(func(err error) error { seen = err; return err })
		rt.finish()
		assert.Same(t, scope.ErrTestFailed, seen, "exits see that the test failed")
		assert.Empty(t, rt.errors, "no teardown failed: nothing more to report")
	})
	t.Run("clean", func(t *testing.T) {
		rt := &recordingT{}
		s := scope.ForTest(rt)
		s.Defer(func() error { return nil })
		rt.finish()
		assert.Empty(t, rt.errors)
	})
	assert.PanicsWithValue(t, "scope: ForTest called with a nil TestingT", func() { scope.ForTest(nil) })
}
