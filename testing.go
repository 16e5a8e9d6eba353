package scope

import (
	"context"
	"errors"
)

// ErrTestFailed is the starting outcome of a [ForTest] scope whose test has
// failed by the time it unwinds (t.Error, t.Fatal, a panic), so that its exits
// see a failure: a transaction rolls back rather than commits after t.Fatal.
var ErrTestFailed = errors.New("scope: test failed")

// ErrTestSkipped is the starting outcome of a [ForTest] scope whose test was
// skipped after the scope was made (t.Skip, t.SkipNow): the test stopped
// halfway, so its exits see a failure and a transaction rolls back rather
// than commits half-done work.
var ErrTestSkipped = errors.New("scope: test skipped")

// TestingT is the part of *testing.T, *testing.B and *testing.F that
// [ForTest] uses. A TestingT that also has a Skipped() bool method, as
// those three do, lets ForTest tell a skipped test; one that has a
// Context() context.Context method, as they do since Go 1.24, gives the
// scope's goroutines their context.
type TestingT interface {
	Cleanup(func())
	Error(args ...any)
	Failed() bool
	Helper()
}

// ForTest returns a new Scope that unwinds when the test t and its subtests
// finish, through t.Cleanup, and reports a teardown error with t.Error: the
// test fails if any teardown failed, and the failure is reported at the line
// of the test that called ForTest.
//
//	s := scope.ForTest(t)
//	dir, err := scope.Enter(s, scope.MkdirTemp("", "data"))
//	if err != nil {
//		t.Fatal(err)
//	}
//
// The scope unwinds with a nil starting outcome if the test passed so far,
// with [ErrTestFailed] if it failed (also by a panic or t.FailNow), and with
// [ErrTestSkipped] if it was skipped, so that the exits can tell.
//
// Goroutines started with [Scope.Go] get contexts derived from t.Context(),
// which the testing package cancels just before the cleanups run: a server
// started for the test stops when the test ends, and the scope waits for it
// before its exits run.
//
// ForTest panics if t is nil (a nil interface or a nil pointer).
func ForTest(t TestingT) *Scope {
	if isNil(t) {
		panic("scope: ForTest called with a nil TestingT")
	}
	t.Helper()
	s := new(Scope)
	if c, ok := t.(interface{ Context() context.Context }); ok {
		s = New(c.Context())
	}
	t.Cleanup(func() {
		// A cleanup that calls Helper is reported where Cleanup was
		// called, and ForTest is a helper too: the failure points at the
		// test's own line.
		t.Helper()
		var start error
		switch sk, ok := t.(interface{ Skipped() bool }); {
		case t.Failed():
			start = ErrTestFailed
		case ok && sk.Skipped():
			start = ErrTestSkipped
		}
		if err := without(s.Exit(start), start); err != nil {
			t.Error("scope: teardown failed: " + err.Error())
		}
	})
	return s
}
