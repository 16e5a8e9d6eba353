package scope

import "runtime/debug"

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
// that panicked. If body called Goexit, the goroutine goes on exiting after
// Exit. A panic in Exit itself propagates.
//
// For a [Generator], With runs the generator's function on the calling
// goroutine and its yield calls body directly: no goroutine, no channel.
//
// A block that returns a [Replace] result gets an error saying so as its
// outcome: only exits may replace outcomes.
//
// With panics at once if m or body is nil. Over a manager held in a pointer,
// with a body that captures nothing, With costs about 1.3 times a hand-written
// Lock and deferred Unlock and allocates nothing; see BENCHMARKS.md.
func With[T any](m Manager[T], body func(T) error) error {
	if m == nil {
		panic("scope: With called with a nil Manager")
	}
	if body == nil {
		panic("scope: With called with a nil body")
	}
	switch m := m.(type) {
	case *generator[T]:
		return m.with(body)
	case *funcManager[T]:
		v, err := m.enter()
		if err != nil {
			return err
		}
		return run(v, body, m.exit, nil)
	case *boundManager[T]:
		v, x, err := m.enter()
		if err != nil {
			return err
		}
		return run(v, body, nil, x)
	}
	v, err := m.Enter()
	if err != nil {
		return err
	}
	return run(v, body, nil, m)
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

// run runs body(v) and then the exit: fn(v, outcome) when fn is non-nil,
// x.Exit(outcome) otherwise.
//
// It is one function with a single deferred closure so that the compiler
// open-codes the defer and keeps the closure on the stack: a With over a lock
// allocates nothing.
func run[T any](v T, body func(T) error, fn func(T, error) error, x exiter) (err error) {
	normal := false
	defer func() {
		if normal {
			return
		}
		// body panicked or called Goexit; recover tells which. The exit runs
		// here, on top of the frames that panicked, and the panic resumes from
		// here, so the crash output keeps those frames.
		p := recover()
		var outcome error = ErrGoexit
		var pe *PanicError
		if p != nil {
			pe = newPanicError(p)
			outcome = pe
		}
		err = exitWith(v, outcome, fn, x)
		if pe != nil && holds(err, pe) {
			panic(p)
		}
		// For Goexit, returning lets the goroutine go on exiting.
	}()
	err = blockOutcome(body(v))
	normal = true
	return exitWith(v, err, fn, x)
}

// exitWith calls the exit with outcome and applies the rules to its result.
func exitWith[T any](v T, outcome error, fn func(T, error) error, x exiter) error {
	var r error
	if fn != nil {
		r = fn(v, outcome)
	} else {
		r = x.Exit(outcome)
		if _, ok := x.(replacer); ok {
			// A nested Scope returns its final outcome, which already
			// includes this one.
			return r
		}
	}
	return settle(outcome, r)
}

// newPanicError records the panic value p with the current goroutine's stack.
// Called from a deferred function that recovered p, the stack still holds the
// frames that panicked.
func newPanicError(p any) *PanicError {
	return &PanicError{Value: p, Stack: debug.Stack()}
}
