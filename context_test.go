//go:build go1.25

package scope_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/multierr"

	"github.com/go-scope/scope"
)

// These tests run in a synctest bubble: time is simulated, so deadlines are
// exact and nothing sleeps for real.

func TestExitContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			s     scope.Scope
			order []string
			plain bool
		)
		s.Push(func(err error) error { plain = true; return nil })
		s.PushContext(func(ctx context.Context, err error) error {
			order = append(order, "after deadline")
			assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "it gets the expired context and decides")
			return ctx.Err()
		})
		s.PushContext(func(ctx context.Context, err error) error {
			order = append(order, "slow")
			time.Sleep(2 * time.Second) // ignores ctx: runs past the deadline
			return errExit1
		})
		s.PushContext(func(ctx context.Context, err error) error {
			order = append(order, "respects ctx")
			<-ctx.Done()
			return ctx.Err()
		})
		start := time.Now()
		err := s.CloseTimeout(time.Second)
		assert.Equal(t, 3*time.Second, time.Since(start), "every exit ran, the slow one past the deadline")
		assert.Equal(t, []string{"respects ctx", "slow", "after deadline"}, order)
		assert.True(t, plain, "a plain exit in the same scope runs too")
		assert.ErrorIs(t, err, errExit1, "the slow exit's error is kept")
		assert.Equal(t, 1, count(err, context.DeadlineExceeded), "the deadline is reported once: %v", err)
	})
}

func TestExitContextDeadlineReportedOnceInCombinations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s scope.Scope
		s.PushContext(func(ctx context.Context, err error) error {
			return errors.Join(ctx.Err(), errExit1) // joined: split, the deadline dropped
		})
		s.PushContext(func(ctx context.Context, err error) error {
			return multierr.Append(ctx.Err(), errExit2) // multierr: the same
		})
		s.PushContext(func(ctx context.Context, err error) error {
			<-ctx.Done()
			return fmt.Errorf("flush: %w", ctx.Err()) // wrapped: says more, kept
		})
		err := s.CloseTimeout(time.Second)
		assertParts(t, err, errExit2, errExit1)
		assert.Equal(t, 1, count(err, context.DeadlineExceeded),
			"the deadline once, inside the wrapping error that says more: %v", err)
		assert.Contains(t, err.Error(), "flush: context deadline exceeded")
	})
}

func TestExitContextInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s scope.Scope
		s.PushContext(func(ctx context.Context, err error) error {
			deadline, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.Equal(t, time.Now().Add(time.Second), deadline)
			time.Sleep(500 * time.Millisecond)
			return nil
		})
		assert.NoError(t, s.CloseTimeout(time.Second), "no error when the teardown meets its deadline")
	})
}

func TestExitContextDetachesCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s scope.Scope
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "v"), time.Minute)
		defer cancel()
		requestCtx, cancelRequest := context.WithCancel(ctx)
		cancelRequest() // the request that started the work is gone
		var (
			got    context.Context
			gotErr error
		)
		s.PushContext(func(ctx context.Context, err error) error { got, gotErr = ctx, ctx.Err(); return nil })
		require.NoError(t, s.CloseContext(requestCtx))
		assert.NoError(t, gotErr, "the teardown is not canceled with the request")
		deadline, ok := got.Deadline()
		assert.True(t, ok, "but keeps the deadline")
		assert.Equal(t, time.Now().Add(time.Minute), deadline)
		assert.Equal(t, "v", got.Value(ctxKey{}), "and the values")
	})
}

type ctxKey struct{}

func TestPushContextUnderPlainClose(t *testing.T) {
	var s scope.Scope
	var got context.Context
	s.PushContext(func(ctx context.Context, err error) error { got = ctx; return err })
	assert.Same(t, errBody, s.Exit(errBody))
	_, ok := got.Deadline()
	assert.False(t, ok, "a plain Close gives context.Background()")
}

// server is a ContextExiter: its teardown takes a context.
type server struct{ stopped context.Context }

func (srv *server) Enter() (*server, error) { return srv, nil }
func (srv *server) Exit(err error) error    { return srv.ExitContext(context.Background(), err) }
func (srv *server) ExitContext(ctx context.Context, err error) error {
	srv.stopped = ctx
	return nil
}

func TestContextExiterManager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var outer scope.Scope
		inner, _ := scope.Enter(&outer, new(scope.Scope))
		srv, err := scope.Enter(inner, &server{})
		require.NoError(t, err)
		require.NoError(t, outer.CloseTimeout(time.Second))
		deadline, ok := srv.stopped.Deadline()
		assert.True(t, ok, "the deadline reaches a manager in a nested scope")
		assert.Equal(t, time.Now().Add(time.Second), deadline)
	})
}

func TestExitContextMisuse(t *testing.T) {
	var nilScope *scope.Scope
	assert.PanicsWithValue(t, "scope: Scope.PushContext called with a nil func", func() { new(scope.Scope).PushContext(nil) })
	assert.PanicsWithValue(t, "scope: Scope.PushContext called on a nil *Scope", func() {
		nilScope.PushContext(func(context.Context, error) error { return nil })
	})
	assert.PanicsWithValue(t, "scope: Scope.CloseContext called on a nil *Scope", func() { _ = nilScope.CloseContext(context.Background()) })
	//lint:ignore SA1012 testing the nil check
	assert.PanicsWithValue(t, "scope: Scope.ExitContext called with a nil Context", func() { _ = new(scope.Scope).ExitContext(nil, nil) })
}
