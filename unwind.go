package scope

import (
	"context"
	"runtime"
	"slices"
	"sync/atomic"

	"go.uber.org/multierr"
)

// This file is the unwinding engine: how a Scope's exits are stored, taken
// and run, and how owned goroutines and nested scopes take part.

// spinLock guards a Scope's state. It is a word with a version: even while
// unlocked, odd while locked, one more at every lock and unlock, so an
// unwinding can tell, with one load and no lock, that nothing was registered
// since it last looked.
//
// A sync.Mutex would do the same job, but its slow path hands the mutex's
// address to the runtime, which makes every Scope escape to the heap; this
// lock's atomics keep a Scope that does not escape otherwise on the stack.
// The critical sections are a few stores, so a waiter spins briefly, then
// yields its processor until the holder is done. Nothing blocks while holding
// it, and no user code runs under it.
type spinLock struct{ v atomic.Uint32 }

func (l *spinLock) lock() {
	for i := 0; ; i++ {
		if v := l.v.Load(); v&1 == 0 && l.v.CompareAndSwap(v, v+1) {
			return
		}
		if i >= 4 {
			runtime.Gosched()
		}
	}
}

// unlock unlocks l and returns its version, which the next lock changes.
func (l *spinLock) unlock() uint32 { return l.v.Add(1) }

func (l *spinLock) version() uint32 { return l.v.Load() }

// noCopy makes go vet's copylocks check report a copied Scope.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// push registers x. Every exit in s.more is newer than every exit in
// s.inline: inline takes a registration only while more is empty.
func (s *Scope) push(x exiter) {
	s.mu.lock()
	if s.n == 0 && len(s.more) == 0 && leakHandler.Load() != nil {
		s.track()
	}
	if int(s.n) < len(s.inline) && len(s.more) == 0 {
		s.inline[s.n] = x
		s.n++
	} else {
		if len(s.more) == cap(s.more) {
			// Grow by four times, not append's two: a Scope that
			// outgrows its inline room usually holds many exits, and
			// each growth is an allocation and a copy under the lock.
			grown := make([]exiter, len(s.more), max(16, 4*cap(s.more)))
			copy(grown, s.more)
			s.more = grown
		}
		s.more = append(s.more, x)
	}
	s.mu.unlock()
}

// unwinding is one run of the exits of a Scope, the top level, and of the
// Scopes entered into it, which are unwound as part of it when their turn
// comes (see next). Exits run newest first, one at a time, on the goroutine
// that unwinds; no lock is held while an exit runs.
//
// An unwinding lives on the stack of the goroutine that unwinds, and so does
// a Scope that does not escape otherwise. For that, the top Scope is never
// stored in a struct, the unwinding included: the compiler tracks what flows
// where struct by struct, not field by field, and the unwinding holds errors
// that go to the heap. It is passed along as top instead.
type unwinding struct {
	outcome error           // the outcome so far
	ctx     context.Context // for context-aware exits; nil for a plain unwinding
	late    bool            // a context-aware exit ended, or goroutines had to be canceled, after ctx was done
	raised  []*PanicError   // panics of owned goroutines, resumed at the end
	top     level           // top's level
	topDone bool            // top is finished
	nested  []*level        // the nested scopes spliced in, innermost last
}

// level is one Scope being unwound.
//
// Its exits are taken from the Scope in batches, so that the lock is taken
// once for the lot rather than once per exit. The first batch's inline exits,
// the oldest, go to older; everything else goes to pending, newest last.
// pending runs before older: whatever is taken later was registered later.
type level struct {
	s       *Scope // nil for the top level
	pending []exiter
	older   [len(Scope{}.inline)]exiter
	nOlder  int    // how many of older are left
	seen    uint32 // s.mu's version after the last batch was taken
	waited  bool   // s's goroutines were waited for since the last batch
}

// unwind runs every exit of s, newest first, starting from u.outcome, and
// returns the final outcome. u.ctx is the teardown's context, if it has one.
//
// An exit's panic resumes from inside the unwinding, once every exit has run,
// unless the final outcome no longer has it first (see guard); an owned
// goroutine's panic resumes at the end, on the same terms. A panic that
// outcome already holds is left to the caller.
func (s *Scope) unwind(u unwinding) error {
	u.top.seen = begin(s)
	final := u.runExits(s)
	if pe := firstPanic(final); pe != nil && slices.Contains(u.raised, pe) {
		// An owned goroutine panicked and nothing replaced it: the panic
		// resumes here, in the goroutine that unwinds.
		panic(pe.Value)
	}
	if u.late {
		if err := u.ctx.Err(); err != nil && !carries(final, err) {
			final = multierr.Append(final, err)
		}
	}
	return final
}

// run runs the exits until none is left and returns the final outcome. If an
// exit panics or calls Goexit, guard runs the rest of the unwinding inside
// its deferred call, on top of the failing exit's frames: this is the only
// recursion in unwinding, one level per failing exit.
func (u *unwinding) runExits(top *Scope) error {
	return guard(func() error {
		for x := u.next(top); x != nil; x = u.next(top) {
			u.outcome = u.exit(x, u.outcome)
		}
		return u.outcome
	}, func(outcome error, how ending) error {
		if how == returned {
			return outcome
		}
		u.outcome = apply(u.outcome, outcome)
		return u.runExits(top)
	})
}

