package scope_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// collectUntil runs the garbage collector until done is closed or a few
// seconds pass: cleanups run some time after a collection.
func collectUntil(done <-chan scope.Leak) (scope.Leak, bool) {
	deadline := time.After(5 * time.Second)
	for {
		runtime.GC()
		select {
		case l := <-done:
			return l, true
		case <-deadline:
			return scope.Leak{}, false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

//go:noinline
func leakScope() {
	s := new(scope.Scope)
	s.Defer(func() error { return nil }) // never unwound
}

//go:noinline
func unwoundScope() {
	s := new(scope.Scope)
	s.Defer(func() error { return nil })
	_ = s.Close()
}

func TestLeakHandlerScope(t *testing.T) {
	leaks := make(chan scope.Leak, 16)
	scope.SetLeakHandler(func(l scope.Leak) { leaks <- l })
	defer scope.SetLeakHandler(nil)

	unwoundScope()
	leakScope()
	l, ok := collectUntil(leaks)
	require.True(t, ok, "the leaked scope is reported")
	assert.Equal(t, "Scope", l.Kind)
	assert.Contains(t, string(l.Stack), "leakScope", "the report says where the exit was registered")

	// The unwound scope is never reported.
	runtime.GC()
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	select {
	case l := <-leaks:
		t.Fatalf("reported a scope that was unwound:\n%s", l.Stack)
	default:
	}
}

func TestLeakHandlerOff(t *testing.T) {
	skipUnlessPinned(t)
	scope.SetLeakHandler(nil)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		var s scope.Scope
		s.Defer(exitOK)
		_ = s.Close()
	}), "no tracking cost when off: the Scope stays on the stack")
}

func TestLeakHandlerGenerator(t *testing.T) {
	// The child enters a Generator and drops it without exiting: its parked
	// goroutine leaks, which is why this runs in a process of its own.
	out, err := inChild(t, func() {
		leaks := make(chan scope.Leak, 1)
		scope.SetLeakHandler(func(l scope.Leak) { leaks <- l })
		func() {
			g := scope.Generator(func(yield func(int) error) error { return yield(1) })
			_, _ = g.Enter()
		}()
		if l, ok := collectUntil(leaks); ok {
			fmt.Printf("leak reported: %s\n", l.Kind)
			if strings.Contains(string(l.Stack), "TestLeakHandlerGenerator") {
				fmt.Println("stack names the caller")
			}
			return
		}
		fmt.Println("no leak reported")
		os.Exit(1)
	})
	require.NoError(t, err, out)
	assert.Contains(t, out, "leak reported: Generator")
	assert.Contains(t, out, "stack names the caller")
}
