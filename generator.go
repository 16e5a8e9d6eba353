package scope

import (
	"errors"
	"iter"
	"sync"
	"sync/atomic"

	"go.uber.org/multierr"
)

// Generator returns a Manager written as one function, like Python's
// @contextmanager: gen does its setup, calls yield(v) exactly once, and does
// its teardown.
//
// yield runs the block with v and returns the block's outcome: nil, the
// block's error, a [*PanicError] or [ErrGoexit]. yield never panics, so the
// code after it runs when the block returned an error or panicked (the
// panic's stack stays in PanicError.Stack). gen's return value is the exit's
// result under the rules of the package documentation:
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
// must survive t.FailNow in a defer inside gen. And because the teardown runs
// after yield returned, a crash of a panicking block shows gen's frames, not
// the block's (see [With]).
//
// Entered through [Enter] into a [Scope], or through its own Enter and Exit,
// gen runs as a coroutine ([iter.Pull]): Enter runs gen up to yield, and Exit
// passes the outcome in and runs gen to its end, with the same results as
// under With. A Goexit in the block then reaches gen's yield as ErrGoexit like
// any other outcome, and the code after yield runs. An entered generator
// holds a parked goroutine until it exits: one that is entered and never
// exited leaks it.
//
// One Generator may be used again after it exited, by many goroutines at once
// under With and Scope, and entered again while entered as long as its own
// Enter and Exit calls nest, as With and Scope guarantee.
//
// Generator panics if gen is nil.
func Generator[T any](gen func(yield func(T) error) error) Manager[T] {
	if gen == nil {
		panic("scope: Generator called with a nil function")
	}
	g := &generator[T]{gen: gen, start: new(starter[T])}
	g.seq = g.start.sequence
	return g
}

type generator[T any] struct {
	gen func(yield func(T) error) error

	// Under With: the state of one run, kept for the next one. A run that
	// finds it taken (the same generator under With on two goroutines at
	// once, or nested) makes its own.
	state callback[T]

	// As a coroutine: the sequence iter.Pull runs for every entry, bound
	// once, and what hands it the entry it is starting (see enter).
	seq   iter.Seq[T]
	start *starter[T]

	entered stack[*coroutine[T]]
	leak    *leakTracker // see SetLeakHandler; guarded by entered.mu
}

// runBlock is With over the generator: gen runs on the calling goroutine,
// with a yield that calls body.
func (g *generator[T]) runBlock(_, body any) error {
	cb := &g.state
	n, ok := cb.claim()
	if !ok {
		cb = new(callback[T])
		n, _ = cb.claim()
	}
	defer cb.release(n)
	cb.body = body.(func(T) error)
	// The only object a run allocates, besides a body that captures
	// variables: a yield that knows its run, so that one kept after gen
	// returned runs nothing, even while the state serves a later run.
	r := g.gen(func(v T) error { return cb.yield(n, v) })
	if !cb.yielded {
		return enterError(r)
	}
	final := apply(cb.outcome, genResult(r, cb.extra))
	resume(final, cb.pe)
	return final
}

// callback is the state of one generator run under With.
type callback[T any] struct {
	// run is odd while a run holds the state, and then that run's number;
	// even while the state is free. Each claim and release moves it on, so
	// a number is never used twice.
	run     atomic.Uint64
	body    func(T) error
	outcome error
	pe      *PanicError
	yielded bool
	extra   bool // yield was called again
}

// claim takes cb for a run and returns the run's number, or reports false if
// another run holds it.
func (cb *callback[T]) claim() (uint64, bool) {
	v := cb.run.Load()
	if v&1 != 0 || !cb.run.CompareAndSwap(v, v+1) {
		return 0, false
	}
	return v + 1, true
}

// release frees cb after run n: a yield kept from it finds no run of its own.
func (cb *callback[T]) release(n uint64) {
	cb.body, cb.outcome, cb.pe, cb.yielded, cb.extra = nil, nil, nil, false, false
	cb.run.Store(n + 1)
}

func (cb *callback[T]) yield(n uint64, v T) error {
	if cb.run.Load() != n {
		return ErrExtraYield // kept from a run that ended
	}
	if cb.yielded {
		cb.extra = true
		return ErrExtraYield
	}
	cb.yielded = true
	guard(func() error { return blockOutcome(cb.body(v)) }, func(outcome error, how ending) error {
		cb.outcome = outcome
		if how == panicked {
			cb.pe = outcome.(*PanicError)
		}
		return nil // nothing resumes here: the teardown runs first
	})
	return cb.outcome
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

// enter runs gen as a coroutine up to its yield.
func (g *generator[T]) enter() (*coroutine[T], T, error) {
	c := &coroutine[T]{gen: g.gen}
	g.start.mu.Lock()
	g.start.next = c
	c.next, c.stop = iter.Pull(g.seq)
	v, ok := c.next()
	if !ok {
		return nil, v, enterError(c.r)
	}
	return c, v, nil
}

// starter hands the entry it is starting to the sequence that iter.Pull
// runs, bound once per generator: iter.Pull runs the sequence synchronously
// on the first call of next, and the sequence reads next first thing, under
// the lock that enter took, and unlocks it, so that entries that take long to
// set up do not wait for each other. It is apart from the generator so that
// an entered generator's parked goroutine does not keep the generator
// reachable: a leaked one can then be reported (see SetLeakHandler).
type starter[T any] struct {
	mu   sync.Mutex
	next *coroutine[T]
}

func (st *starter[T]) sequence(out func(T) bool) {
	c := st.next
	st.next = nil
	st.mu.Unlock()
	c.out = out
	c.r = c.gen(c.yield)
}

func (g *generator[T]) bind(any) (T, exiter, error) {
	c, v, err := g.enter()
	return v, c, err
}

func (g *generator[T]) Enter() (T, error) {
	c, v, err := g.enter()
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
	stop    func()
	out     func(T) bool // iter.Pull's yield: parks gen, handing v to next
	outcome error        // the block's outcome, handed to gen's yield by Exit
	r       error        // what gen returned
	yielded bool
	extra   bool // gen called yield again
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
	c.stop()
	return genResult(c.r, c.extra)
}

var (
	_ blockRunner  = (*generator[int])(nil)
	_ binder[int]  = (*generator[int])(nil)
	_ Manager[int] = (*generator[int])(nil)
	_ exiter       = (*coroutine[int])(nil)
)
