package scope

import "context"

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
