package scope

import (
	"context"
	"errors"
	"sync"

	"go.uber.org/multierr"
)

// New returns an empty Scope whose goroutines ([Scope.Go]) get contexts
// derived from ctx: canceling ctx is how long-running goroutines (an accept
// loop, a worker) are told to stop. A zero Scope's goroutines get contexts
// derived from context.Background(). New panics if ctx is nil.
func New(ctx context.Context) *Scope {
	if ctx == nil {
		panic("scope: New called with a nil Context")
	}
	return &Scope{extra: &extra{goCtx: ctx}}
}

// errUnwinding and errSiblingFailed are the causes with which a Scope cancels
// the context of its goroutines.
var (
	errUnwinding     = errors.New("scope: the scope is unwinding after a failure, or its teardown's deadline passed")
	errSiblingFailed = errors.New("scope: another goroutine of the scope failed")
)

// group is the goroutines a Scope owns between two unwindings.
type group struct {
	ctx           context.Context
	cancel        context.CancelCauseFunc
	sem           chan struct{} // nil: no limit
	cancelOnError bool

	mu       sync.Mutex
	running  int
	idle     chan struct{} // closed when running drops to 0; made by a waiter
	errs     []error       // in the order the goroutines failed
	reported int           // how many of errs an unwinding has added to its outcome
}

// Go runs fn in a new goroutine that s owns, like Python's
// TaskGroup.create_task: s does not run any exit until fn has returned.
//
// An unwinding of s first waits for every goroutine s owns, then runs the
// exits, newest first, so a goroutine may use any resource entered in s
// before it started. How it waits depends on the outcome, as with Python's
// TaskGroup and errgroup:
//
//   - a nil outcome (the block succeeded) waits for the goroutines to finish,
//     without canceling them;
//   - a failure (an error, a panic, a Goexit) cancels their context, then
//     waits.
//
// So a goroutine that runs until told to stop (an accept loop, a worker) must
// be stopped in one of two ways: by canceling the context given to [New], or
// by a teardown with a deadline ([Scope.CloseContext], [Scope.CloseTimeout],
// [Scope.ExitContext]), which waits until the deadline, then cancels the
// goroutines and waits for them, as http.Server.Shutdown does for its
// connections, and reports the deadline. [Scope.Wait] waits for the
// goroutines without unwinding.
//
// fn's context is also canceled as soon as any goroutine of s fails, unless
// [Scope.SetCancelOnError] turned that off, as TaskGroup and
// errgroup.WithContext do. fn must return once its context is canceled, and
// must not unwind s itself: the unwinding would wait for it for ever.
// Goroutines started by fn, or by an exit, during the unwinding are owned
// and waited for too: no exit runs while any of them is running.
//
// Every error the goroutines return joins the outcome, in the order they
// failed, not only the first (errgroup keeps one), before any exit runs: a
// transaction in s rolls back when a goroutine failed. A goroutine's
// context.Canceled that s itself caused (by unwinding after a failure, by
// its deadline, or after a sibling failed) is not an error and is not
// reported.
//
// A panic in fn is recovered in its goroutine, cancels the other goroutines
// whatever SetCancelOnError says, and joins the outcome as a [*PanicError]
// whose Stack is the panicking goroutine's. Unless an exit replaces it, the
// unwinding goroutine then panics again with the original value, as [With]
// does for a block's panic. It is not turned into a mere error, which would
// hide a bug, nor re-panicked from the goroutine, which would crash the
// process before the scope's teardown ran. A Goexit in fn (a t.FailNow)
// joins the outcome as [ErrGoexit].
//
// If a limit is set ([Scope.SetLimit]), Go blocks until a goroutine slot is
// free. Go panics at once if s or fn is nil.
func (s *Scope) Go(fn func(ctx context.Context) error) {
	if s == nil {
		panic("scope: Scope.Go called on a nil *Scope")
	}
	if fn == nil {
		panic("scope: Scope.Go called with a nil func")
	}
	g := s.startGoroutine()
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	go func() {
		defer g.finished()
		if g.sem != nil {
			defer func() { <-g.sem }()
		}
		guard(func() error { return blockOutcome(fn(g.ctx)) }, g.record)
	}()
}

