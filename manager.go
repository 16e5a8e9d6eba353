package scope

import (
	"io"
	"reflect"
	"sync"
)

// Manager is a resource with a teardown: Python's __enter__ and __exit__.
//
// Enter acquires the resource and returns the value the block uses. If Enter
// returns an error, nothing was acquired and Exit is not called.
//
// Exit releases the resource. It receives the block's outcome (nil, the
// block's error, a [*PanicError] or [ErrGoexit]) and returns its own result,
// which the caller ([With], [Scope]) applies to the outcome by the rules in the
// package documentation. An Exit written the plain Go way, return f.Close(),
// adds its error to the outcome and never loses the block's; one that wants to
// suppress or substitute the outcome returns [Replace].
//
// A Manager that may be entered again before it exits keeps its entries in a
// stack and exits them last-in-first-out, as [With] and [Scope] guarantee.
type Manager[T any] interface {
	Enter() (T, error)
	Exit(err error) error
}

// exiter is the part of every Manager[T] that a Scope keeps: Exit does not
// depend on T, so one stack holds managers of any type without wrapping them.
type exiter interface {
	Exit(err error) error
}

// The managers of this package take part in With and Enter through two hooks,
// so that With and Enter never need to know which manager they hold.

// blockRunner is how a Manager of this package runs a With block itself: a Func
// hands its entered value straight to its exit, a Generator runs its function
// with a yield that calls the block. With asks every Manager for it with one
// assertion to this interface, which, unlike a generic one, costs about a
// nanosecond when it fails.
type blockRunner interface {
	// runBlock is With(self, body): self is the Manager as With was given it
	// (the outer value, for a type that embeds a Scope), body is the
	// block, a func(T) error.
	runBlock(self, body any) error
}

// binder is how a Manager of this package is entered into a Scope: bind enters
// it and returns the value with the exit that belongs to this entry, so that
// one Manager can be entered into many scopes at once and no stack inside the
// Manager is needed. self is the Manager as Enter was given it.
type binder[T any] interface {
	bind(self any) (T, exiter, error)
}

// block runs body(v) as a block and then exit with the block's outcome, and
// returns the final outcome by the rules (see guard and apply).
func block[T any](v T, body func(T) error, exit func(outcome error) error) error {
	return guard(func() error { return blockOutcome(body(v)) }, func(outcome error, _ ending) error {
		return apply(outcome, exit(outcome))
	})
}

// Func returns a Manager built from two functions: enter acquires the value,
// and exit(v, err) releases v, given the block's outcome, and returns a result
// that follows the same rules as [Manager]'s Exit.
//
// The returned Manager may be used by many goroutines at once with [With] and
// [Enter], which hand v from enter to exit directly. Used through its own
// Enter and Exit methods it keeps the entered values in a stack, so those
// calls must nest.
//
// Func panics if enter or exit is nil.
func Func[T any](enter func() (T, error), exit func(v T, err error) error) Manager[T] {
	if enter == nil {
		panic("scope: Func called with a nil enter func")
	}
	if exit == nil {
		panic("scope: Func called with a nil exit func")
	}
	return &funcManager[T]{enter: enter, exit: exit}
}

type funcManager[T any] struct {
	enter   func() (T, error)
	exit    func(T, error) error
	entered stack[T]
}

func (f *funcManager[T]) Enter() (T, error) {
	v, err := f.enter()
	if err == nil {
		f.entered.push(v)
	}
	return v, err
}

func (f *funcManager[T]) Exit(err error) error {
	return f.exit(f.entered.pop("scope: Exit called on a Func manager that is not entered"), err)
}

func (f *funcManager[T]) runBlock(_, body any) error {
	v, err := f.enter()
	if err != nil {
		return err
	}
	return block(v, body.(func(T) error), func(outcome error) error { return f.exit(v, outcome) })
}

func (f *funcManager[T]) bind(any) (T, exiter, error) {
	v, err := f.enter()
	return v, &boundFunc[T]{exit: f.exit, v: v}, err
}

// boundFunc is a Func manager's exit bound to the value its enter returned:
// what a Scope registers, so that concurrent scopes share no stack.
type boundFunc[T any] struct {
	exit func(T, error) error
	v    T
}

func (b *boundFunc[T]) Exit(err error) error { return b.exit(b.v, err) }

// boundManager is a Manager whose enter returns, with the value, an exit bound
// to that entry and holding whatever it must restore. With and Enter take the
// bound exit directly; its own Enter and Exit keep the bound exits in a
// stack. It is how the managers of this package that save state (Chdir,
// Setenv, Swap, WriteFileAtomic) stay reentrant and safe to share.
type boundManager[T any] struct {
	enter   func() (T, exiter, error)
	entered stack[exiter]
}

func (b *boundManager[T]) Enter() (T, error) {
	v, x, err := b.enter()
	if err == nil {
		b.entered.push(x)
	}
	return v, err
}

func (b *boundManager[T]) Exit(err error) error {
	return b.entered.pop("scope: Exit called on a Manager that is not entered").Exit(err)
}

func (b *boundManager[T]) runBlock(_, body any) error {
	v, x, err := b.enter()
	if err != nil {
		return err
	}
	return block(v, body.(func(T) error), x.Exit)
}

func (b *boundManager[T]) bind(any) (T, exiter, error) { return b.enter() }

// Value returns a Manager whose Enter returns v and whose Exit changes
// nothing: Python's contextlib.nullcontext, for code that takes a Manager when
// there is nothing to release.
func Value[T any](v T) Manager[T] {
	return &valueManager[T]{v: v}
}

type valueManager[T any] struct{ v T }

func (m *valueManager[T]) Enter() (T, error) { return m.v, nil }
func (m *valueManager[T]) Exit(error) error  { return nil }

// Closing returns a Manager whose Enter returns v and whose Exit closes it,
// adding Close's error to the outcome: Python's contextlib.closing.
//
// Closing panics at once if v is nil (a nil interface or a nil pointer),
// rather than when the teardown calls Close after the block ran.
func Closing[T io.Closer](v T) Manager[T] {
	if isNil(v) {
		panic("scope: Closing called with a nil io.Closer")
	}
	return &closing[T]{v: v}
}

type closing[T io.Closer] struct{ v T }

func (c *closing[T]) Enter() (T, error) { return c.v, nil }
func (c *closing[T]) Exit(error) error  { return c.v.Close() }

// stack is a mutex-guarded last-in-first-out stack: how a Manager that must
// remember something between Enter and Exit survives being entered again
// before it exits.
type stack[T any] struct {
	mu    sync.Mutex
	items []T
}

func (s *stack[T]) push(v T) {
	s.mu.Lock()
	s.items = append(s.items, v)
	s.mu.Unlock()
}

// pop removes and returns the newest item; it panics with msg when there is
// none, since an Exit without an Enter is a programmer error.
func (s *stack[T]) pop(msg string) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.items)
	if n == 0 {
		panic(msg)
	}
	v := s.items[n-1]
	var zero T
	s.items[n-1] = zero
	s.items = s.items[:n-1]
	return v
}

// isNil reports whether v is a nil interface or a nil pointer: an argument
// that could only crash later, inside a teardown.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

var (
	_ blockRunner  = (*funcManager[int])(nil)
	_ binder[int]  = (*funcManager[int])(nil)
	_ blockRunner  = (*boundManager[int])(nil)
	_ binder[int]  = (*boundManager[int])(nil)
	_ exiter       = (*boundFunc[int])(nil)
	_ Manager[int] = (*valueManager[int])(nil)
)
