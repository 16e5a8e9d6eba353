package scope

import (
	"context"
	"errors"
	"time"

	"go.uber.org/multierr"
)

// ContextExiter is an exit whose teardown needs time: http.Server.Shutdown,
// flushing a queue, closing a pool. A Manager entered into a Scope with
// [Enter] that also has this method gets the teardown's context when the
// Scope unwinds with [Scope.ExitContext] or [Scope.CloseContext]; a plain
// [Scope.Close] calls its Exit as usual. *Scope itself is one, so a nested
// Scope passes the deadline on.
type ContextExiter interface {
	ExitContext(ctx context.Context, err error) error
}

// contextExit is an exit registered with PushContext.
type contextExit func(ctx context.Context, err error) error

// Exit runs f without a deadline: the exit of a plain unwinding.
func (f contextExit) Exit(err error) error { return f(context.Background(), err) }

// ExitContext runs f with the unwinding's context.
func (f contextExit) ExitContext(ctx context.Context, err error) error { return f(ctx, err) }

// PushContext registers exit to run when s unwinds, with the unwinding's
// context: the one given to [Scope.ExitContext] or [Scope.CloseContext], or
// context.Background() for a plain [Scope.Close]. Otherwise it is
// [Scope.Push]: exit sees the outcome and its result follows the rules.
//
// PushContext panics at once if s or exit is nil.
func (s *Scope) PushContext(exit func(ctx context.Context, err error) error) {
	if s == nil {
		panic("scope: Scope.PushContext called on a nil *Scope")
	}
	if exit == nil {
		panic("scope: Scope.PushContext called with a nil func")
	}
	s.push(contextExit(exit))
}

// ExitContext is [Scope.Exit] with one deadline for the whole teardown: the
// exits registered with [Scope.PushContext] or entered as a [ContextExiter]
// get a context that carries ctx's deadline and values.
//
// Every exit runs, also after the deadline has passed: each gets the expired
// context and decides what to do, rather than being skipped with its error
// lost. If the deadline passed (or ctx was canceled) during the teardown,
// ctx.Err() is added to the final outcome once, however many exits returned
// it; an exit's error that merely is ctx.Err() is not added again.
//
// A ctx already canceled when the teardown starts (the request that started
// the work was canceled) is detached with [context.WithoutCancel] and given
// back its deadline, if it had one, so the teardown is not skipped for it.
//
// ExitContext panics if s or ctx is nil.
func (s *Scope) ExitContext(ctx context.Context, err error) error {
	if s == nil {
		panic("scope: Scope.ExitContext called on a nil *Scope")
	}
	if ctx == nil {
		panic("scope: Scope.ExitContext called with a nil Context")
	}
	if ctx.Err() != nil {
		detached := context.WithoutCancel(ctx)
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			detached, cancel = context.WithDeadline(detached, deadline)
			defer cancel()
		}
		ctx = detached
	}
	final := unwinding{s: s, ctx: ctx}.do(blockOutcome(err))
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(final, ctxErr) {
		final = multierr.Append(final, ctxErr)
	}
	return final
}

// CloseContext is [Scope.ExitContext] with a nil starting outcome: [Scope.Close]
// with a deadline.
func (s *Scope) CloseContext(ctx context.Context) error {
	return s.ExitContext(ctx, nil)
}

// CloseTimeout is [Scope.CloseContext] with a deadline d from now: the usual
// way to bound a shutdown.
func (s *Scope) CloseTimeout(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.CloseContext(ctx)
}

// withoutContextErr removes from r the parts that are ctx's own error, which
// ExitContext adds once at the end. r itself, or a part of a combination
// (multierr's, errors.Join's), counts when it is ctx.Err() exactly; an error
// that wraps it says more, and stays.
func withoutContextErr(r error, ctx context.Context) error {
	ctxErr := ctx.Err()
	if r == nil || ctxErr == nil {
		return r
	}
	if r == ctxErr {
		return nil
	}
	group, ok := r.(interface{ Unwrap() []error })
	if !ok {
		return r
	}
	parts := group.Unwrap()
	kept := make([]error, 0, len(parts))
	for _, p := range parts {
		if p != ctxErr {
			kept = append(kept, p)
		}
	}
	if len(kept) == len(parts) {
		return r
	}
	return multierr.Combine(kept...)
}
