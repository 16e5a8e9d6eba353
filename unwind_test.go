package scope

import "testing"

// The engine's parts measured apart, without the frame reading of the
// public methods: what a registration, an unwinding of one exit, guard and
// the lock cost. BENCHMARKS.md reads them against BenchmarkFloor.

func nilExit() error { return nil }

func BenchmarkEnginePush(b *testing.B) {
	for b.Loop() {
		var s Scope
		s.push(deferFunc(nilExit))
		s.n = 0
		s.inline[0] = nil
	}
}

func BenchmarkEngineUnwind(b *testing.B) {
	for b.Loop() {
		var s Scope
		s.push(deferFunc(nilExit))
		_ = s.unwind(nil)
	}
}

func BenchmarkEngineGuard(b *testing.B) {
	for b.Loop() {
		_ = guard(nilExit, func(outcome error, _ ending) error { return outcome })
	}
}

func BenchmarkEngineLock(b *testing.B) {
	var s Scope
	for b.Loop() {
		s.mu.lock()
		s.mu.unlock()
	}
}
