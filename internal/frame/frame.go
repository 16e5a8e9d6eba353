// Package frame tells how a deferred call is being run: because the function
// that deferred it returned, because of a panic, or because of
// runtime.Goexit. Go has no API for this: recover tells a panic apart only in
// the deferred function itself, and returns nil for a Goexit and for a normal
// return alike. The package finds out from the calling goroutine's stack.
//
// # What it reads
//
// The compiler turns `defer s.Unwind(&err)` (any deferred call with arguments,
// results or a receiver) into a wrapper closure named F.deferwrapN that makes
// the call. Who calls that wrapper is the answer:
//
//   - the function F itself, at its return (open-coded defers), or
//     runtime.deferreturn (defers in loops, more than 8 defers, -N builds):
//     F returned;
//   - runtime.gopanic: F is panicking;
//   - runtime.Goexit: the goroutine is exiting.
//
// On amd64 and arm64 the package reads those return addresses from the
// frame-pointer chain (fp_amd64.s, fp_arm64.s: a few loads, no allocation),
// the way the runtime's execution tracer does, and classifies each address by
// its function's name once, caching the result. runtime.Callers cannot serve
// here: it hides the wrappers, so it cannot tell a function that defers
// Unwind during another function's panic from a deferred closure that calls
// Unwind during its own.
//
// On other architectures, and whenever the chain looks unexpected (a wrapper
// called by a runtime function this package does not know), it falls back to
// runtime.Callers and answers Panicking or Goexiting if a panic or a Goexit
// is anywhere on the stack: it may then take a normal return for a failure,
// never a failure for a normal return. Fallbacks counts those, and a test
// pins that the standard shapes never fall back, so a Go release that renames
// the wrappers or changes who runs deferred calls fails the tests instead of
// silently changing an outcome.
package frame

import (
	"runtime"
	"strings"
	"sync/atomic"
)

// Ending is how a deferred call is being run.
type Ending uint8

const (
	Returned  Ending = iota // the function that deferred it returned, or it was not deferred
	Panicking               // a panic runs it
	Goexiting               // runtime.Goexit runs it

	unknown // the frame-pointer chain cannot tell: ask runtime.Callers
)

// String names the ending, for test output.
func (e Ending) String() string {
	switch e {
	case Panicking:
		return "Panicking"
	case Goexiting:
		return "Goexiting"
	}
	return "Returned"
}

// Direct reports how its caller M is being run when M is called directly by a
// deferred call (defer x.M(...)); for any other call it returns Returned.
// M must not be inlined (a function that calls recover never is).
//
//go:noinline
func Direct() Ending {
	if e := direct(); e != unknown {
		return e
	}
	return fallback(true)
}

func direct() Ending {
	var buf [2]uintptr                    // M's caller and the runner
	if fpcallers(2, buf[:]) != len(buf) { // skip direct's and Direct's return addresses
		return unknown
	}
	switch k := kindOf(buf[0]); k {
	case kindDeferwrap:
		return runner(kindOf(buf[1]))
	case kindGopanic:
		// No wrapper: `defer f()` of a method value, which the compiler
		// runs without one. The runner is right above.
		return Panicking
	case kindGoexit:
		return Goexiting
	case kindTransparent:
		return directThroughWrappers() // a method value's wrapper between: rare
	}
	return Returned
}

// directThroughWrappers is direct when method value wrappers come between M
// and the deferred call's wrapper.
func directThroughWrappers() Ending {
	var buf [8]uintptr
	// Skip the return addresses into direct, Direct and M.
	n := fpcallers(3, buf[:])
	i := 0
	for i < n && kindOf(buf[i]) == kindTransparent {
		i++
	}
	if i+1 >= n {
		return unknown
	}
	switch kindOf(buf[i]) {
	case kindDeferwrap:
		return runner(kindOf(buf[i+1]))
	case kindGopanic:
		return Panicking
	case kindGoexit:
		return Goexiting
	}
	return Returned
}

// Walk reports how the innermost deferred call that is running M, directly or
// through any number of plain calls (a helper, a closure), is being run; M is
// the caller of Walk. It returns Returned when no deferred call is running M.
//
//go:noinline
func Walk() Ending {
	if e := walkUp(); e != unknown {
		return e
	}
	return fallback(false)
}

func walkUp() Ending {
	// Deferred directly, the answer is in the first two frames: M's caller,
	// the wrapper, and the wrapper's caller, the runner.
	var buf [2]uintptr
	if fpcallers(2, buf[:]) == len(buf) && kindOf(buf[0]) == kindDeferwrap {
		if k := kindOf(buf[1]); k != kindTransparent {
			return runner(k)
		}
	}
	var more [16]uintptr
	pcs := more[:]
	for {
		// Skip walkUp's return address into Walk and Walk's into M.
		n := fpcallers(2, pcs)
		if n < 0 {
			return unknown
		}
		if e, ok := walk(pcs[:n], n < len(pcs)); ok {
			return e
		}
		// Deeper than pcs holds: read further up (rare: a deep stack of
		// plain calls between a deferred call and M).
		pcs = make([]uintptr, 8*len(pcs))
	}
}

