package scope

import (
	"context"
	"errors"
	"io"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Scope is a stack of exits that unwinds last-in-first-out: Python's ExitStack.
//
// A zero Scope is empty and ready to use. A Scope must not be copied after
// first use. All its methods are safe for concurrent use by multiple
// goroutines, and every exit registered runs exactly once, in whichever
// unwinding finds it first (Python's ExitStack is not safe for concurrent use).
// Two unwindings at once share the exits between them, so a Close may return
// while another goroutine's Close is still running exits it took.
//
// Unwinding ([Scope.Close], [Scope.Exit], [Scope.Unwind]) runs the exits
// newest first. Each exit sees the current outcome, as changed by the exits
// that ran before it, and its result changes the outcome by the rules in the
// package documentation. An exit registered during the unwinding (by an exit,
// or by another goroutine) runs in that same unwinding, next. An exit that
// panics or calls [runtime.Goexit] does not stop the unwinding: the remaining
// exits run, seeing a [*PanicError] or [ErrGoexit], and then the panic or
// Goexit resumes, with its original value, unless an exit replaced the
// outcome. When several panics happen, the earliest one resumes. Unwinding is
// a loop: a Scope with 100,000 exits unwinds in constant stack space.
//
// After unwinding, the Scope is empty and can be used again; closing an empty
// Scope does nothing and returns nil.
//
// A *Scope is itself a Manager[*Scope]: used by [With], or entered into an
// outer Scope with [Enter], its final outcome replaces the block's outcome as
// is, so a suppression or substitution made inside it reaches the outer block,
// as an ExitStack inside a with statement does. The same holds for a type that
// embeds a Scope and uses its Exit method. Registering the method value
// (s.Push(inner.Exit)) makes an ordinary exit instead, whose result follows the
// rules.
//
// A Scope can also own goroutines ([Scope.Go]), which it cancels and waits
// for before running any exit, and give its whole teardown one deadline
// ([Scope.CloseContext]).
//
// A Scope is 128 bytes. Its first four exits live inside it, so a Scope of up
// to four exits allocates nothing beyond itself; registering and running an
// exit costs one uncontended lock and a few calls, about 25 to 40 ns. See
// BENCHMARKS.md.
type Scope struct {
	mu     sync.Mutex
	inline [4]exiter // the oldest exits, so that small scopes do not allocate
	more   []exiter  // the newer exits once inline is full, oldest first
	n      int32     // how many of inline are in use
	// newer is len(more), readable without mu: an unwinding checks it after
	// every exit for registrations newer than what it took.
	newer   atomic.Int32
	grouped atomic.Bool // x != nil && x.group != nil, readable without mu
	x       *extra      // what few scopes use, allocated on first use
}

// extra is the part of a Scope that most scopes never use: kept out of line
// so that a Scope stays small.
type extra struct {
	// The panic s's last unwinding resumed, with its final outcome: see
	// repanic.
	lastPanic *PanicError
	lastFinal error

	leak *leakTracker // see SetLeakHandler

	// Owned goroutines: see Go.
	group     *group
	goCtx     context.Context
	limit     int
	keepGoing bool
}

// extra returns s.x, allocating it if needed. s.mu must be held.
func (s *Scope) extra() *extra {
	if s.x == nil {
		s.x = new(extra)
	}
	return s.x
}

// replacer marks a Manager whose Exit returns the final outcome itself, to be
// taken as is: *Scope, and any type that embeds one.
type replacer interface{ replacesOutcome() }

func (s *Scope) replacesOutcome() {}

// Enter enters m and registers its Exit in s, returning the value m.Enter
// returned: Python's ExitStack.enter_context.
//
// If m.Enter fails, Enter registers nothing and returns its error. A [Func] or
// [Generator] manager is registered with its own entered value or coroutine,
// so one such manager may be entered into many scopes at once.
//
// Enter panics at once if s or m is nil.
func Enter[T any](s *Scope, m Manager[T]) (T, error) {
	if s == nil {
		panic("scope: Enter called with a nil *Scope")
	}
	if m == nil {
		panic("scope: Enter called with a nil Manager")
	}
	var (
		v   T
		err error
		x   exiter
	)
	switch m := m.(type) {
	case *generator[T]:
		var c *coroutine[T]
		c, v, err = m.start()
		x = c
	case *funcManager[T]:
		v, err = m.enter()
		x = &boundFunc[T]{exit: m.exit, v: v}
	case *boundManager[T]:
		v, x, err = m.enter()
	default:
		v, err = m.Enter()
		x = m
	}
	if err != nil {
		return v, err
	}
	s.push(x)
	return v, nil
}

// ExitFunc adapts a function to an exit: Exit(err) calls f(err).
type ExitFunc func(err error) error

// Exit calls f(err).
func (f ExitFunc) Exit(err error) error { return f(err) }

// deferFunc is an exit that does not look at the outcome.
type deferFunc func() error

func (f deferFunc) Exit(error) error { return f() }

// Push registers exit to run when s unwinds: Python's ExitStack.push. exit
// receives the outcome and its result follows the rules in the package
// documentation.
//
// Push panics at once if s or exit is nil.
func (s *Scope) Push(exit func(err error) error) {
	if s == nil {
		panic("scope: Scope.Push called on a nil *Scope")
	}
	if exit == nil {
		panic("scope: Scope.Push called with a nil func")
	}
	s.push(ExitFunc(exit))
}

// Defer registers fn to run when s unwinds, without seeing the outcome:
// Python's ExitStack.callback. The error fn returns is added to the outcome.
//
// Defer panics at once if s or fn is nil.
func (s *Scope) Defer(fn func() error) {
	if s == nil {
		panic("scope: Scope.Defer called on a nil *Scope")
	}
	if fn == nil {
		panic("scope: Scope.Defer called with a nil func")
	}
	s.push(deferFunc(fn))
}

// push registers x. Every exit in more is newer than every exit in inline:
// inline takes a registration only while more is empty.
func (s *Scope) push(x exiter) {
	s.mu.Lock()
	if s.n == 0 && len(s.more) == 0 && leakHandler.Load() != nil {
		track(s, &s.extra().leak, "Scope")
	}
	if int(s.n) < len(s.inline) && len(s.more) == 0 {
		s.inline[s.n] = x
		s.n++
		s.mu.Unlock()
		return
	}
	if len(s.more) == cap(s.more) {
		// Grow by four times, not append's two: a Scope that outgrows its
		// inline room usually holds many exits, and each growth is an
		// allocation and a copy under the lock.
		grown := make([]exiter, len(s.more), max(16, 4*cap(s.more)))
		copy(grown, s.more)
		s.more = grown
	}
	s.more = append(s.more, x)
	s.newer.Store(int32(len(s.more)))
	s.mu.Unlock()
}

// Move transfers every exit registered in s to a new Scope and returns it,
// leaving s empty: Python's ExitStack.pop_all. It is how a constructor that
// acquired several resources hands them to its result once all succeeded.
//
// Exits that an unwinding of s in progress has already taken are not moved,
// and neither are the goroutines started with [Scope.Go]: they stay owned by
// s. Move panics at once if s is nil.
func (s *Scope) Move() *Scope {
	if s == nil {
		panic("scope: Scope.Move called on a nil *Scope")
	}
	t := new(Scope)
	s.mu.Lock()
	t.inline, t.n, t.more = s.inline, s.n, s.more
	t.newer.Store(int32(len(t.more)))
	s.inline, s.n, s.more = [4]exiter{}, 0, nil
	s.newer.Store(0)
	if s.x != nil {
		untrack(s.x.leak)
	}
	s.mu.Unlock()
	if t.n > 0 && leakHandler.Load() != nil {
		track(t, &t.extra().leak, "Scope")
	}
	return t
}

// Close unwinds s with a nil starting outcome and returns the final outcome:
// Python's ExitStack.close. It makes *Scope an io.Closer.
func (s *Scope) Close() error {
	return s.Exit(nil)
}

// Enter returns s itself, so that *Scope is a Manager[*Scope]:
//
//	err := scope.With(new(scope.Scope), func(s *scope.Scope) error { ... })
func (s *Scope) Enter() (*Scope, error) {
	if s == nil {
		panic("scope: Scope.Enter called on a nil *Scope")
	}
	return s, nil
}

// Exit unwinds s with err as the starting outcome and returns the final
// outcome. An exit's panic or Goexit resumes from inside Exit once every exit
// has run, unless replaced; a panic that err already holds is left to the
// caller.
func (s *Scope) Exit(err error) error {
	if s == nil {
		panic("scope: Scope.Exit called on a nil *Scope")
	}
	return s.unwind(blockOutcome(err))
}

// Unwind unwinds s when the function that deferred it returns, with the
// function's outcome as the starting outcome, and stores the final outcome in
// *errp:
//
//	func run() (err error) {
//		var s scope.Scope
//		defer s.Unwind(&err)
//		...
//	}
//
// The starting outcome is *errp when the function returned, a [*PanicError]
// when it panicked, and [ErrGoexit] when it called [runtime.Goexit] (as
// t.FailNow does), so a transaction in the scope rolls back rather than commits
// on either. If the final outcome still holds the function's panic, Unwind
// panics again with the original value from inside the deferred call, so the
// crash output keeps the frames that panicked; if an exit replaced it, the
// function returns normally with the final outcome.
//
// Unwind must be called directly by a defer statement, as shown: recover only
// works there. Called from a deferred closure instead, it cannot recover a
// panic in flight; it then unwinds with a *PanicError whose Value says so, so
// that no exit mistakes the panic for success, and the panic goes on.
//
// Go gives a deferred call no public way to tell a Goexit from a normal
// return (recover returns nil for both), so when there is no panic Unwind
// looks at its caller's frame: during a Goexit the function that calls the
// deferred functions is runtime.Goexit itself, on a normal return it is the
// function that deferred. This relies on runtime.Callers leaving out the
// wrappers the compiler makes for deferred calls, as it has since Go 1.12 and
// still does, and a test pins it. Asking for that frame costs about half a
// microsecond; With(new(Scope), ...) and a plain Close do not pay it. See
// BENCHMARKS.md.
//
// Unwind panics if s is nil. If errp is nil it still unwinds s, then panics,
// since it would have nowhere to store the final outcome.
func (s *Scope) Unwind(errp *error) {
	if s == nil {
		panic("scope: Scope.Unwind called on a nil *Scope")
	}
	p := recover()
	var (
		outcome error
		pe      *PanicError
	)
	switch {
	case p != nil:
		pe = newPanicError(p)
		outcome = pe
	default:
		switch unwoundBy() {
		case "runtime.Goexit":
			outcome = ErrGoexit
		case "runtime.gopanic":
			// A panic is in flight, but Unwind was not deferred directly,
			// so recover could not take it. The exits must not mistake
			// that for success; the panic goes on by itself afterwards.
			outcome = &PanicError{Value: errUnseenPanic, Stack: debug.Stack()}
		default:
			if errp != nil {
				outcome = *errp
			}
		}
	}
	final := s.unwind(blockOutcome(outcome))
	if pe != nil && holds(final, pe) {
		if errp != nil {
			*errp = final
		}
		panic(p)
	}
	if errp == nil {
		panic("scope: Scope.Unwind called with a nil *error")
	}
	*errp = final
}

// errUnseenPanic is the panic value exits see when Unwind runs during a panic
// it could not recover, because it was not deferred directly.
var errUnseenPanic = errors.New("scope: a panic is in flight (Unwind was not deferred directly, so its value is unknown)")

// unwoundBy returns "runtime.Goexit" or "runtime.gopanic" when that runtime
// function runs the deferred call that called Unwind, and "" on a normal
// return. It looks at the function that deferred Unwind, and, when that is a
// deferred closure that called Unwind itself, at the closure's caller.
// runtime.Callers leaves out the wrapper the compiler makes for
// defer s.Unwind(&err).
func unwoundBy() string {
	var pcs [2]uintptr
	// Skip runtime.Callers, unwoundBy and Unwind.
	if runtime.Callers(3, pcs[:1]) == 0 {
		return ""
	}
	switch frameKindOf(pcs[0]) {
	case frameGoexit:
		return "runtime.Goexit"
	case frameGopanic:
		return "runtime.gopanic"
	case frameClosure:
		if runtime.Callers(3, pcs[:]) < 2 {
			return ""
		}
		switch frameKindOf(pcs[1]) {
		case frameGoexit:
			return "runtime.Goexit"
		case frameGopanic:
			return "runtime.gopanic"
		}
	}
	return ""
}

type frameKind uint64

const (
	frameOther frameKind = iota
	frameClosure
	frameGoexit
	frameGopanic
)

// frameKinds caches frameKindOf by return address: a lookup by name costs
// more than the rest of Unwind. Each slot holds a PC with its kind in the
// top two bits (user-space addresses are far smaller); a slot is written
// whole, so a reader sees an old entry or a new one, never half of each.
var frameKinds [256]atomic.Uint64

func frameKindOf(pc uintptr) frameKind {
	const kindShift = 62
	slot := &frameKinds[(pc>>2)%uintptr(len(frameKinds))]
	if v := slot.Load(); v != 0 && uintptr(v&(1<<kindShift-1)) == pc {
		return frameKind(v >> kindShift)
	}
	kind := frameOther
	if f := runtime.FuncForPC(pc - 1); f != nil { // pc is a return address
		switch name := f.Name(); {
		case name == "runtime.Goexit":
			kind = frameGoexit
		case name == "runtime.gopanic":
			kind = frameGopanic
		case isDeferredClosure(name):
			kind = frameClosure
		}
	}
	if uint64(pc)>>kindShift == 0 {
		slot.Store(uint64(pc) | uint64(kind)<<kindShift)
	}
	return kind
}

// isDeferredClosure reports whether name is a function literal's, the shape
// of defer func() { s.Unwind(&err) }().
func isDeferredClosure(name string) bool {
	// Closures are named pkg.Outer.func1, and closures within them
	// pkg.Outer.func1.2.
	for {
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return false
		}
		last := name[i+1:]
		if strings.HasPrefix(last, "func") && allDigits(last[len("func"):]) {
			return true
		}
		if !allDigits(last) {
			return false
		}
		name = name[:i]
	}
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// unwind runs every exit in s, newest first, and returns the final outcome.
func (s *Scope) unwind(outcome error) error {
	return unwinding{s: s}.do(outcome)
}

// do runs the unwinding. The goroutines s owns are canceled and waited for
// first; their errors join the outcome before any exit runs.
func (u unwinding) do(outcome error) error {
	s := u.s
	u.raised, _, outcome = s.waitGroup(outcome)
	final := u.run(outcome)
	for {
		// An exit may have started goroutines in s: they end before s
		// does, and the exits they registered run.
		var (
			raised []*PanicError
			had    bool
		)
		raised, had, final = s.waitGroup(final)
		if !had {
			break
		}
		u.raised = append(u.raised, raised...)
		final = u.run(final)
	}
	if pe := firstPanic(final); pe != nil && slices.Contains(u.raised, pe) {
		// An owned goroutine panicked and nothing replaced it: the panic
		// resumes here, in the goroutine that unwinds.
		s.repanic(pe, final)
	}
	return final
}

// unwinding is one run of a Scope's exits. Exits held inline in the Scope are
// popped one by one; the ones beyond are taken whole, one lock for the lot
// rather than one per exit. After each exit it checks whether a newer one was
// registered meanwhile: that one runs next.
type unwinding struct {
	s      *Scope
	batch  []exiter        // taken from s; runs from the end
	ctx    context.Context // for context-aware exits; nil for a plain unwinding
	raised []*PanicError   // panics of owned goroutines, resumed at the end
}

// run runs the exits and returns the final outcome.
//
// One deferred call covers the whole loop. If an exit panics or calls Goexit,
// the deferred call runs the rest of the unwinding, on top of the failing
// exit's frames, and the panic or Goexit resumes from there. This is the only
// recursion in unwinding: one level per failing exit.
func (u *unwinding) run(outcome error) (final error) {
	var x exiter // the exit running now
	normal := false
	defer func() {
		if normal {
			return
		}
		p := recover()
		if p == nil {
			// Goexit: finish the unwinding; the goroutine then goes on
			// exiting.
			final = u.run(settle(outcome, ErrGoexit))
			return
		}
		var pe *PanicError
		if r, ok := x.(repanicker); ok {
			// A nested Scope resumed a panic of one of its exits. Its
			// final outcome replaces this one as is, as when it returns:
			// the errors its other exits reported are not lost.
			pe, outcome = r.takeRepanic(p)
		}
		if pe == nil {
			pe = newPanicError(p)
			outcome = settle(outcome, pe)
		}
		final = u.run(outcome)
		if firstPanic(final) == pe {
			u.s.repanic(pe, final)
		}
		// An earlier panic is in the outcome (the block's, or another
		// exit's): that one resumes, from whoever recovered it.
	}()
	for x = u.next(); x != nil; x = u.next() {
		var r error
		if c, ok := x.(ContextExiter); ok && u.ctx != nil {
			r = withoutContextErr(c.ExitContext(u.ctx, outcome), u.ctx)
		} else {
			r = x.Exit(outcome)
		}
		outcome = exitResult(x, outcome, r)
	}
	normal = true
	return outcome
}

// repanicker is a *Scope (or a type embedding one) seen as an exit of an
// outer Scope: when its Exit panics, the outer takes its final outcome.
type repanicker interface {
	takeRepanic(p any) (*PanicError, error)
}

// repanic resumes the panic pe from s's unwinding, recording the final
// outcome for an outer Scope that recovers it: a panic value cannot carry the
// errors that came with it.
func (s *Scope) repanic(pe *PanicError, final error) {
	s.mu.Lock()
	x := s.extra()
	x.lastPanic, x.lastFinal = pe, final
	s.mu.Unlock()
	panic(pe.Value)
}

// takeRepanic returns the panic s last resumed and the final outcome that
// came with it, if p is that panic's value, and forgets them.
func (s *Scope) takeRepanic(p any) (*PanicError, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.x == nil {
		return nil, nil
	}
	pe, final := s.x.lastPanic, s.x.lastFinal
	s.x.lastPanic, s.x.lastFinal = nil, nil
	if pe == nil || !sameValue(pe.Value, p) {
		return nil, nil
	}
	return pe, final
}

// sameValue reports whether a and b are the same panic value. Values that
// cannot be compared (a slice, a map) are never the same: an outer Scope then
// records the panic afresh.
func sameValue(a, b any) (same bool) {
	if a == nil || b == nil || reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	// A comparable type can still hold an incomparable value (a struct
	// with an interface field holding a slice): == then panics.
	defer func() { _ = recover() }()
	return a == b
}

// next returns the newest exit not yet run, or nil when there is none.
func (u *unwinding) next() exiter {
	s := u.s
	if len(u.batch) == 0 || s.newer.Load() != 0 {
		s.mu.Lock()
		if len(s.more) > 0 {
			if len(u.batch) == 0 {
				u.batch = s.more // the array itself: no copy
			} else {
				// Registered after the batch was taken, so newer: they go
				// on its end, which runs first.
				u.batch = append(u.batch, s.more...)
			}
			s.more = nil
			s.newer.Store(0)
		} else if len(u.batch) == 0 && s.n > 0 {
			// The batch came from more, so inline is older than anything
			// in it: inline runs only once the batch is done.
			s.n--
			x := s.inline[s.n]
			s.inline[s.n] = nil
			s.mu.Unlock()
			return x
		} else if len(u.batch) == 0 {
			if s.x != nil {
				untrack(s.x.leak) // s is empty and this unwinding is done
			}
		}
		s.mu.Unlock()
	}
	n := len(u.batch)
	if n == 0 {
		return nil
	}
	x := u.batch[n-1]
	u.batch[n-1] = nil
	u.batch = u.batch[:n-1]
	return x
}

var (
	_ Manager[*Scope] = (*Scope)(nil)
	_ io.Closer       = (*Scope)(nil)
	_ ContextExiter   = (*Scope)(nil)
	_ replacer        = (*Scope)(nil)
	_ repanicker      = (*Scope)(nil)
	_ exiter          = ExitFunc(nil)
	_ exiter          = deferFunc(nil)
	_ ContextExiter   = contextExit(nil)
)