// exit runs x with the outcome so far and returns the new outcome.
func (u *unwinding) exit(x exiter, outcome error) error {
	if u.ctx != nil {
		if c, ok := x.(ContextExiter); ok {
			r := c.ExitContext(u.ctx, outcome)
			if err := u.ctx.Err(); err != nil {
				// It ended after the deadline: the deadline is reported
				// once, at the end, not by every exit that saw it.
				u.late = true
				r = without(r, err)
			}
			return apply(outcome, r)
		}
	}
	return apply(outcome, x.Exit(outcome))
}

// begin starts an unwinding of s: it waits until no other unwinding of s
// runs, so that unwindings of one Scope run one after the other, each in LIFO
// order, and marks s busy. It returns s.mu's version while locked: the unlock
// changes it, so that the unwinding takes the first batch.
func begin(s *Scope) uint32 {
	s.mu.lock()
	for s.busy {
		idle := s.needExtra().idleChan()
		s.mu.unlock()
		<-idle
		s.mu.lock()
	}
	s.busy = true
	seen := s.mu.version()
	s.mu.unlock()
	return seen
}

// current returns the innermost Scope being unwound, and its level, or nil
// when none is left.
func (u *unwinding) current(top *Scope) (*Scope, *level) {
	if n := len(u.nested); n > 0 {
		return u.nested[n-1].s, u.nested[n-1]
	}
	if u.topDone {
		return nil, nil
	}
	return top, &u.top
}

// next returns the next exit to run, or nil when the unwinding is done. It
// waits for owned goroutines before the exits of their Scope run, takes new
// registrations when the Scope's lock says there are some, and splices in a
// nested Scope when its turn comes.
func (u *unwinding) next(top *Scope) exiter {
	for s, l := u.current(top); s != nil; s, l = u.current(top) {
		if !l.waited {
			u.waitGoroutines(s)
			l.waited = true
		}
		if s.mu.version() != l.seen {
			s.mu.lock()
			l.take(s)
			l.seen = s.mu.unlock()
		}
		if x := l.pop(); x != nil {
			if n, ok := x.(*nested); ok {
				// Its exits run here, as part of this unwinding: their
				// panics resume with this unwinding's, and the nested
				// Scope's final outcome is simply the outcome so far.
				u.splice(top, (*Scope)(n))
				continue
			}
			return x
		}
		if !l.end(s) {
			continue
		}
		if len(u.nested) > 0 {
			u.nested = u.nested[:len(u.nested)-1]
		} else {
			u.topDone = true
		}
	}
	return nil
}

// splice starts unwinding s, a Scope entered into the one being unwound, as
// the innermost level.
func (u *unwinding) splice(top, s *Scope) {
	if s == top {
		panic("scope: a Scope was entered into itself")
	}
	for _, l := range u.nested {
		if l.s == s {
			panic("scope: a Scope was entered into itself")
		}
	}
	u.nested = append(u.nested, &level{s: s, seen: begin(s)})
}

// take moves what is registered in s into l. s.mu must be held.
func (l *level) take(s *Scope) {
	if s.n > 0 {
		if len(l.pending) == 0 && l.nOlder == 0 {
			l.nOlder = copy(l.older[:], s.inline[:s.n])
		} else {
			l.pending = append(l.pending, s.inline[:s.n]...)
		}
		clear(s.inline[:s.n])
		s.n = 0
	}
	if len(s.more) > 0 {
		if len(l.pending) == 0 {
			l.pending = s.more // the array itself: no copy
		} else {
			l.pending = append(l.pending, s.more...)
		}
		s.more = nil
	}
}

// pop removes and returns the newest exit taken, or nil.
func (l *level) pop() exiter {
	if n := len(l.pending); n > 0 {
		x := l.pending[n-1]
		l.pending[n-1] = nil
		l.pending = l.pending[:n-1]
		return x
	}
	if l.nOlder > 0 {
		l.nOlder--
		x := l.older[l.nOlder]
		l.older[l.nOlder] = nil
		return x
	}
	return nil
}

// end finishes l's Scope when nothing is left to do in it: no exit registered
// since the last batch, and no owned goroutine running or unreported. It
// reports false, and leaves the Scope busy, when there is.
func (l *level) end(s *Scope) bool {
	s.mu.lock()
	if s.n > 0 || len(s.more) > 0 {
		s.mu.unlock() // new registrations: next takes them
		return false
	}
	if ex := s.extra; ex != nil {
		if ex.group != nil && !ex.group.done() {
			s.mu.unlock()
			l.waited = false // started during the unwinding: wait for them
			return false
		}
		ex.group = nil // the next Go starts a group with a fresh context
		untrack(ex.leak)
		if ex.idle != nil {
			close(ex.idle)
			ex.idle = nil
		}
	}
	s.busy = false
	s.mu.unlock()
	return true
}

// waitGoroutines waits for the goroutines s owns, if any, and adds their
// failures to the outcome. When the outcome is already a failure it cancels
// them first; otherwise it lets them finish, as errgroup.Wait and Python's
// TaskGroup do. A deadline in the unwinding's context bounds the wait: past
// it the goroutines are canceled and waited for, and the deadline is
// reported.
func (u *unwinding) waitGoroutines(s *Scope) {
	s.mu.lock()
	var g *group
	if s.extra != nil {
		g = s.extra.group
	}
	s.mu.unlock()
	if g == nil {
		return
	}
	if u.outcome != nil {
		g.cancel(errUnwinding)
	}
	if !g.wait(u.ctx) {
		u.late = true
		g.cancel(errUnwinding)
		g.waitAll()
	}
	for _, err := range g.unreported() {
		if pe, ok := err.(*PanicError); ok {
			u.raised = append(u.raised, pe)
		}
		u.outcome = include(u.outcome, err)
	}
}
