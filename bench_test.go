package scope_test

import (
	"fmt"
	"iter"
	"sync"
	"testing"

	"go.uber.org/multierr"

	"github.com/go-scope/scope"
)

// Each benchmark runs its hand-written baseline as the first sub-benchmark,
// beside the library call, so that ratios come from one run on one machine.
// BENCHMARKS.md has the command and the numbers.

var sink int

//go:noinline
func lockDefer(mu *sync.Mutex) error {
	mu.Lock()
	defer mu.Unlock()
	sink++
	return nil
}

func lockedBody(*sync.Mutex) error { sink++; return nil }

// userLock is a lock Manager as a user would write it.
type userLock struct{ mu sync.Mutex }

func (l *userLock) Enter() (*sync.Mutex, error) { l.mu.Lock(); return &l.mu, nil }
func (l *userLock) Exit(error) error            { l.mu.Unlock(); return nil }

var escaped func(*sync.Mutex) error

//go:noinline
func escape(f func(*sync.Mutex) error) { escaped = f }

func BenchmarkWithLock(b *testing.B) {
	var mu sync.Mutex
	b.Run("baseline=Lock+defer Unlock", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = lockDefer(&mu)
		}
	})
	b.Run("With(Lock)", func(b *testing.B) {
		b.ReportAllocs()
		m := scope.Lock(&mu)
		for b.Loop() {
			_ = scope.With(m, lockedBody)
		}
	})
	b.Run("With(user Manager)", func(b *testing.B) {
		// A Manager type of the user's own, which With cannot special-case.
		b.ReportAllocs()
		m := &userLock{}
		for b.Loop() {
			_ = scope.With[*sync.Mutex](m, lockedBody)
		}
	})
	b.Run("baseline=Lock+defer Unlock, escaping closure", func(b *testing.B) {
		// What a body capturing variables costs by itself: one closure on
		// the heap, as With's capturing bodies are (see BENCHMARKS.md).
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			escape(func(*sync.Mutex) error { n++; return nil })
			_ = lockDefer(&mu)
		}
		sink += n
	})
	b.Run("With(Lock) capturing", func(b *testing.B) {
		b.ReportAllocs()
		m := scope.Lock(&mu)
		n := 0
		for b.Loop() {
			_ = scope.With(m, func(*sync.Mutex) error { n++; return nil })
		}
		sink += n
	})
	b.Run("With(Func)", func(b *testing.B) {
		b.ReportAllocs()
		m := scope.Func(func() (*sync.Mutex, error) { mu.Lock(); return &mu, nil },
			func(mu *sync.Mutex, _ error) error { mu.Unlock(); return nil })
		for b.Loop() {
			_ = scope.With(m, lockedBody)
		}
	})
	b.Run("With(Func) capturing", func(b *testing.B) {
		b.ReportAllocs()
		m := scope.Func(func() (*sync.Mutex, error) { mu.Lock(); return &mu, nil },
			func(mu *sync.Mutex, _ error) error { mu.Unlock(); return nil })
		n := 0
		for b.Loop() {
			_ = scope.With(m, func(*sync.Mutex) error { n++; return nil })
		}
		sink += n
	})
}

// lockGen is the generator both sides of BenchmarkWithGenerator run: the
// baseline calls it with a hand-written callback, the library through With.
func lockGen(mu *sync.Mutex) func(yield func(*sync.Mutex) error) error {
	return func(yield func(*sync.Mutex) error) error {
		mu.Lock()
		defer mu.Unlock()
		return yield(mu)
	}
}

// opaqueGen holds a generator where the compiler cannot see it, as when it
// comes from another package or a struct field: its callback then escapes.
var opaqueGen func(yield func(*sync.Mutex) error) error

