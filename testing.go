package scope

import "errors"

// ErrTestFailed is the starting outcome of a [ForTest] scope whose test has
// failed by the time it unwinds, so that its exits see a failure: a
// transaction rolls back rather than commits after t.Fatal.
var ErrTestFailed = errors.New("scope: test failed")

// TestingT is the part of *testing.T, *testing.B and *testing.F that
// [ForTest] uses.
type TestingT interface {
	Cleanup(func())
	Error(args ...any)
	Failed() bool
	Helper()
}

// ForTest returns a new Scope that unwinds when the test t and its subtests
// finish, through t.Cleanup, and reports a teardown error with t.Error: the
// test fails if any teardown failed.
//
//	s := scope.ForTest(t)
//	dir, _ := scope.Enter(s, scope.MkdirTemp("", "data"))
//
// The scope unwinds with a nil starting outcome if the test passed so far,
// and with [ErrTestFailed] if it failed, so the exits can tell. ForTest panics
// if t is nil.
func ForTest(t TestingT) *Scope {
	if t == nil {
		panic("scope: ForTest called with a nil TestingT")
	}
	t.Helper()
	s := new(Scope)
	t.Cleanup(func() {
		var start error
		if t.Failed() {
			start = ErrTestFailed
		}
		if err := s.Exit(start); err != nil && err != ErrTestFailed {
			t.Error("scope: teardown failed: ", err)
		}
	})
	return s
}
