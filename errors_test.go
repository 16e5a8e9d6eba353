package scope_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/multierr"

	"github.com/go-scope/scope"
)

// withExit runs a block returning body through a Func manager whose exit
// returns exit(outcome), and returns With's result.
func withExit(body error, exit func(err error) error) error {
	m := scope.Func(func() (int, error) { return 0, nil }, func(_ int, err error) error { return exit(err) })
	return scope.With(m, func(int) error { return body })
}

func TestOutcomeRules(t *testing.T) {
	wrapped := fmt.Errorf("ctx: %w", errBody)
	tests := []struct {
		name   string
		reason string
		body   error
		exit   func(err error) error
		want   error   // compared by identity when parts is nil
		parts  []error // else: each must be found exactly once, in this order
	}{
		{
			name: "success and nil", reason: "rule 1: nil result leaves a nil outcome",
			exit: func(error) error { return nil },
		},
		{
			name: "error and nil", reason: "rule 1: a teardown that succeeded says nothing",
			body: errBody, exit: func(error) error { return nil }, want: errBody,
		},
		{
			name: "Replace substitutes", reason: "rule 2",
			body: errBody, exit: func(error) error { return scope.Replace(errOther) }, want: errOther,
		},
		{
			name: "Replace(nil) suppresses", reason: "rule 2: like __exit__ returning True",
			body: errBody, exit: func(error) error { return scope.Replace(nil) },
		},
		{
			name: "Replace on success", reason: "rule 2 applies to a nil outcome too",
			exit: func(error) error { return scope.Replace(errOther) }, want: errOther,
		},
		{
			name: "exit returns the outcome", reason: "rule 3: the Python way duplicates nothing",
			body: errBody, exit: func(err error) error { return err }, want: errBody,
		},
		{
			name: "exit wraps the outcome", reason: "rule 3: %w carries the outcome",
			body: errBody, exit: func(err error) error { return wrapped }, want: wrapped,
		},
		{
			name: "exit joins the outcome", reason: "rule 3: errors.Join carries the outcome",
			body: errBody, exit: func(err error) error { return errors.Join(err, errExit1) },
			parts: []error{errBody, errExit1},
		},
		{
			name: "exit returns its own error", reason: "rule 4: the close error is added after the body's",
			body: errBody, exit: func(error) error { return errExit1 }, parts: []error{errBody, errExit1},
		},
		{
			name: "teardown error on success", reason: "rule 4 with a nil outcome: the teardown error alone",
			exit: func(error) error { return errExit1 }, want: errExit1,
		},
		{
			name: "joined teardown errors", reason: "rule 4: errors.Is reaches parts made by errors.Join",
			body: errBody, exit: func(error) error { return errors.Join(errExit1, errExit2) },
			parts: []error{errBody, errExit1, errExit2},
		},
		{
			name: "success with an exit returning the nil outcome", reason: "rule 1 for the Python way",
			exit: func(err error) error { return err },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withExit(tt.body, tt.exit)
			if tt.parts == nil {
				assert.Equal(t, tt.want, got, "With = %v; want %v (%s)", got, tt.want, tt.reason)
				return
			}
			assertParts(t, got, tt.parts...)
		})
	}
}

// assertParts checks that each of parts occurs exactly once in err, and that
// errors.Is finds each, in the order given.
func assertParts(t *testing.T, err error, parts ...error) {
	t.Helper()
	require.Error(t, err)
	for _, p := range parts {
		assert.ErrorIs(t, err, p)
		assert.Equal(t, 1, count(err, p), "%v occurs %d times in %q; want once", p, count(err, p), err)
	}
	// The message lists the parts in order.
	msg, at := err.Error(), -1
	for _, p := range parts {
		i := indexFrom(msg, p.Error(), at+1)
		assert.Greater(t, i, at, "%q: %q out of order", msg, p)
		at = i
	}
}

