package scope

import (
	"errors"
	"iter"
	"runtime/debug"

	"go.uber.org/multierr"
)

// This file is the outcome algebra: what an exit's result does to the
// outcome (the rules of the package documentation), how a call ended, and
// when a panic resumes. Every With, Generator, Scope and owned goroutine goes
// through it; no other file decides any of these.

// apply returns the outcome after an exit that was given outcome returned r.
// These are the rules of the package documentation, in their order:
//
//  1. r == nil: the outcome is unchanged.
//  2. r was made by Replace(x): the outcome becomes x. (A nested Scope's exit
//     reports its final outcome this way, so that it replaces the outer
//     outcome as is.)
//  3. the outcome is non-nil and r carries it: r replaces it.
//  4. otherwise the outcome becomes the combination of both, outcome first.
func apply(outcome, r error) error {
	if r == nil {
		return outcome // the common case, kept small enough to inline
	}
	return applyResult(outcome, r)
}

// applyResult is apply for a result that is not nil: rules 2 to 4.
func applyResult(outcome, r error) error {
	if rep, ok := r.(*replacement); ok {
		return rep.err
	}
	if outcome != nil && carries(r, outcome) {
		return r
	}
	return multierr.Append(outcome, r)
}

// carries reports whether r already holds outcome (rule 3): errors.Is(r,
// outcome), or, when outcome is a combination, every one of its parts is
// carried by r.
//
// The second half is what makes an exit written as
// return multierr.Append(err, f.Close()) duplicate nothing: multierr flattens
// the outcome it is given into a new error whose tree holds the outcome's
// parts but not the outcome value itself.
func carries(r, outcome error) bool {
	if errors.Is(r, outcome) {
		return true
	}
	ps := parts(outcome)
	if len(ps) == 0 {
		return false
	}
	for _, p := range ps {
		if p != nil && !carries(r, p) {
			return false
		}
	}
	return true
}

// include adds err, an owned goroutine's failure, to outcome, unless outcome
// already holds it: a block that returned what Wait returned does not report
// it twice.
func include(outcome, err error) error {
	if outcome != nil && errors.Is(outcome, err) {
		return outcome
	}
	return multierr.Append(outcome, err)
}

// without returns r without the parts that are target itself: how a
// deadline's error, which ExitContext reports once at the end, is kept out of
// the exits' results. r itself, or a part of a combination, counts when it is
// target exactly; an error that wraps target says more, and stays.
func without(r, target error) error {
	if r == target {
		return nil
	}
	ps := parts(r)
	if ps == nil {
		return r
	}
	kept := make([]error, 0, len(ps))
	for _, p := range ps {
		if p != target {
			kept = append(kept, p)
		}
	}
	if len(kept) == len(ps) {
		return r
	}
	return multierr.Combine(kept...)
}

// combination is an error made of several, as errors.Join's and multierr's
// are.
type combination = interface{ Unwrap() []error }

// parts returns the errors that err combines, or nil if it is not a
// combination.
func parts(err error) []error {
	if c, ok := err.(combination); ok {
		return c.Unwrap()
	}
	return nil
}

// tree yields err and every error it wraps, depth first, in the order
// errors.Is visits them; for a combination, the order its parts happened.
func tree(err error) iter.Seq[error] {
	return func(yield func(error) bool) { walk(err, yield) }
}

func walk(err error, yield func(error) bool) bool {
	for err != nil {
		if !yield(err) {
			return false
		}
		switch e := err.(type) {
		case combination:
			for _, part := range e.Unwrap() {
				if !walk(part, yield) {
					return false
				}
			}
			return true
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		default:
			return true
		}
	}
	return true
}

// firstPanic returns the first *PanicError in err's tree, or nil.
func firstPanic(err error) *PanicError {
	for e := range tree(err) {
		if pe, ok := e.(*PanicError); ok {
			return pe
		}
	}
	return nil
}

// resume panics again with pe's original value when the final outcome still
// has pe as its first panic: no exit replaced it, and no earlier panic goes
// first. It is the one place where a recovered panic goes on. Called from the
// deferred function that recovered the panic, it keeps the panicking frames
// on the stack, so a crash still shows them.
func resume(final error, pe *PanicError) {
	if pe != nil && firstPanic(final) == pe {
		panic(pe.Value)
	}
}

// blockOutcome turns what a block returned into the outcome its exits see:
// the block's own error, except a Replace marker, which only an exit may
// return; a block that returns one gets a clear error instead.
func blockOutcome(err error) error {
	if r, ok := err.(*replacement); ok {
		return &misplaced{err: r.err}
	}
	return err
}

// newPanicError records the panic value p with the current goroutine's stack.
// Called from the deferred function that recovered p, the stack still holds
// the frames that panicked.
func newPanicError(p any) *PanicError {
	return &PanicError{Value: p, Stack: debug.Stack()}
}

// ending is how a call ended.
type ending uint8

const (
	returned ending = iota
	panicked
	goexited
)

// guard calls body and then after, with body's outcome and how body ended:
// what it returned; a *PanicError if it panicked; ErrGoexit if it called
// runtime.Goexit. guard returns after's result.
//
// When body panicked or called Goexit, after runs inside the deferred call
// that saw it, on top of the frames that panicked, and then the panic resumes
// by the rule of resume, from there, so that a crash still shows those frames;
// a Goexit goes on by itself once after returns. A panic in after itself, or
// after a normal return, propagates.
//
// Telling the three apart takes a flag set after body returns: recover
// returns nil for a Goexit (panic(nil) arrives as a *runtime.PanicNilError,
// so nil means Goexit), as singleflight's doCall and iter.Pull do it.
func guard(body func() error, after func(outcome error, how ending) error) (final error) {
	how := goexited
	defer func() {
		if how == returned {
			return
		}
		p := recover()
		if p == nil {
			final = after(ErrGoexit, goexited)
			return
		}
		pe := newPanicError(p)
		final = after(pe, panicked)
		resume(final, pe)
	}()
	outcome := body()
	how = returned
	return after(outcome, returned)
}