// walk looks for the innermost deferred call in pcs, return addresses from M
// up; complete says that pcs reaches the top of the stack. It reports false
// when pcs is not enough to decide.
func walk(pcs []uintptr, complete bool) (Ending, bool) {
	for i, pc := range pcs {
		switch kindOf(pc) {
		case kindDeferwrap:
			j := i + 1
			for j < len(pcs) && kindOf(pcs[j]) == kindTransparent {
				j++
			}
			if j == len(pcs) {
				return unknown, complete
			}
			return runner(kindOf(pcs[j])), true
		case kindGopanic:
			return Panicking, true
		case kindGoexit:
			return Goexiting, true
		case kindDeferreturn:
			return Returned, true
		}
	}
	return Returned, complete
}

// runner says how a deferred call runs from the kind of the function that
// called its wrapper.
func runner(k kind) Ending {
	switch k {
	case kindGopanic:
		return Panicking
	case kindGoexit:
		return Goexiting
	case kindDeferreturn, kindOther, kindDeferwrap:
		// F at its return, or runtime.deferreturn: F returned. (A wrapper
		// calling a wrapper: F is itself deferred and returning normally.)
		return Returned
	}
	return unknown // a runtime function this package does not know, or a wrapper
}

var fallbacks atomic.Uint64

// Fallbacks returns how many times the package fell back to runtime.Callers.
func Fallbacks() uint64 { return fallbacks.Load() }

// fallback answers from the logical frames that runtime.Callers gives,
// wrappers and runtime.deferreturn left out. With direct, only the first
// frame above M counts, the runner of `defer x.M()`; otherwise a panic or
// Goexit anywhere above M counts. It must be called by Direct or Walk. Its
// classifications share the cache of the frame-pointer path.
func fallback(direct bool) Ending {
	fallbacks.Add(1)
	var buf [16]uintptr
	pcs := buf[:]
	if direct {
		pcs = buf[:1]
	}
	for {
		// Skip runtime.Callers, fallback, Direct or Walk, and M.
		n := runtime.Callers(4, pcs)
		for _, pc := range pcs[:n] {
			switch kindOf(pc) {
			case kindGopanic:
				return Panicking
			case kindGoexit:
				return Goexiting
			}
		}
		if direct || n < len(pcs) {
			return Returned
		}
		pcs = make([]uintptr, 8*len(pcs))
	}
}

// kind is what a return address says about its function.
type kind uint8

const (
	kindOther       kind = iota
	kindDeferwrap        // F.deferwrapN: the compiler's wrapper of a deferred call
	kindTransparent      // a method value's wrapper (x.M-fm): looked through
	kindGopanic          // runtime.gopanic
	kindGoexit           // runtime.Goexit
	kindDeferreturn      // runtime.deferreturn
	kindRuntime          // another runtime function
)

// kinds caches kindOf by return address: looking a function up by name costs
// far more than the rest of a classification. Each slot holds a PC with its
// kind in the top three bits (user-space addresses are far smaller); a slot
// is loaded and stored whole, so a reader sees an old entry or a new one,
// never half of each.
var kinds [512]atomic.Uint64

const kindShift = 61

func kindOf(pc uintptr) kind {
	// An empty slot never matches: no return address is 0.
	if v := kinds[pc>>2&uintptr(len(kinds)-1)].Load(); v&(1<<kindShift-1) == uint64(pc) {
		return kind(v >> kindShift)
	}
	return classifyAndCache(pc)
}

func classifyAndCache(pc uintptr) kind {
	k := classify(pc)
	if uint64(pc)>>kindShift == 0 {
		kinds[(pc>>2)%uintptr(len(kinds))].Store(uint64(pc) | uint64(k)<<kindShift)
	}
	return k
}

// classify names the physical function that pc returns into: the function
// whose frame it is, not a function inlined into it.
func classify(pc uintptr) kind {
	f := runtime.FuncForPC(pc - 1) // pc is a return address
	if f == nil {
		return kindOther
	}
	if outer := runtime.FuncForPC(f.Entry()); outer != nil {
		f = outer
	}
	name := f.Name()
	switch name {
	case "runtime.gopanic":
		return kindGopanic
	case "runtime.Goexit":
		return kindGoexit
	case "runtime.deferreturn":
		return kindDeferreturn
	}
	switch {
	case strings.HasPrefix(name, "runtime."):
		return kindRuntime
	case isDeferwrap(name):
		return kindDeferwrap
	case strings.HasSuffix(name, "-fm"):
		return kindTransparent
	}
	return kindOther
}

// isDeferwrap reports whether name is a deferred call's wrapper:
// pkg.F.deferwrap1, or pkg.F.func2.deferwrap1 in a closure.
func isDeferwrap(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return false
	}
	last := name[i+1:]
	digits := strings.TrimPrefix(last, "deferwrap")
	if digits == last || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