func indexFrom(s, sub string, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestRule3SurvivesFlattening is issue 8: an exit that appends to a combined
// outcome with multierr gets back a new, flattened error; it must still count
// as carrying the outcome, so that nothing is reported twice.
func TestRule3SurvivesFlattening(t *testing.T) {
	combine := map[string]func(...error) error{
		"multierr": multierr.Combine,
		"Join":     errors.Join,
	}
	exits := []struct {
		name   string
		reason string
		exit   func(err error) error
		added  bool // whether the exit adds errExit3
	}{
		{"multierr.Append", "multierr flattens the outcome: every part is carried", func(err error) error { return multierr.Append(err, errExit3) }, true},
		{"multierr.Combine", "the same through Combine", func(err error) error { return multierr.Combine(err, errExit3) }, true},
		{"errors.Join", "Join keeps the outcome whole: it is carried", func(err error) error { return errors.Join(err, errExit3) }, true},
		{"fmt.Errorf %w", "a wrapper carries what it wraps", func(err error) error { return fmt.Errorf("ctx: %w", err) }, false},
		{"err itself", "an exit that returns the outcome duplicates nothing", func(err error) error { return err }, false},
	}
	for cname, comb := range combine {
		for _, parts := range [][]error{{errBody, errExit1}, {errBody, errExit1, errExit2}} {
			for _, ex := range exits {
				name := fmt.Sprintf("%s of %d/%s", cname, len(parts), ex.name)
				t.Run(name, func(t *testing.T) {
					var s scope.Scope
					s.Push(ex.exit)
					got := s.Exit(comb(parts...))
					want := parts
					if ex.added {
						want = append(append([]error(nil), parts...), errExit3)
					}
					t.Log(ex.reason)
					assertParts(t, got, want...)
				})
			}
		}
	}
}

func TestRule3ThroughScopeInTurn(t *testing.T) {
	for name, appendFn := range map[string]func(error, error) error{
		"multierr.Append": multierr.Append,
		"errors.Join":     func(a, b error) error { return errors.Join(a, b) },
	} {
		t.Run(name, func(t *testing.T) {
			err := scope.With(new(scope.Scope), func(s *scope.Scope) error {
				for _, e := range []error{errExit3, errExit2, errExit1} {
					s.Push(func(err error) error { return appendFn(err, e) })
				}
				return errBody
			})
			assertParts(t, err, errBody, errExit1, errExit2, errExit3)
		})
	}
}

func TestPanicError(t *testing.T) {
	pe := &scope.PanicError{Value: io.EOF}
	assert.Equal(t, "panic: EOF", pe.Error())
	assert.ErrorIs(t, pe, io.EOF, "Unwrap gives an error value")
	assert.Nil(t, (&scope.PanicError{Value: "x"}).Unwrap(), "Unwrap of a non-error value")
}

func TestReplaceReturnedByBody(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		r      error
	}{
		{"Replace(nil)", "a block's suppression would be its author's success: it is an error", scope.Replace(nil)},
		{"Replace(err)", "a block's substitution is an error that still reaches err", scope.Replace(errOther)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen error
			err := withExit(tt.r, func(err error) error { seen = err; return err })
			require.Error(t, err, tt.reason)
			assert.Contains(t, err.Error(), "scope: block returned Replace")
			assert.Equal(t, err, seen, "the exit sees the misuse error, not a marker it could act on")
			if tt.name == "Replace(err)" {
				assert.ErrorIs(t, err, errOther)
			}
		})
	}
}

func TestTypedNilErrorIsAnError(t *testing.T) {
	// A (*myErr)(nil) in an error is non-nil in Go; scope treats it as the
	// error it is, as errors.Join does, rather than guess.
	var typed *myErr
	err := withExit(typed, func(error) error { return nil })
	require.Error(t, err)
	assert.ErrorAs(t, err, &typed)
}

type myErr struct{}

func (*myErr) Error() string { return "my error" }
