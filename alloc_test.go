package scope_test

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-scope/scope"
)

// These pin the allocation counts that BENCHMARKS.md claims, so that a
// regression fails CI. They count allocations; they time nothing.

func exitOK() error { return nil }

func TestAllocs(t *testing.T) {
	skipUnlessPinned(t)
	var (
		mu sync.Mutex
		rw sync.RWMutex
	)
	lock := scope.Lock(&mu)
	fn := scope.Func(func() (*sync.Mutex, error) { mu.Lock(); return &mu, nil },
		func(mu *sync.Mutex, _ error) error { mu.Unlock(); return nil })
	tests := []struct {
		name   string
		reason string
		max    float64
		run    func()
	}{
		{"With(Lock(&mu)) built each time", "Lock(&mu) is the mutex under another type", 0, func() { _ = scope.With(scope.Lock(&mu), lockedBody) }},
		{"With(Lock) built once", "With over a lock allocates nothing", 0, func() { _ = scope.With(lock, lockedBody) }},
		{"With(RLock)", "RLock(&rw) is the RWMutex under another type", 0, func() {
			_ = scope.With(scope.RLock(&rw), func(*sync.RWMutex) error { return nil })
		}},
		{"With(Func) built once", "With hands the entered value to the exit directly, no bound exit", 0, func() { _ = scope.With(fn, lockedBody) }},
		{"With(Value) error", "an error outcome allocates nothing either", 0, func() { _ = scope.With(valueManager, func(int) error { return errBody }) }},
		{"Scope with 4 exits", "a Scope that does not escape stays on the stack, its first four exits inline", 0, func() {
			var s scope.Scope
			for range 4 {
				s.Defer(exitOK)
			}
			_ = s.Close()
		}},
		{"Unwind with 4 exits", "defer s.Unwind(&err) reads its runner from the frame pointers, allocating nothing", 0, func() {
			_ = func() (err error) {
				var s scope.Scope
				defer s.Unwind(&err)
				for range 4 {
					s.Defer(exitOK)
				}
				return nil
			}()
		}},
		{"Scope reused, 4 exits", "a Scope used again keeps no garbage", 0, func() {
			for range 4 {
				reused.Defer(exitOK)
			}
			_ = reused.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testing.AllocsPerRun(200, tt.run)
			assert.LessOrEqual(t, got, tt.max, "%s allocates %v times per call; want at most %v: %s", tt.name, got, tt.max, tt.reason)
		})
	}
}

var (
	valueManager = scope.Value(1)
	reused       scope.Scope
)

// skipUnlessPinned skips an allocation test where the counts it pins do not
// hold: they depend on inlining and escape analysis (off under -l and -N),
// and on the frame-pointer reading of package frame (amd64 and arm64; the
// fallback allocates).
func skipUnlessPinned(t *testing.T) {
	t.Helper()
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("allocation counts are pinned on amd64 and arm64, not %s", runtime.GOARCH)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-gcflags" && (strings.Contains(s.Value, "-l") || strings.Contains(s.Value, "-N")) {
				t.Skipf("allocation counts are pinned for builds with inlining, not -gcflags=%s", s.Value)
			}
		}
	}
}
