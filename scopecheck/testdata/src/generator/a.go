package generator

import (
	"errors"
	"os"

	"github.com/go-scope/scope"
)

var ready bool
var items []int
var retry bool

func notReady() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		if !ready {
			return nil // want "the generator returns nil without calling yield"
		}
		return yield(1)
	})
}

func loop() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		for _, it := range items {
			if err := yield(it); err != nil { // want "yield may be called more than once"
				return err
			}
		}
		return errors.New("no items")
	})
}

func twice() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		if retry {
			_ = yield(0)
		}
		return yield(1) // want "yield may be called more than once"
	})
}

func renamed() scope.Manager[string] {
	return scope.Generator(func(y func(string) error) error {
		if !ready {
			return nil // want "the generator returns nil without calling yield"
		}
		_ = y("a")
		return y("b") // want "yield may be called more than once"
	})
}

func sameStatement() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		return errors.Join(yield(1), yield(2)) // want "yield may be called more than once"
	})
}

func unnamed() scope.Manager[int] {
	return scope.Generator(func(func(int) error) error {
		return nil // want "the generator returns nil without calling yield"
	})
}

func typeArgs() scope.Manager[int] {
	return scope.Generator[int](func(yield func(int) error) error {
		return nil // want "the generator returns nil without calling yield"
	})
}

// Not reported.

func mkdir() (string, error)  { return os.MkdirTemp("", "x") }
func remove(dir string) error { return os.RemoveAll(dir) }

func tempDir() scope.Manager[string] {
	return scope.Generator(func(yield func(string) error) error {
		dir, err := mkdir()
		if err != nil {
			return err
		}
		err = yield(dir)
		return errors.Join(err, remove(dir))
	})
}

func ignored() scope.Manager[string] {
	return scope.Generator(func(yield func(string) error) error {
		dir, err := mkdir()
		if err != nil {
			return err
		}
		yield(dir)
		return remove(dir)
	})
}

func branches(a bool) scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		if a {
			return yield(1)
		} else {
			return yield(2)
		}
	})
}

func cases(n int) scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		switch n {
		case 1:
			return yield(1)
		default:
			return yield(2)
		}
	})
}

func returnInLoop() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		for _, it := range items {
			return yield(it)
		}
		return errors.New("empty")
	})
}

func panics() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		if !ready {
			panic("not ready")
		}
		return yield(1)
	})
}

func replaceAfter() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		_ = yield(1)
		return scope.Replace(nil)
	})
}

func deferred() scope.Manager[*os.File] {
	return scope.Generator(func(yield func(*os.File) error) error {
		f, err := os.Open("x")
		if err != nil {
			return err
		}
		defer f.Close()
		return yield(f)
	})
}

func each(items []int, yield func(int) error) error {
	for _, it := range items {
		if err := yield(it); err != nil {
			return err
		}
	}
	return nil
}

func handedOn() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		if !ready {
			return nil
		}
		return each(items, yield)
	})
}

func nestedClosure() scope.Manager[int] {
	return scope.Generator(func(yield func(int) error) error {
		run := func() error { return yield(1) }
		if !ready {
			return nil
		}
		return run()
	})
}

func named(yield func(int) error) error {
	if !ready {
		return nil
	}
	return yield(1)
}

func namedFunction() scope.Manager[int] {
	return scope.Generator(named)
}
