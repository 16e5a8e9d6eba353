package scope_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"go.uber.org/multierr"

	"github.com/go-scope/scope"
)

// BenchmarkPeers releases N resources and keeps every close error, the ways
// Go code does it by hand and the ways libraries do, beside a Scope, in one
// run. The baseline keeps only the first error, as most hand-written code
// does.

var closers = func() []io.Closer {
	cs := make([]io.Closer, 64)
	for i := range cs {
		cs[i] = nopCloser{}
	}
	return cs
}()

//go:noinline
func peerBaseline(cs []io.Closer) (err error) {
	for _, c := range cs {
		defer func() {
			if e := c.Close(); e != nil && err == nil {
				err = e
			}
		}()
	}
	return nil
}

//go:noinline
func peerJoin(cs []io.Closer) (err error) {
	for _, c := range cs {
		defer func() { err = errors.Join(err, c.Close()) }()
	}
	return nil
}

//go:noinline
func peerAppendInvoke(cs []io.Closer) (err error) {
	for _, c := range cs {
		defer multierr.AppendInvoke(&err, multierr.Close(c))
	}
	return nil
}

//go:noinline
func peerCleanupSlice(cs []io.Closer) (err error) {
	var cleanups []func() error
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			err = errors.Join(err, cleanups[i]())
		}
	}()
	for _, c := range cs {
		cleanups = append(cleanups, c.Close)
	}
	return nil
}

//go:noinline
func peerScope(cs []io.Closer) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	for _, c := range cs {
		s.Defer(c.Close)
	}
	return nil
}

// One resource, written out as a user would: no loop.

//go:noinline
func oneBaseline(c io.Closer) (err error) {
	defer func() {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}()
	return nil
}

//go:noinline
func oneJoin(c io.Closer) (err error) {
	defer func() { err = errors.Join(err, c.Close()) }()
	return nil
}

//go:noinline
func oneWithClosing(c io.Closer) error {
	return scope.With(scope.Closing(c), func(io.Closer) error { return nil })
}

//go:noinline
func oneScope(c io.Closer) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	s.Defer(c.Close)
	return nil
}

func BenchmarkPeers(b *testing.B) {
	b.Run("N=1", func(b *testing.B) {
		c := closers[0]
		for _, p := range []struct {
			name string
			fn   func(io.Closer) error
		}{
			{"baseline=defer", oneBaseline},
			{"errors.Join", oneJoin},
			{"With(Closing)", oneWithClosing},
			{"Scope", oneScope},
		} {
			b.Run(p.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_ = p.fn(c)
				}
			})
		}
	})
	for _, n := range []int{8, 64} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			cs := closers[:n]
			for _, p := range []struct {
				name string
				fn   func([]io.Closer) error
			}{
				{"baseline=defer", peerBaseline},
				{"errors.Join", peerJoin},
				{"multierr.AppendInvoke", peerAppendInvoke},
				{"cleanup slice", peerCleanupSlice},
				{"Scope", peerScope},
			} {
				b.Run(p.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						_ = p.fn(cs)
					}
				})
			}
		})
	}
}
