package scope_test

import (
	"sync"
	"sync/atomic"
	"testing"
)

// The floors: what the machine charges for the operations a teardown library
// cannot avoid, measured so that every ratio in BENCHMARKS.md can be read
// against what is possible here.

type caller interface{ call() int }

type impl struct{ n int }

//go:noinline
func (i *impl) call() int { i.n++; return i.n }

var (
	floorCaller caller = &impl{}
	floorSink   atomic.Uint32
	floorPtr    *[2]uint64
)

func BenchmarkFloor(b *testing.B) {
	b.Run("interface call", func(b *testing.B) {
		for b.Loop() {
			floorCaller.call()
		}
	})
	b.Run("defer+recover", func(b *testing.B) {
		for b.Loop() {
			deferRecover()
		}
	})
	b.Run("locked instruction (atomic add)", func(b *testing.B) {
		for b.Loop() {
			floorSink.Add(1)
		}
	})
	b.Run("compare-and-swap", func(b *testing.B) {
		for b.Loop() {
			v := floorSink.Load()
			floorSink.CompareAndSwap(v, v+1)
		}
	})
	b.Run("sync.Mutex lock+unlock", func(b *testing.B) {
		var (
			mu sync.Mutex
			n  int
		)
		for b.Loop() {
			mu.Lock()
			n++
			mu.Unlock()
		}
		floorSink.Store(uint32(n))
	})
	b.Run("16-byte allocation", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			floorPtr = new([2]uint64)
		}
	})
}

//go:noinline
func deferRecover() (n int) {
	defer func() {
		if recover() != nil {
			n = -1
		}
	}()
	return 1
}
