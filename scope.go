package scope

import (
	"context"
	"errors"
	"io"
	"runtime/debug"
	"time"

	"go.uber.org/multierr"

	"github.com/go-scope/scope/internal/frame"
)

// Scope is a stack of exits that unwinds last-in-first-out: Python's ExitStack.
//
// A zero Scope is empty and ready to use. A Scope must not be copied after
// first use (go vet reports a copy). All its methods are safe for concurrent
// use by multiple goroutines (Python's ExitStack is not), and every exit
// registered runs exactly once.
//
// Unwinding ([Scope.Unwind], [Scope.Close], [Scope.Exit] and their variants
// with a deadline) runs the exits newest first, one at a time. Each exit sees
// the current outcome, as changed by the exits that ran before it, and its
// result changes the outcome by the rules in the package documentation. An
// exit registered during the unwinding (by an exit, or by another goroutine)
// runs in that same unwinding, next. An exit that panics or calls
// [runtime.Goexit] does not stop the unwinding: the remaining exits run,
// seeing a [*PanicError] or [ErrGoexit], and then the panic or Goexit
// resumes, with its original value, unless an exit replaced the outcome.
// When several panics happen, the earliest one resumes. Unwinding is a loop:
// a Scope with 100,000 exits unwinds in constant stack space.
//
// Unwindings of one Scope run one after the other: one that starts while
// another is running waits for it to finish, then runs whatever was
// registered since (usually nothing), so the exits run in LIFO order across
// them, and when Close returns, every exit registered before it was called
// has finished. An exit must therefore not unwind its own Scope: it would
// wait for itself.
//
// After unwinding, the Scope is empty and can be used again; closing an empty
// Scope does nothing and returns nil.
//
// A *Scope is itself a Manager[*Scope]: used by [With], or entered into an
// outer Scope with [Enter], its final outcome replaces the block's outcome as
// is, so a suppression or substitution made inside it reaches the outer block,
// as an ExitStack inside a with statement does. The same holds for a type that
// embeds a Scope, with its own Enter and Exit methods or the Scope's.
// Registering the method value (s.Push(inner.Exit)) makes an ordinary exit
// instead, whose result follows the rules.
//
// A Scope can also own goroutines ([Scope.Go]), which it waits for before
// running any exit, and give its whole teardown one deadline
// ([Scope.CloseContext]).
type Scope struct {
	_      noCopy
	mu     spinLock  // guards every field below, and tells whether an unwinding runs
	n      uint8     // how many of inline are in use
	inline [4]exiter // the oldest exits, so that small scopes do not allocate
	more   []exiter  // the newer exits once inline is full, oldest first
	extra  *extra    // what few scopes use, allocated on first use
}

// extra is the part of a Scope that most scopes never use: kept out of line
// so that a Scope stays small.
type extra struct {
	idle chan struct{} // closed when the running unwinding ends; made by one waiting to unwind
	leak *leakTracker  // see SetLeakHandler

	// Owned goroutines: see Go.
	group     *group
	goCtx     context.Context
	limit     int
	keepGoing bool
}

// needExtra returns s.extra, allocating it if needed. s.mu must be held.
func (s *Scope) needExtra() *extra {
	if s.extra == nil {
		s.extra = new(extra)
	}
	return s.extra
}

// group returns s's owned goroutines, if any. s.mu must be held.
func (s *Scope) group() *group {
	if s.extra == nil {
		return nil
	}
	return s.extra.group
}

func (ex *extra) idleChan() chan struct{} {
	if ex.idle == nil {
		ex.idle = make(chan struct{})
	}
	return ex.idle
}

// track starts leak tracking for s, which goes from empty to holding an exit.
// s.mu must be held. The cleanup is attached to s's extra, which lives
// exactly as long as s, so that a Scope on the stack is tracked too, and
// s itself never escapes for it.
func (s *Scope) track() {
	ex := s.needExtra()
	track(ex, &ex.leak, "Scope")
}

