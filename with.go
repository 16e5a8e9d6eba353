package scope

// With enters m, runs body with the entered value, exits m with the block's
// outcome, and returns the final outcome.
//
// If m.Enter fails, With returns its error, runs no body and calls no Exit.
// Otherwise Exit is called exactly once, with the block's outcome: nil, the
// error body returned, a [*PanicError] if body panicked, or [ErrGoexit] if
// body called [runtime.Goexit]. Exit's result changes the outcome by the rules
// in the package documentation: nil leaves it alone, [Replace] substitutes or
// suppresses it, an error that already carries it replaces it, and any other
// error is combined with it.
//
// If the final outcome still holds the block's *PanicError, With panics again
// with the original value, never a wrapper, so recover() == http.ErrAbortHandler
// keeps working upstream. Exit runs inside the deferred call that recovered the
// panic and the panic resumes from there, so a crash still shows the frames
// that panicked; the one exception is a [Generator], see below. If body called
// Goexit, the goroutine goes on exiting after Exit. A panic in Exit itself
// propagates.
//
// For a [Generator], With runs the generator's function on the calling
// goroutine and its yield calls body directly: no goroutine, no channel. The
// generator's teardown runs after yield has returned, that is after the
// block's frames are gone: a crash then shows the generator's frames, not the
// block's. The block's stack is kept in the PanicError.Stack that yield
// returns; enter the generator into a [Scope] to keep the frames in the crash
// output too.
//
// A block that returns a [Replace] result gets an error saying so as its
// outcome: only exits may replace outcomes.
//
// With panics at once if m or body is nil.
func With[T any](m Manager[T], body func(T) error) error {
	if m == nil {
		panic("scope: With called with a nil Manager")
	}
	if body == nil {
		panic("scope: With called with a nil body")
	}
	if r, ok := m.(blockRunner); ok {
		return r.runBlock(m, body)
	}
	v, err := m.Enter()
	if err != nil {
		return err
	}
	return block(v, body, m.Exit)
}

// WithResult is [With] for a body that also returns a result. It returns the
// body's result as the body returned it, whatever the final outcome, or the
// zero R if the body panicked and an exit suppressed the panic.
func WithResult[T, R any](m Manager[T], body func(T) (R, error)) (R, error) {
	if body == nil {
		panic("scope: WithResult called with a nil body")
	}
	var res R
	err := With(m, func(v T) error {
		var err error
		res, err = body(v)
		return err
	})
	return res, err
}
