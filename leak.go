package scope

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// Leak describes a resource holder that the garbage collector found
// unreachable while it still held teardown that never ran: a [Scope] with
// registered exits that was never unwound, or a [Generator] entered through
// its own Enter and never exited (whose parked goroutine then leaks).
type Leak struct {
	Kind  string // "Scope" or "Generator"
	Stack []byte // the stack of the goroutine that registered the first exit still pending
}

var leakHandler atomic.Pointer[func(Leak)]

// SetLeakHandler installs h to be called, on a goroutine of the runtime's,
// for every Scope or entered Generator that becomes unreachable without
// having been unwound or exited. A nil h turns leak tracking off, the default.
// Python warns only for files (ResourceWarning); scope can warn for every
// teardown.
//
// Tracking works through [runtime.AddCleanup]. It covers scopes and
// generators whose first pending exit was registered while a handler was
// installed, and a report comes only after a garbage collection, some time
// after the holder became unreachable, if ever before the program exits. A
// typical use is in tests:
//
//	scope.SetLeakHandler(func(l scope.Leak) { panic(fmt.Sprintf("leaked %s from:\n%s", l.Kind, l.Stack)) })
//
// When no handler is installed the cost is one atomic load each time a Scope
// goes from empty to holding an exit. With one installed, that moment also
// records the stack.
func SetLeakHandler(h func(Leak)) {
	if h == nil {
		leakHandler.Store(nil)
		return
	}
	leakHandler.Store(&h)
}

// leakTracker is what a leak cleanup knows of its holder: it must not
// reference the holder, or the holder would never become unreachable.
type leakTracker struct {
	kind    string
	pending atomic.Bool
	stack   atomic.Pointer[[]byte]
}

// track records that holder now has pending teardown. t is the holder's
// tracker, made and attached to holder on first use.
func track[T any](holder *T, t **leakTracker, kind string) {
	if *t == nil {
		*t = &leakTracker{kind: kind}
		runtime.AddCleanup(holder, reportLeak, *t)
	}
	stack := debug.Stack()
	(*t).stack.Store(&stack)
	(*t).pending.Store(true)
}

// untrack records that the holder's teardown all ran.
func untrack(t *leakTracker) {
	if t != nil {
		t.pending.Store(false)
	}
}

func reportLeak(t *leakTracker) {
	if !t.pending.Load() {
		return
	}
	h := leakHandler.Load()
	if h == nil {
		return
	}
	var stack []byte
	if s := t.stack.Load(); s != nil {
		stack = *s
	}
	(*h)(Leak{Kind: t.kind, Stack: stack})
}