// Enter enters m and registers its Exit in s, returning the value m.Enter
// returned: Python's ExitStack.enter_context.
//
// If m.Enter fails, Enter registers nothing and returns its error, with the
// zero value: check it before using the value. A [Func] or [Generator]
// manager is registered with its own entered value or coroutine, so one such
// manager may be entered into many scopes at once.
//
// Enter panics at once if s or m is nil, or if m is s.
func Enter[T any](s *Scope, m Manager[T]) (T, error) {
	if s == nil {
		panic("scope: Enter called with a nil *Scope")
	}
	if m == nil {
		panic("scope: Enter called with a nil Manager")
	}
	var (
		v   T
		x   exiter
		err error
	)
	if b, ok := m.(binder[T]); ok {
		v, x, err = b.bind(m)
	} else {
		v, err = m.Enter()
		x = m
	}
	if err != nil {
		return v, err
	}
	if n, ok := x.(*nested); ok && (*Scope)(n) == s {
		panic("scope: Enter called with a Scope entered into itself")
	}
	s.push(x)
	return v, nil
}

// exitFunc adapts a function to an exit: Exit(err) calls f(err).
type exitFunc func(err error) error

func (f exitFunc) Exit(err error) error { return f(err) }

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
	s.push(exitFunc(exit))
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
	s.mu.lock()
	t.inline, t.n, t.more = s.inline, s.n, s.more
	s.inline, s.n, s.more = [4]exiter{}, 0, nil
	if s.extra != nil {
		untrack(s.extra.leak)
	}
	s.mu.unlock()
	if t.n > 0 && leakHandler.Load() != nil {
		t.mu.lock()
		t.track()
		t.mu.unlock()
	}
	return t
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
// errp must point to the function's named error result, as err above: a
// local variable is not what the function returns (return copies into the
// result before the deferred Unwind runs), so the exits would see that
// variable's value, nil after return errors.New("..."), and a transaction
// would commit. The scopecheck analyzer
// (github.com/go-scope/scope/scopecheck) reports that mistake.
//
// The starting outcome is *errp when the function returned, a [*PanicError]
// when it panicked, and [ErrGoexit] when it called [runtime.Goexit] (as
// t.FailNow does), so a transaction in the scope rolls back rather than commits
// on either. If the final outcome still holds the function's panic, Unwind
// panics again with the original value from inside the deferred call, so the
// crash output keeps the frames that panicked; if an exit replaced it, the
// function returns normally with the final outcome.
//
// Unwind must be deferred directly, as shown; recover only works there. The
// starting outcome for each way of calling it:
//
//	how Unwind is called                     return    panic                    Goexit
//	defer s.Unwind(&err) in F                *errp     *PanicError (the value)  ErrGoexit
//	from a deferred closure or helper,       *errp     *PanicError (stand-in)   ErrGoexit
//	  at any depth
//	defer s.Unwind(&err) in F, F itself a    *errp     *errp (amd64, arm64)     *errp (amd64, arm64)
//	  deferred call during a panic or Goexit           failure (elsewhere)      failure (elsewhere)
//
// Deferred directly in a plain function, a method, a method value, a generic
// or recursive function, in a loop or after more than eight defers, Unwind
// sees the panic itself and can resume or replace it. Called from a deferred
// closure or a helper (defer j.finish(&err)), it cannot recover the panic:
// its exits then see a *PanicError whose Value says so, which no exit can
// replace, and the panic goes on by itself. In the last row, F runs inside
// another function's deferred call (a recover handler that writes a crash
// record in a transaction, say) and returns normally: F's own outcome counts.
// Where that cannot be told apart from the closure shape (architectures
// other than amd64 and arm64), the exits see the panic or Goexit around F:
// a failure, never nil. There, or wherever the outcome must be exact, use
// With(new(scope.Scope), ...), which knows how its block ended.
//
// Go gives a deferred call no public way to tell a Goexit from a normal
// return (recover returns nil for both). Unwind reads who runs its deferred
// call from the goroutine's stack: the function that deferred it (a return),
// runtime.gopanic or runtime.Goexit. The package's tests pin that reading for
// every shape above, in every build mode, so that a Go release that changes
// it fails the tests rather than an outcome.
//
// Unwind panics if s is nil. If errp is nil it still unwinds s, then panics,
// since it would have nowhere to store the final outcome.
func (s *Scope) Unwind(errp *error) {
	if s == nil {
		panic("scope: Scope.Unwind called on a nil *Scope")
	}
	p := recover()
	how := frame.Panicking
	if p == nil {
		how = frame.Walk()
	}
	var (
		outcome error
		pe      *PanicError
	)
	switch {
	case p != nil:
		pe = newPanicError(p)
		outcome = pe
	case how == frame.Panicking:
		outcome = unseenPanic()
	case how == frame.Goexiting:
		outcome = ErrGoexit
	case errp != nil:
		outcome = *errp
	}
	final := s.unwind(blockOutcome(outcome))
	if errp != nil {
		*errp = final
	}
	resume(final, pe)
	if errp == nil {
		panic("scope: Scope.Unwind called with a nil *error")
	}
}

