package scope

import (
	"context"
	"errors"
	"sync"
)

// New returns an empty Scope whose goroutines ([Scope.Go]) get contexts
// derived from ctx. A zero Scope's goroutines get contexts derived from
// context.Background().
func New(ctx context.Context) *Scope {
	if ctx == nil {
		panic("scope: New called with a nil Context")
	}
	return &Scope{x: &extra{goCtx: ctx}}
}

// errUnwinding and errSiblingFailed are the causes with which a Scope cancels
// the context of its goroutines.
var (
	errUnwinding     = errors.New("scope: the scope is unwinding")
	errSiblingFailed = errors.New("scope: another goroutine of the scope failed")
)

// group is the goroutines a Scope owns between two unwindings.
type group struct {
	ctx       context.Context
	cancel    context.CancelCauseFunc
	wg        sync.WaitGroup
	sem       chan struct{} // nil: no limit
	keepGoing bool

	mu   sync.Mutex
	errs []error // in the order the goroutines failed
}

// Go runs fn in a new goroutine that s owns, like Python's
// TaskGroup.create_task: s does not finish unwinding until fn has returned.
//
// fn gets a context that is canceled when s starts unwinding, and, unless
// [Scope.SetCancelOnError] turned it off, as soon as any goroutine of s fails,
// as TaskGroup and errgroup.WithContext do. Unwinding first cancels that
// context and waits for every goroutine s owns, then runs the exits, newest
// first: so a goroutine may use any resource entered in s before it started.
// fn must return once its context is canceled, or unwinding waits for ever;
// for the same reason fn must not unwind s itself.
//
// Every error the goroutines return joins the outcome, in the order they
// failed, not only the first (errgroup keeps one). A goroutine's
// context.Canceled that s itself caused, by unwinding or after a sibling
// failed, is not an error and is not reported.
//
// A panic in fn is recovered in its goroutine, cancels the other goroutines
// whatever SetCancelOnError says, and joins the outcome as a [*PanicError]
// whose Stack is the panicking goroutine's. Unless an exit replaces it, the
// unwinding goroutine then panics again with the original value, as [With]
// does for a block's panic. It is not turned into a mere error, which would
// hide a bug, nor re-panicked from the goroutine, which would crash the
// process before the scope's teardown ran; and the owner learns of it only
// when it unwinds, never by waiting on a channel that a panicked goroutine
// will not close (the deadlock that made errgroup withdraw its own panic
// propagation). A Goexit in fn (a t.FailNow) joins the outcome as
// [ErrGoexit].
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
		defer g.wg.Done()
		if g.sem != nil {
			defer func() { <-g.sem }()
		}
		g.run(fn)
	}()
}

// startGoroutine returns s's current group, made if needed, with one more
// goroutine counted in it. Counting under s.mu is what lets waitGroup
// detach the group and wait for it without missing a goroutine.
func (s *Scope) startGoroutine() *group {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.extra()
	if x.group == nil {
		parent := x.goCtx
		if parent == nil {
			parent = context.Background()
		}
		g := &group{keepGoing: x.keepGoing}
		g.ctx, g.cancel = context.WithCancelCause(parent)
		if x.limit > 0 {
			g.sem = make(chan struct{}, x.limit)
		}
		x.group = g
		s.grouped.Store(true)
	}
	x.group.wg.Add(1)
	return x.group
}

// SetLimit limits the goroutines of s running at once to n; a negative n
// removes the limit. It takes effect for the goroutines started after the
// next unwinding if some are running now.
func (s *Scope) SetLimit(n int) {
	if s == nil {
		panic("scope: Scope.SetLimit called on a nil *Scope")
	}
	s.mu.Lock()
	s.extra().limit = n
	s.mu.Unlock()
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
	s.mu.Lock()
	s.extra().keepGoing = !cancel
	s.mu.Unlock()
}

// run runs one owned goroutine's fn and records how it ended.
func (g *group) run(fn func(ctx context.Context) error) {
	normal := false
	defer func() {
		if normal {
			return
		}
		if p := recover(); p != nil {
			g.fail(newPanicError(p), true)
			return
		}
		g.fail(ErrGoexit, true)
	}()
	err := fn(g.ctx)
	normal = true
	if err == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		if cause := context.Cause(g.ctx); cause == errUnwinding || cause == errSiblingFailed {
			return // the scope canceled it: not a failure of its own
		}
	}
	g.fail(err, false)
}

func (g *group) fail(err error, always bool) {
	g.mu.Lock()
	g.errs = append(g.errs, err)
	g.mu.Unlock()
	if always || !g.keepGoing {
		g.cancel(errSiblingFailed)
	}
}

// waitGroup cancels and waits for the goroutines s owns, if any, and adds
// their errors to outcome. It returns the panics among them, whether there
// was a group, and the new outcome.
func (s *Scope) waitGroup(outcome error) ([]*PanicError, bool, error) {
	if !s.grouped.Load() {
		return nil, false, outcome // the common case: no lock taken
	}
	s.mu.Lock()
	g := s.x.group
	s.x.group = nil
	s.grouped.Store(false)
	s.mu.Unlock()
	if g == nil {
		return nil, false, outcome
	}
	g.cancel(errUnwinding)
	g.wg.Wait()
	var raised []*PanicError
	for _, err := range g.errs {
		if pe, ok := err.(*PanicError); ok {
			raised = append(raised, pe)
		}
		outcome = settle(outcome, err)
	}
	return raised, true, outcome
}
