package replace

import (
	"errors"
	"io"
	"os"

	"github.com/go-scope/scope"
)

func read(f *os.File) error { return nil }

func block(path string) error {
	return scope.With(scope.Open(path), func(f *os.File) error {
		if err := read(f); errors.Is(err, io.EOF) {
			return scope.Replace(nil) // want "scope.Replace returned from a block"
		}
		return nil
	})
}

func result(path string) (int, error) {
	return scope.WithResult(scope.Open(path), func(f *os.File) (int, error) {
		return 0, scope.Replace(io.EOF) // want "scope.Replace returned from a block"
	})
}

func load() (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	return scope.Replace(nil) // want "scope.Replace returned from a block"
}

func parens() (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	return (scope.Replace(nil)) // want "scope.Replace returned from a block"
}

// Not reported.

func exits(path string) error {
	m := scope.Func(func() (int, error) { return 0, nil }, func(int, error) error { return scope.Replace(nil) })
	_ = scope.Generator(func(yield func(int) error) error {
		_ = yield(1)
		return scope.Replace(nil)
	})
	return scope.With(m, func(int) error {
		var s scope.Scope
		s.Push(func(err error) error { return scope.Replace(nil) })
		return s.Close()
	})
}

func pushInUnwind() (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	s.Push(func(err error) error { return scope.Replace(nil) })
	return nil
}

type mgr struct{}

func (mgr) Enter() (int, error)  { return 0, nil }
func (mgr) Exit(err error) error { return scope.Replace(nil) }

func suppress(path string) error {
	return scope.With(scope.Suppress(io.EOF), func(struct{}) error { return io.EOF })
}

func madeNotReturned(path string) error {
	return scope.With(scope.Open(path), func(*os.File) error {
		r := scope.Replace(nil)
		_ = r
		return nil
	})
}

func noUnwind() error {
	return scope.Replace(nil)
}