// startGoroutine returns s's current group, made if needed, with one more
// goroutine counted in it. Counting under s.mu is what lets an unwinding
// decide, under the same lock, that no goroutine is left.
func (s *Scope) startGoroutine() *group {
	s.mu.lock()
	defer s.mu.unlock()
	ex := s.needExtra()
	if ex.group == nil {
		parent := ex.goCtx
		if parent == nil {
			parent = context.Background()
		}
		g := &group{cancelOnError: !ex.keepGoing}
		g.ctx, g.cancel = context.WithCancelCause(parent)
		if ex.limit > 0 {
			g.sem = make(chan struct{}, ex.limit)
		}
		ex.group = g
	}
	g := ex.group
	g.mu.Lock()
	g.running++
	g.mu.Unlock()
	return g
}

// Wait waits for the goroutines started with [Scope.Go] (and those they
// start meanwhile) to return, like errgroup.Wait, and returns their failures
// combined, in the order they happened, or nil. It neither cancels the
// goroutines nor runs any exit.
//
// Wait does not consume what it returns: the next unwinding of s still adds
// those failures to its outcome, so that a transaction entered in s rolls
// back even when the caller drops Wait's error; an outcome that already holds
// a failure (the block returned what Wait returned) does not get it twice. A
// goroutine's panic is returned as a [*PanicError] and, as for [Scope.Go],
// resumes when s unwinds unless an exit replaces it.
//
// Wait panics if s is nil.
func (s *Scope) Wait() error {
	if s == nil {
		panic("scope: Scope.Wait called on a nil *Scope")
	}
	s.mu.lock()
	g := s.group()
	s.mu.unlock()
	if g == nil {
		return nil
	}
	g.waitAll()
	g.mu.Lock()
	defer g.mu.Unlock()
	return multierr.Combine(g.errs...)
}

// SetLimit limits the goroutines of s running at once to n; a negative n
// removes the limit, as in errgroup. It takes effect for the goroutines
// started after the next unwinding if some are running now.
//
// SetLimit panics if n is 0: errgroup takes it as "no goroutine may start",
// which here would make the next Go block for ever.
func (s *Scope) SetLimit(n int) {
	if s == nil {
		panic("scope: Scope.SetLimit called on a nil *Scope")
	}
	if n == 0 {
		panic("scope: Scope.SetLimit called with 0: Go would block for ever; a negative n removes the limit")
	}
	s.mu.lock()
	s.needExtra().limit = n
	s.mu.unlock()
}

// SetCancelOnError sets whether the first goroutine of s to fail cancels the
// context of the others: true, the default, as Python's TaskGroup and
// errgroup.WithContext do; false, as a plain errgroup.Group, where the others
// run on until s unwinds. A panic always cancels them. It takes effect for
// the goroutines started after the next unwinding if some are running now.
func (s *Scope) SetCancelOnError(cancel bool) {
	if s == nil {
		panic("scope: Scope.SetCancelOnError called on a nil *Scope")
	}
	s.mu.lock()
	s.needExtra().keepGoing = !cancel
	s.mu.unlock()
}

// record is how one owned goroutine ended (guard's after).
func (g *group) record(outcome error, how ending) error {
	switch {
	case outcome == nil:
		return nil
	case how == returned && errors.Is(outcome, context.Canceled):
		if cause := context.Cause(g.ctx); cause == errUnwinding || cause == errSiblingFailed {
			return nil // the scope canceled it: not a failure of its own
		}
	}
	g.mu.Lock()
	g.errs = append(g.errs, outcome)
	g.mu.Unlock()
	if how != returned || g.cancelOnError {
		g.cancel(errSiblingFailed)
	}
	return nil // nothing resumes in the goroutine: the unwinding does
}

func (g *group) finished() {
	g.mu.Lock()
	g.running--
	if g.running == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// waitAll waits until no goroutine of g runs.
func (g *group) waitAll() {
	var never context.Context // nil: wait takes it as no deadline
	g.wait(never)
}

// wait waits until no goroutine of g runs, or ctx is done (nil: never), and
// reports whether none runs.
func (g *group) wait(ctx context.Context) bool {
	for {
		g.mu.Lock()
		if g.running == 0 {
			g.mu.Unlock()
			return true
		}
		if g.idle == nil {
			g.idle = make(chan struct{})
		}
		idle := g.idle
		g.mu.Unlock()
		if ctx == nil {
			<-idle
			continue
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return false
		}
	}
}

// unreported returns the failures no unwinding has added to its outcome yet.
func (g *group) unreported() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	errs := g.errs[g.reported:]
	g.reported = len(g.errs)
	return errs
}

// done reports whether every goroutine of g returned and was reported.
func (g *group) done() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running == 0 && g.reported == len(g.errs)
}
