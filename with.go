package scope

import (
	"runtime/debug"
	"sync"
)

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
// With panics at once if m or body is nil.
//
// Over a plain Manager with a body that captures nothing, With allocates
// nothing and costs about 10 to 20 ns more than the hand-written code it
// replaces (two interface calls, the body's call, and a deferred recover);
// With(Lock(&mu)) runs the hand-written code itself. A body that
// captures variables is one heap allocation, because With may hand it to a
// Generator. See BENCHMARKS.md.
func With[T any](m Manager[T], body func(T) error) (err error) {
	if m == nil {
		panic("scope: With called with a nil Manager")
	}
	if body == nil {
		panic("scope: With called with a nil body")
	}
	if mm, ok := any(m).(*mutexManager); ok {
		return withMutex((*sync.Mutex)(mm), any(body).(func(*sync.Mutex) error))
	}
	switch m := m.(type) {
	case *generator[T]:
		return m.with(body)
	case *funcManager[T]:
		v, err := m.enter()
		if err != nil {
			return err
		}
		return run(v, body, m.exit)
	case *boundManager[T]:
		v, x, err := m.enter()
		if err != nil {
			return err
		}
		return run(v, body, func(_ T, err error) error { return x.Exit(err) })
	}

	// A plain Manager. This path is written out here rather than shared
	// with run so that a With over a lock is one frame and one open-coded
	// defer around the Enter, body and Exit calls.
	v, err := m.Enter()
	if err != nil {
		return err
	}
	normal := false
	defer func() {
		if normal {
			err = exitResult(m, err, m.Exit(err))
			return
		}
		// recover must be called here, directly in the deferred function.
		err = afterPanic(recover(), func(outcome error) error { return exitResult(m, outcome, m.Exit(outcome)) })
	}()
	err = blockOutcome(body(v))
	normal = true
	return err
}

// withMutex is With(Lock(mu), body) written as the hand-written code it
// replaces. Lock's Exit always returns nil, so the rules leave every outcome
// as the block made it: a panic goes on with its frames, a Goexit goes on,
// an error is returned; only a Replace result from the body needs the same
// treatment as elsewhere.
func withMutex(mu *sync.Mutex, body func(*sync.Mutex) error) error {
	mu.Lock()
	defer mu.Unlock()
	return blockOutcome(body(mu))
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

// run runs body(v) and then the exit fn(v, outcome).
//
// Like With, it has a single deferred closure, which the compiler open-codes
// and keeps on the stack: a With over a Func allocates nothing.
func run[T any](v T, body func(T) error, fn func(T, error) error) (err error) {
	normal := false
	defer func() {
		if normal {
			err = settle(err, fn(v, err))
			return
		}
		err = afterPanic(recover(), func(outcome error) error { return settle(outcome, fn(v, outcome)) })
	}()
	err = blockOutcome(body(v))
	normal = true
	return err
}

// afterPanic finishes a block that did not return: p is what the deferred
// function recovered, nil for a Goexit. It runs exit with the outcome, a
// *PanicError or ErrGoexit, and returns the final outcome; if that still holds
// the panic, it panics again with the original value.
//
// It must be called from the deferred function that recovered p, so that the
// exit runs, and the panic resumes, on top of the frames that panicked: the
// crash output then still shows them. For a Goexit, returning lets the
// goroutine go on exiting.
func afterPanic(p any, exit func(outcome error) error) error {
	if p == nil {
		return exit(ErrGoexit)
	}
	pe := newPanicError(p)
	final := exit(pe)
	if holds(final, pe) {
		panic(p)
	}
	return final
}

// exitResult applies the rules to r, the result of m.Exit(outcome).
func exitResult(m any, outcome, r error) error {
	if r == nil && outcome == nil {
		return nil
	}
	if _, ok := m.(replacer); ok {
		// A nested Scope returns its final outcome, which already includes
		// this one.
		return r
	}
	return settle(outcome, r)
}

// newPanicError records the panic value p with the current goroutine's stack.
// Called from a deferred function that recovered p, the stack still holds the
// frames that panicked.
func newPanicError(p any) *PanicError {
	return &PanicError{Value: p, Stack: debug.Stack()}
}
