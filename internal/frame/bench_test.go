package frame

import "testing"

type benchProbe struct{ e Ending }

//go:noinline
func (p *benchProbe) walk(*error) { _ = recover(); p.e = Walk() }

//go:noinline
func (p *benchProbe) direct() error { _ = recover(); p.e = Direct(); return nil }

// BenchmarkWalk measures Walk as Unwind uses it: deferred directly, at a
// normal return.
func BenchmarkWalk(b *testing.B) {
	var p benchProbe
	for b.Loop() {
		func() {
			var err error
			defer p.walk(&err)
		}()
	}
}

func BenchmarkDirect(b *testing.B) {
	var p benchProbe
	for b.Loop() {
		func() {
			defer p.direct()
		}()
	}
}

func BenchmarkDeferBaseline(b *testing.B) {
	var p benchProbe
	for b.Loop() {
		func() {
			defer func() { _ = recover(); p.e = Returned }()
		}()
	}
}

//go:noinline
func fpTwo(buf *[2]uintptr) int { return fpcallers(0, buf[:]) }

func BenchmarkFPCallers(b *testing.B) {
	var buf [2]uintptr
	for b.Loop() {
		fpTwo(&buf)
	}
}

func BenchmarkKindOf(b *testing.B) {
	var buf [2]uintptr
	fpTwo(&buf)
	for b.Loop() {
		_ = kindOf(buf[0])
	}
}