func BenchmarkWithGenerator(b *testing.B) {
	var mu sync.Mutex
	gen := lockGen(&mu)
	opaqueGen = gen
	b.Run("baseline=gen(callback)", func(b *testing.B) {
		// The compiler inlines gen here and keeps the callback on the stack.
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			_ = gen(func(*sync.Mutex) error { n++; return nil })
		}
		sink += n
	})
	b.Run("baseline=opaque gen(callback)", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			_ = opaqueGen(func(*sync.Mutex) error { n++; return nil })
		}
		sink += n
	})
	b.Run("With(Generator)", func(b *testing.B) {
		b.ReportAllocs()
		m := scope.Generator(gen)
		n := 0
		for b.Loop() {
			_ = scope.With(m, func(*sync.Mutex) error { n++; return nil })
		}
		sink += n
	})
}

func BenchmarkGeneratorInScope(b *testing.B) {
	var mu sync.Mutex
	gen := lockGen(&mu)
	b.Run("baseline=iter.Pull", func(b *testing.B) {
		b.ReportAllocs()
		seq := func(yield func(*sync.Mutex) bool) {
			_ = gen(func(mu *sync.Mutex) error { yield(mu); return nil })
		}
		for b.Loop() {
			next, stop := iter.Pull(seq)
			mu, _ := next()
			sink += boolInt(mu != nil)
			stop()
		}
	})
	b.Run("Enter+Close", func(b *testing.B) {
		b.ReportAllocs()
		m := scope.Generator(gen)
		var s scope.Scope // reusable once unwound
		for b.Loop() {
			mu, _ := scope.Enter(&s, m)
			sink += boolInt(mu != nil)
			_ = s.Close()
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func BenchmarkScope(b *testing.B) {
	for _, n := range []int{1, 4, 8, 64} {
		b.Run(fmt.Sprintf("N=%d/baseline=[]func", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var fns []func() error
				for range n {
					fns = append(fns, exitNil)
				}
				var err error
				for i := len(fns) - 1; i >= 0; i-- {
					if e := fns[i](); e != nil {
						err = e
					}
				}
				_ = err
			}
		})
		b.Run(fmt.Sprintf("N=%d/Scope", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := new(scope.Scope)
				for range n {
					s.Defer(exitNil)
				}
				_ = s.Close()
			}
		})
	}
}

func exitNil() error { return nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// BenchmarkScopeVsAppendInvoke compares a Scope with the other common way to
// release N resources and keep every error: a deferred
// multierr.AppendInvoke per resource.
func BenchmarkScopeVsAppendInvoke(b *testing.B) {
	b.Run("multierr.AppendInvoke", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = appendInvoke8()
		}
	})
	b.Run("Scope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = scope8()
		}
	})
}

func appendInvoke8() (err error) {
	for range 8 {
		defer multierr.AppendInvoke(&err, multierr.Close(nopCloser{}))
	}
	return nil
}

func scope8() (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	for range 8 {
		_, _ = scope.Enter(&s, scope.Closing(nopCloser{}))
	}
	return nil
}

// BenchmarkUnwind measures defer s.Unwind(&err) against a hand-written
// deferred closure that runs one cleanup and keeps its error.
func BenchmarkUnwind(b *testing.B) {
	b.Run("baseline=defer func", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = func() (err error) {
				defer func() {
					if e := exitNil(); e != nil && err == nil {
						err = e
					}
				}()
				return nil
			}()
		}
	})
	b.Run("defer Unwind", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = func() (err error) {
				var s scope.Scope
				defer s.Unwind(&err)
				s.Defer(exitNil)
				return nil
			}()
		}
	})
}

// BenchmarkMutex compares scope.Mutex, which LockContext can wait on with a
// deadline, with sync.Mutex, uncontended.
func BenchmarkMutex(b *testing.B) {
	b.Run("baseline=sync.Mutex", func(b *testing.B) {
		var mu sync.Mutex
		for b.Loop() {
			mu.Lock()
			sink++
			mu.Unlock()
		}
	})
	b.Run("scope.Mutex", func(b *testing.B) {
		var mu scope.Mutex
		for b.Loop() {
			mu.Lock()
			sink++
			mu.Unlock()
		}
	})
}
