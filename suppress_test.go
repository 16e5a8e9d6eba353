package scope_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/multierr"

	"github.com/go-scope/scope"
)

func TestSuppress(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
	tests := []struct {
		name    string
		reason  string
		targets []error
		outcome error
		want    error   // by identity, when parts is nil
		parts   []error // else: what remains, each once, in order
	}{
		{name: "match", reason: "the outcome itself is a target", targets: []error{io.EOF}, outcome: io.EOF},
		{name: "wrapped match", reason: "matched as errors.Is does", targets: []error{fs.ErrNotExist}, outcome: pathErr},
		{name: "no match", reason: "other errors pass", targets: []error{io.EOF}, outcome: errBody, want: errBody},
		{name: "success", reason: "nil stays nil", targets: []error{io.EOF}},
		{name: "no targets", reason: "Suppress() suppresses nothing", outcome: io.EOF, want: io.EOF},
		{name: "nil target", reason: "nil targets are ignored", targets: []error{nil}, outcome: io.EOF, want: io.EOF},
		{name: "several targets", reason: "any target matches", targets: []error{errOther, io.EOF}, outcome: io.EOF},
		{
			name: "split multierr", reason: "matching parts removed, the rest kept in order",
			targets: []error{io.EOF}, outcome: multierr.Combine(errBody, io.EOF, errExit1),
			parts: []error{errBody, errExit1},
		},
		{
			name: "split Join", reason: "errors.Join is split the same way",
			targets: []error{io.EOF}, outcome: errors.Join(io.EOF, errBody), want: errBody,
		},
		{
			name: "split nested", reason: "nested combinations are split too",
			targets: []error{io.EOF}, outcome: multierr.Combine(errBody, errors.Join(io.EOF, errExit1), errExit2),
			parts: []error{errBody, errExit1, errExit2},
		},
		{
			name: "all parts match", reason: "a combination of matches is suppressed whole",
			targets: []error{io.EOF, errOther}, outcome: errors.Join(io.EOF, errOther),
		},
		{
			name: "wrapped combination, all match", reason: "a wrapped combination goes whole when every part matches",
			targets: []error{io.EOF, errOther}, outcome: fmt.Errorf("ctx: %w", errors.Join(io.EOF, errOther)),
		},
		{
			name: "wrapped combination, some match", reason: "a wrapped combination that cannot be split is kept whole",
			targets: []error{io.EOF}, outcome: errWrappedJoin, want: errWrappedJoin,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s scope.Scope
			_, err := scope.Enter(&s, scope.Suppress(tt.targets...))
			require.NoError(t, err)
			got := s.Exit(tt.outcome)
			if tt.parts != nil {
				assertParts(t, got, tt.parts...)
				assert.Zero(t, count(got, io.EOF), "the target is gone")
				return
			}
			assert.Equal(t, tt.want, got, tt.reason)
		})
	}
}

var errWrappedJoin = fmt.Errorf("ctx: %w", errors.Join(io.EOF, errExit1))

func TestSuppressNeverStopsPanicOrGoexit(t *testing.T) {
	t.Run("panic with a target value", func(t *testing.T) {
		got, panicked := recoverValue(func() {
			_ = scope.With(scope.Suppress(io.EOF), func(struct{}) error { panic(io.EOF) })
		})
		assert.True(t, panicked, "a panic is never suppressed, even when its value matches")
		assert.Equal(t, io.EOF, got)
	})
	t.Run("panic in a combination", func(t *testing.T) {
		pe := &scope.PanicError{Value: io.EOF}
		var s scope.Scope
		_, _ = scope.Enter(&s, scope.Suppress(io.EOF))
		got := s.Exit(multierr.Combine(pe, io.EOF))
		assert.Same(t, pe, got, "the matching error goes, the panic stays")
	})
	t.Run("Goexit", func(t *testing.T) {
		var seen error
		returned := inGoroutine(func() {
			var s scope.Scope
			s.Push(func(err error) error { seen = err; return nil })
			_, _ = scope.Enter(&s, scope.Suppress(scope.ErrGoexit))
			_ = s.Exit(scope.ErrGoexit)
			runtime.Goexit()
		})
		assert.False(t, returned)
		assert.Same(t, scope.ErrGoexit, seen, "ErrGoexit is never suppressed, even as a target")
	})
}

func TestSuppressNestedAndReused(t *testing.T) {
	sup := scope.Suppress(os.ErrNotExist)
	for range 2 {
		err := scope.With(sup, func(struct{}) error {
			return scope.With(sup, func(struct{}) error {
				_, err := os.Open("/definitely/not/here")
				return err
			})
		})
		assert.NoError(t, err)
	}
}

func TestSuppressMatcherPanics(t *testing.T) {
	// An Is method that panics is a bug in that error type; the panic
	// propagates from the exit like any exit's panic, and a Scope still runs
	// its other exits.
	var (
		s   scope.Scope
		ran bool
	)
	s.Defer(func() error { ran = true; return nil })
	_, _ = scope.Enter(&s, scope.Suppress(io.EOF))
	got, panicked := recoverValue(func() { _ = s.Exit(panickyIs{}) })
	assert.True(t, panicked)
	assert.Equal(t, "Is exploded", got)
	assert.True(t, ran, "the other exits ran")
}

type panickyIs struct{}

func (panickyIs) Error() string { return "panicky" }
func (panickyIs) Is(error) bool { panic("Is exploded") }
