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

// spinLock guards a Scope's state. It is one word: a locked bit, the busy bit
// (an unwinding of the Scope is running), and a version that every unlock
// moves on. So an unwinding can tell with one load, and no lock, that
// nothing was registered since it last looked, and end with one
// compare-and-swap when nothing was.
//
// A sync.Mutex would do the job of the locked bit, but its slow path hands
// the mutex's address to the runtime, which makes every Scope escape to the
// heap; this lock's atomics keep a Scope that does not escape otherwise on
// the stack. The critical sections are a few stores, so a waiter spins
// briefly, then yields its processor until the holder is done. Nothing
// blocks while holding it, and no user code runs under it.
type spinLock struct{ v atomic.Uint32 }

const (
	lockedBit   = 1
	busyBit     = 2
	versionStep = 4
)

func (l *spinLock) lock() {
	for i := 0; ; i++ {
		if v := l.v.Load(); v&lockedBit == 0 && l.v.CompareAndSwap(v, v|lockedBit) {
			return
		}
		if i >= 4 {
			runtime.Gosched()
		}
	}
}

// unlock unlocks l and returns the new word, whose version the next lock
// changes.
func (l *spinLock) unlock() uint32 { return l.v.Add(versionStep - lockedBit) }

// word returns l's word: compared with one unlock returned, it tells whether
// anything locked l since.
func (l *spinLock) word() uint32 { return l.v.Load() }

// busy reports whether an unwinding runs; l must be locked.
func (l *spinLock) busy() bool { return l.v.Load()&busyBit != 0 }

// unlockBusy unlocks l and sets (+busyBit) or clears (-busyBit) the busy bit
// in the same instruction. l must be locked, and busy the other way.
func (l *spinLock) unlockBusy(change int32) uint32 {
	return l.v.Add(uint32(versionStep - lockedBit + change))
}

// endBusy clears the busy bit without locking, if l's word is still seen:
// nobody locked l since seen was returned by unlock.
func (l *spinLock) endBusy(seen uint32) bool {
	return l.v.CompareAndSwap(seen, seen-busyBit+versionStep)
}

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
	seen    uint32 // s.mu's word after the last batch was taken
	plain   bool   // s had no extra then: no goroutines, no leak tracking, nobody waiting
	group   *group // s's goroutines then
	waited  bool   // the goroutines were waited for since
}

// unwind runs every exit of s, newest first, starting from outcome, and
// returns the final outcome.
//
// An exit's panic resumes from inside the unwinding, once every exit has run,
// unless the final outcome no longer has it first (see guard); an owned
// goroutine's panic resumes at the end, on the same terms. A panic that
// outcome already holds is left to the caller.
func (s *Scope) unwind(outcome error) error {
	u := unwinding{outcome: outcome}
	return s.unwindWith(&u)
}

// unwindContext is unwind with ctx as the teardown's context.
func (s *Scope) unwindContext(ctx context.Context, outcome error) error {
	u := unwinding{outcome: outcome, ctx: ctx}
	return s.unwindWith(&u)
}

func (s *Scope) unwindWith(u *unwinding) error {
	u.top.begin(s)
	final := u.runExits(s)
	if len(u.raised) > 0 && slices.Contains(u.raised, firstPanic(final)) {
		// An owned goroutine panicked and nothing replaced it: the panic
		// resumes here, in the goroutine that unwinds.
		panic(firstPanic(final).Value)
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

// begin starts unwinding s at l: it waits until no other unwinding of s
// runs, so that unwindings of one Scope run one after the other, each in LIFO
// order, marks s busy and takes the first batch.
func (l *level) begin(s *Scope) {
	s.mu.lock()
	for s.mu.busy() {
		idle := s.needExtra().idleChan()
		s.mu.unlock()
		<-idle
		s.mu.lock()
	}
	l.take(s)
	l.seen = s.mu.unlockBusy(+busyBit)
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
		if s.mu.word() != l.seen {
			s.mu.lock()
			l.take(s)
			l.seen = s.mu.unlock()
		}
		if !l.waited {
			// No exit runs while a goroutine of s runs: also one that an
			// exit or another goroutine started during the unwinding.
			if l.group != nil {
				u.waitGoroutines(l.group)
			}
			l.waited = true
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
	l := &level{s: s}
	l.begin(s)
	u.nested = append(u.nested, l)
}

// take moves what is registered in s into l, and notes s's goroutines. s.mu
// must be held.
func (l *level) take(s *Scope) {
	l.plain = s.extra == nil
	if g := s.group(); g != nil && (g != l.group || !g.done()) {
		l.group, l.waited = g, false
	}
	if s.n > 0 {
		if len(l.pending) == 0 && l.nOlder == 0 {
			// Element by element: for at most four, cheaper than the
			// runtime's copy and clear.
			for i := range s.n {
				l.older[i], s.inline[i] = s.inline[i], nil
			}
			l.nOlder = int(s.n)
		} else {
			l.pending = append(l.pending, s.inline[:s.n]...)
			clear(s.inline[:s.n])
		}
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
	if l.plain && s.mu.endBusy(l.seen) {
		return true // the common case: one compare-and-swap
	}
	s.mu.lock()
	if s.n > 0 || len(s.more) > 0 {
		l.take(s) // registered meanwhile: they run next
		l.seen = s.mu.unlock()
		return false
	}
	if ex := s.extra; ex != nil {
		if ex.group != nil && !ex.group.done() {
			// Started during the unwinding: wait for them.
			l.group, l.waited = ex.group, false
			l.seen = s.mu.unlock()
			return false
		}
		ex.group = nil // the next Go starts a group with a fresh context
		untrack(ex.leak)
		if ex.idle != nil {
			close(ex.idle)
			ex.idle = nil
		}
	}
	s.mu.unlockBusy(-busyBit)
	return true
}

// waitGoroutines waits for the goroutines s owns, if any, and adds their
// failures to the outcome. When the outcome is already a failure it cancels
// them first; otherwise it lets them finish, as errgroup.Wait and Python's
// TaskGroup do. A deadline in the unwinding's context bounds the wait: past
// it the goroutines are canceled and waited for, and the deadline is
// reported.
func (u *unwinding) waitGoroutines(g *group) {
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
