package scope_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// TestForTestSkipped: a test skipped after its scope was made stopped half
// way: the exits see ErrTestSkipped, so a transaction rolls back.
func TestForTestSkipped(t *testing.T) {
	var seen error
	t.Run("skipped", func(t *testing.T) {
		s := scope.ForTest(t)
		s.Push(func(err error) error { seen = err; return nil })
		t.SkipNow()
	})
	assert.Same(t, scope.ErrTestSkipped, seen)
}

func TestForTestFailNow(t *testing.T) {
	// Run in a child: a failing subtest fails its parent.
	if os.Getenv("SCOPE_FORTEST_CHILD") == "failnow" {
		t.Run("fails", func(t *testing.T) {
			s := scope.ForTest(t)
			s.Push(func(err error) error { fmt.Printf("exit saw: %v\n", err); return nil })
			t.FailNow()
		})
		return
	}
	out, err := forTestChild(t, "failnow", "TestForTestFailNow")
	require.Error(t, err, out)
	assert.Contains(t, out, "exit saw: scope: test failed")
}

// TestForTestReportsAtTestLine: a teardown failure is reported at the line
// of the test that called ForTest, never inside the library.
func TestForTestReportsAtTestLine(t *testing.T) {
	if os.Getenv("SCOPE_FORTEST_CHILD") == "report" {
		t.Run("teardown fails", func(t *testing.T) {
			s := scope.ForTest(t) // the line the failure must name
			s.Defer(func() error { return errExit1 })
		})
		return
	}
	out, err := forTestChild(t, "report", "TestForTestReportsAtTestLine")
	require.Error(t, err, out)
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	line := 1 + strings.Count(string(src[:strings.Index(string(src), "// the line the failure must name")]), "\n")
	want := fmt.Sprintf("%s:%d: scope: teardown failed: exit 1 failed", filepath.Base(file), line)
	assert.Contains(t, out, want)
	assert.NotContains(t, out, "testing.go:", "not a line inside the library")
}

func forTestChild(t *testing.T, scenario, test string) (string, error) {
	t.Helper()
	cmd := selfCmd("-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), "SCOPE_FORTEST_CHILD="+scenario)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestForTestGoroutinesStopWithTheTest(t *testing.T) {
	var stopped bool
	t.Run("server", func(t *testing.T) {
		s := scope.ForTest(t)
		s.Go(func(ctx context.Context) error {
			<-ctx.Done() // a server that runs until the test ends
			stopped = true
			return nil
		})
	})
	assert.True(t, stopped, "t.Context() was canceled before the scope unwound")
}

func TestForTestNil(t *testing.T) {
	assert.PanicsWithValue(t, "scope: ForTest called with a nil TestingT", func() { scope.ForTest(nil) })
	assert.PanicsWithValue(t, "scope: ForTest called with a nil TestingT", func() { scope.ForTest((*testing.T)(nil)) })
}