// errUnseenPanic is the panic value exits see when an unwinding runs during a
// panic it could not recover, because it was not deferred directly.
var errUnseenPanic = errors.New("scope: a panic is in flight (the unwinding was not deferred directly, so its value is unknown)")

// unseenPanic stands for a panic that is in flight but could not be
// recovered. Its Stack is taken during the panic, so it still shows the
// frames that panicked.
func unseenPanic() *PanicError {
	return &PanicError{Value: errUnseenPanic, Stack: debug.Stack()}
}

// Close unwinds s with a nil starting outcome and returns the final outcome:
// Python's ExitStack.close. It makes *Scope an io.Closer.
//
// Deferred directly (defer s.Close()) it sees how the function ended, as
// [Scope.Unwind] does: a panic is recovered, shown to the exits as a
// [*PanicError] and resumed with its original value unless an exit replaced
// it, and a Goexit shows as [ErrGoexit]; so a transaction in s never commits
// for a function that failed that way. But its result, the teardown errors,
// is lost: prefer defer s.Unwind(&err).
func (s *Scope) Close() error {
	// recover and frame.Direct must be called here, by the deferred call
	// itself: each public way to unwind calls them as its arguments.
	return s.exitAs("Close", recover(), frame.Direct(), nil, nil)
}

// Exit unwinds s with err as the starting outcome and returns the final
// outcome. An exit's panic or Goexit resumes from inside Exit once every exit
// has run, unless replaced; a panic that err already holds is left to the
// caller. Deferred directly, Exit adds the function's panic or Goexit to
// err, as [Scope.Close] does.
func (s *Scope) Exit(err error) error {
	return s.exitAs("Exit", recover(), frame.Direct(), nil, err)
}

// ExitContext is [Scope.Exit] with one deadline for the whole teardown: the
// exits registered with [Scope.PushContext] or entered as a [ContextExiter]
// get a context that carries ctx's deadline and values, and owned goroutines
// are waited for until the deadline, then canceled and waited for.
//
// Every exit runs, also after the deadline has passed: each gets the expired
// context and decides what to do, rather than being skipped with its error
// lost. ctx.Err() is added to the final outcome once when the deadline passed
// (or ctx was canceled) before a part of the teardown that takes the context
// had finished: a context-aware exit that returned after it, or owned
// goroutines that had to be canceled. An exit's error that merely is
// ctx.Err() is not added again. A teardown of plain exits only, or of none,
// never reports the deadline.
//
// A ctx already canceled when the teardown starts (the request that started
// the work was canceled) is detached with [context.WithoutCancel] and given
// back its deadline, if it had one, so the teardown is not skipped for it.
//
// Deferred directly, ExitContext sees the function's panic or Goexit as
// [Scope.Exit] does. ExitContext panics if s or ctx is nil.
func (s *Scope) ExitContext(ctx context.Context, err error) error {
	if ctx == nil {
		panic("scope: Scope.ExitContext called with a nil Context")
	}
	return s.exitAs("ExitContext", recover(), frame.Direct(), ctx, err)
}

