package entererror

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"testing"

	"github.com/go-scope/scope"
)

var mu sync.Mutex

func statement(s *scope.Scope, path string) {
	scope.Enter(s, scope.Open(path)) // want "the error from scope.Enter is not checked"
}

func blank(s *scope.Scope, path string) {
	f, _ := scope.Enter(s, scope.Open(path)) // want "the error from scope.Enter is not checked"
	_ = f
}

func blankBoth(s *scope.Scope, path string) {
	_, _ = scope.Enter(s, scope.Open(path)) // want "the error from scope.Enter is not checked"
}

func deferred(s *scope.Scope, path string) {
	defer scope.Enter(s, scope.Open(path)) // want "the error from scope.Enter is not checked"
}

func overwritten(s *scope.Scope, p, q string) error {
	a, err := scope.Enter(s, scope.Open(p)) // want "the error from scope.Enter is not checked"
	b, err := scope.Enter(s, scope.Open(q))
	if err != nil {
		return err
	}
	_, _ = a, b
	return nil
}

func load(path string) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	_, err = scope.Enter(&s, scope.Open(path)) // want "the error from scope.Enter is not checked"
	return nil
}

func loop(s *scope.Scope, paths []string) (err error) {
	for _, p := range paths {
		_, err = scope.Enter(s, scope.Open(p)) // want "the error from scope.Enter is not checked"
	}
	return err
}

func varDecl(s *scope.Scope, path string) {
	var f, _ = scope.Enter(s, scope.Open(path)) // want "the error from scope.Enter is not checked"
	_ = f
}

func generic(s *scope.Scope, path string) {
	f, _ := scope.Enter[*os.File](s, scope.Open(path)) // want "the error from scope.Enter is not checked"
	_ = f
}

func variableManager(s *scope.Scope, m scope.Manager[int]) {
	v, _ := scope.Enter(s, m) // want "the error from scope.Enter is not checked"
	_ = v
}

func generator(s *scope.Scope) {
	scope.Enter(s, scope.Generator(func(yield func(int) error) error { return yield(1) })) // want "the error from scope.Enter is not checked"
}

func storedLock(s *scope.Scope) {
	m := scope.Lock(&mu)
	scope.Enter(s, m) // want "the error from scope.Enter is not checked"
}

func notReadReturn(s *scope.Scope, path string, quick bool) error {
	f, err := scope.Enter(s, scope.Open(path)) // want "the error from scope.Enter is not checked"
	_ = f
	if quick {
		return nil
	}
	return err
}

// Not reported.

func checked(s *scope.Scope, m scope.Manager[int]) error {
	if _, err := scope.Enter(s, m); err != nil {
		return err
	}
	return nil
}

func checkedLater(s *scope.Scope, path string) error {
	f, err := scope.Enter(s, scope.Open(path))
	name := "x"
	_ = name
	if err != nil {
		return err
	}
	_ = f
	return nil
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func helper(s *scope.Scope, path string) {
	_, err := scope.Enter(s, scope.Open(path))
	must(err)
}

func requireNoError(t *testing.T, s *scope.Scope, path string) {
	_, err := scope.Enter(s, scope.Open(path))
	if err != nil {
		t.Fatal(err)
	}
}

func switchCheck(s *scope.Scope, path string) error {
	_, err := scope.Enter(s, scope.Open(path))
	switch {
	case err != nil:
		return err
	}
	return nil
}

func returned(s *scope.Scope, path string) (*os.File, error) {
	f, err := scope.Enter(s, scope.Open(path))
	return f, err
}

func bareReturn(s *scope.Scope, path string) (f *os.File, err error) {
	f, err = scope.Enter(s, scope.Open(path))
	return
}

func joined(s *scope.Scope, p, q string) error {
	_, err1 := scope.Enter(s, scope.Open(p))
	_, err2 := scope.Enter(s, scope.Open(q))
	return errors.Join(err1, err2)
}

func lock(s *scope.Scope) {
	scope.Enter(s, scope.Lock(&mu))
	_, _ = scope.Enter(s, scope.RLock(new(sync.RWMutex)))
	v, _ := scope.Enter(s, scope.Value(1))
	_ = v
	_, _ = scope.Enter(s, scope.Suppress(fs.ErrNotExist))
	var x int
	_, _ = scope.Enter(s, scope.Swap(&x, 2))
	_, _ = scope.Enter(s, scope.Closing(os.Stdin))
}

func innerScope(outer, inner *scope.Scope) {
	scope.Enter(outer, inner)
	scope.Enter(outer, new(scope.Scope))
}

func readByClosure(s *scope.Scope, path string) func() error {
	_, err := scope.Enter(s, scope.Open(path))
	return func() error { return err }
}

func enclosing(s *scope.Scope, path string) (err error) {
	func() {
		_, err = scope.Enter(s, scope.Open(path))
	}()
	return err
}

func returnEnter(s *scope.Scope, path string) (*os.File, error) {
	return scope.Enter(s, scope.Open(path))
}

func wrap(f *os.File, err error) *os.File { return f }

func mustWrap(s *scope.Scope, path string) *os.File {
	return wrap(scope.Enter(s, scope.Open(path)))
}

func panicPath(s *scope.Scope, path string) {
	_, err := scope.Enter(s, scope.Open(path))
	panic(err)
}

func fatal(t *testing.T, s *scope.Scope, path string) {
	f, err := scope.Enter(s, scope.Open(path))
	_ = f
	t.Fatal("stop")
	_ = err
}

func addressTaken(s *scope.Scope, path string) error {
	_, err := scope.Enter(s, scope.Open(path))
	p := &err
	_ = p
	return nil
}
