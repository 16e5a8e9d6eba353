package scope

import (
	"errors"
	"iter"

	"go.uber.org/multierr"
)

// Generator returns a Manager written as one function, like Python's
// @contextmanager: gen does its setup, calls yield(v) exactly once, and does
// its teardown.
//
// yield runs the block with v and returns the block's outcome: nil, the
// block's error, a [*PanicError] or [ErrGoexit]. yield never panics, so the
// code after it runs even when the block panicked (the panic's stack stays in
// PanicError.Stack). gen's return value is the exit's result under the rules
// of the package documentation:
//
//	return yield(v)     // pass the outcome through
//	return f.Close()    // add the close error to the outcome
//	return Replace(nil) // suppress the outcome
//
// If gen returns before calling yield, Enter returns gen's error, or
// [ErrNoYield] if gen returned nil. A second call to yield runs nothing and
// returns [ErrExtraYield], which the final outcome then includes; gen still
// runs to its end. A panic in gen's own code propagates to the caller.
//
// Under [With], gen runs on the calling goroutine and yield calls the block
// directly: no goroutine, no channel. Because [runtime.Goexit] cannot be
// stopped, a block that calls Goexit under With unwinds straight through gen:
// only gen's deferred calls run, not the code after yield. Put teardown that
// must survive t.FailNow in a defer inside gen.
//
// Entered through [Enter] into a [Scope], or through its own Enter and Exit,
// gen runs as a coroutine ([iter.Pull]): Enter runs gen up to yield, and Exit
// passes the outcome in and runs gen to its end, with the same results as
// under With. A Goexit in the block then reaches gen's yield as ErrGoexit like
// any other outcome. An entered generator holds a parked goroutine until it
// exits: one that is entered and never exited leaks it.
//
// One Generator may be used again after it exited, by many goroutines at once
// under With and Scope, and entered again while entered as long as its own
// Enter and Exit calls nest, as With and Scope guarantee.
//
// Generator panics if gen is nil. Under With a run allocates its state and
// its yield (two small objects); entered through a Scope it costs an iter.Pull
// of one value and three allocations more. See BENCHMARKS.md.
func Generator[T any](gen func(yield func(T) error) error) Manager[T] {
	if gen == nil {
		panic("scope: Generator called with a nil function")
	}
	return &generator[T]{gen: gen}
}

type generator[T any] struct {
	gen     func(yield func(T) error) error
	entered stack[*coroutine[T]]
	leak    *leakTracker // see SetLeakHandler; guarded by entered.mu
}

// with runs gen on the calling goroutine with a yield that calls body.
func (g *generator[T]) with(body func(T) error) error {
	cb := &callback[T]{body: body}
	r := g.gen(cb.yield)
	cb.returned = true
	if !cb.yielded {
		return enterError(r)
	}
	final := settle(cb.outcome, genResult(r, cb.extra))
	if cb.pe != nil && holds(final, cb.pe) {
		panic(cb.pe.Value)
	}
	return final
}

// callback is the state of one generator run under With: one allocation,
// with the yield method value that gen receives.
type callback[T any] struct {
	body     func(T) error
	outcome  error
	pe       *PanicError
	yielded  bool
	extra    bool // yield was called again
	returned bool // gen returned: a yield it kept runs nothing
}

func (cb *callback[T]) yield(v T) error {
	if cb.yielded || cb.returned {
		cb.extra = true
		return ErrExtraYield
	}
	cb.yielded = true
	cb.pe, cb.outcome = callBody(cb.body, v)
	return cb.outcome
}

// callBody runs body(v) and returns its outcome, recovering a panic into a
// *PanicError, which it returns both as pe and as the outcome. A Goexit cannot be recovered: it goes on through the caller.
func callBody[T any](body func(T) error, v T) (pe *PanicError, outcome error) {
	normal := false
	defer func() {
		if normal {
			return
		}
		if p := recover(); p != nil {
			pe = newPanicError(p)
			outcome = pe
		}
	}()
	outcome = blockOutcome(body(v))
	normal = true
	return nil, outcome
}

// enterError is Enter's error when gen returned r without yielding.
func enterError(r error) error {
	if rep, ok := r.(*replacement); ok {
		r = rep.err
	}
	if r == nil {
		return ErrNoYield
	}
	return r
}

// genResult is the exit result of a generator that returned r, adding
// ErrExtraYield when it yielded more than once.
func genResult(r error, extra bool) error {
	if !extra {
		return r
	}
	if rep, ok := r.(*replacement); ok {
		return &replacement{err: withExtraYield(rep.err)}
	}
	return withExtraYield(r)
}

func withExtraYield(err error) error {
	if errors.Is(err, ErrExtraYield) {
		return err
	}
	return multierr.Append(err, ErrExtraYield)
}

// start runs gen as a coroutine up to its yield.
func (g *generator[T]) start() (*coroutine[T], T, error) {
	c := &coroutine[T]{gen: g.gen}
	c.next, _ = iter.Pull(c.run)
	v, ok := c.next()
	if !ok {
		return nil, v, enterError(c.r)
	}
	return c, v, nil
}

func (g *generator[T]) Enter() (T, error) {
	c, v, err := g.start()
	if err == nil {
		g.entered.mu.Lock()
		g.entered.items = append(g.entered.items, c)
		if leakHandler.Load() != nil {
			track(g, &g.leak, "Generator")
		}
		g.entered.mu.Unlock()
	}
	return v, err
}

func (g *generator[T]) Exit(err error) error {
	c := g.entered.pop("scope: Exit called on a Generator that is not entered")
	g.entered.mu.Lock()
	if len(g.entered.items) == 0 {
		untrack(g.leak)
	}
	g.entered.mu.Unlock()
	return c.Exit(err)
}

// coroutine is one entry of a generator, parked at its yield.
type coroutine[T any] struct {
	gen     func(yield func(T) error) error
	next    func() (T, bool)
	out     func(T) bool // iter.Pull's yield: parks gen, handing v to next
	outcome error        // the block's outcome, handed to gen's yield by Exit
	r       error        // what gen returned
	yielded bool
	extra   bool // gen called yield again
}

// run is the iter.Seq that iter.Pull runs as a coroutine.
func (c *coroutine[T]) run(out func(T) bool) {
	c.out = out
	c.r = c.gen(c.yield)
}

// yield is gen's yield: the first call parks gen until Exit resumes it with
// the block's outcome.
func (c *coroutine[T]) yield(v T) error {
	if c.yielded {
		c.extra = true
		return ErrExtraYield
	}
	c.yielded = true
	c.out(v)
	return c.outcome
}

// Exit resumes gen with the block's outcome and runs it to its end; a panic or
// Goexit in gen's teardown propagates from here.
func (c *coroutine[T]) Exit(err error) error {
	c.outcome = err
	c.next()
	return genResult(c.r, c.extra)
}