// CloseContext is [Scope.ExitContext] with a nil starting outcome:
// [Scope.Close] with a deadline.
func (s *Scope) CloseContext(ctx context.Context) error {
	if ctx == nil {
		panic("scope: Scope.CloseContext called with a nil Context")
	}
	return s.exitAs("CloseContext", recover(), frame.Direct(), ctx, nil)
}

// CloseTimeout is [Scope.CloseContext] with a deadline d from now: the usual
// way to bound a shutdown.
func (s *Scope) CloseTimeout(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.exitAs("CloseTimeout", recover(), frame.Direct(), ctx, nil)
}

// exitAs is the unwinding of the public methods above, named method: p is
// what their recover returned and how says how their deferred call runs, if
// it is one.
func (s *Scope) exitAs(method string, p any, how frame.Ending, ctx context.Context, err error) error {
	if s == nil {
		panic("scope: Scope." + method + " called on a nil *Scope")
	}
	var pe *PanicError
	outcome := blockOutcome(err)
	switch {
	case p != nil:
		pe = newPanicError(p)
		outcome = multierr.Append(outcome, pe)
	case how == frame.Panicking:
		outcome = multierr.Append(outcome, unseenPanic())
	case how == frame.Goexiting:
		outcome = multierr.Append(outcome, ErrGoexit)
	}
	if ctx != nil && ctx.Err() != nil {
		detached := context.WithoutCancel(ctx)
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			detached, cancel = context.WithDeadline(detached, deadline)
			defer cancel()
		}
		ctx = detached
	}
	var final error
	if ctx == nil {
		final = s.unwind(outcome)
	} else {
		final = s.unwindContext(ctx, outcome)
	}
	resume(final, pe)
	return final
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

// nested is a Scope as the exit of a With block or of an outer Scope: its
// final outcome replaces the outcome as is (see Scope). An outer unwinding
// does not call it: it runs the nested Scope's exits itself (see
// unwinding.next).
type nested Scope

func (n *nested) Exit(err error) error {
	return Replace((*Scope)(n).unwind(err))
}

// runBlock and bind are the Manager hooks of a Scope, and so of every type that
// embeds one: self is then the outer value, whose own Enter and Exit count.
func (s *Scope) runBlock(self, body any) error {
	v, x, err := s.bind(self)
	if err != nil {
		return err
	}
	return block(v, body.(func(*Scope) error), x.Exit)
}

func (s *Scope) bind(self any) (*Scope, exiter, error) {
	if self == any(s) {
		return s, (*nested)(s), nil
	}
	m := self.(Manager[*Scope])
	v, err := m.Enter()
	return v, asIs{m}, err
}

// asIs is the exit of a type that embeds a Scope: its Exit's result, the
// Scope's final outcome, replaces the outcome as is.
type asIs struct{ m Manager[*Scope] }

func (a asIs) Exit(err error) error { return replaceWith(a.m.Exit(err)) }

func (a asIs) ExitContext(ctx context.Context, err error) error {
	if c, ok := a.m.(ContextExiter); ok {
		return replaceWith(c.ExitContext(ctx, err))
	}
	return a.Exit(err)
}

// replaceWith is Replace(final), unless final is already a Replace result.
func replaceWith(final error) error {
	if _, ok := final.(*replacement); ok {
		return final
	}
	return Replace(final)
}

var (
	_ Manager[*Scope] = (*Scope)(nil)
	_ io.Closer       = (*Scope)(nil)
	_ ContextExiter   = (*Scope)(nil)
	_ blockRunner     = (*Scope)(nil)
	_ binder[*Scope]  = (*Scope)(nil)
	_ exiter          = (*nested)(nil)
	_ ContextExiter   = asIs{}
	_ exiter          = exitFunc(nil)
	_ exiter          = deferFunc(nil)
	_ ContextExiter   = contextExit(nil)
)
