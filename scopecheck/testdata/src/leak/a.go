package leak

import (
	"context"
	"errors"
	"io/fs"
	"log"
	"os"
	"testing"
	"time"

	"github.com/go-scope/scope"
)

type pair struct {
	a, b *os.File
	res  *scope.Scope
}

func open(a, b string) (*pair, error) {
	s := new(scope.Scope) // want "the Scope s is not closed on all paths"
	fa, err := scope.Enter(s, scope.Open(a))
	if err != nil {
		return nil, err
	}
	fb, err := scope.Enter(s, scope.Open(b))
	if err != nil {
		return nil, err
	}
	return &pair{fa, fb, s}, nil
}

func release() error  { return nil }
func validate() error { return nil }

func job() (err error) {
	var s scope.Scope // want "the Scope s is not closed on all paths"
	s.Defer(release)
	if err := validate(); err != nil {
		return err
	}
	defer s.Unwind(&err)
	return nil
}

func worker(ctx context.Context) error { return nil }

func serve(ctx context.Context) error {
	s := scope.New(ctx) // want "the Scope s is not closed on all paths"
	s.Go(worker)
	return nil
}

func keep(s *scope.Scope, ok bool) error {
	moved := s.Move() // want "the Scope moved is not closed on all paths"
	if ok {
		return nil
	}
	return moved.Close()
}

func later(ctx context.Context) error {
	var s *scope.Scope
	s = scope.New(ctx) // want "the Scope s is not closed on all paths"
	s.Defer(release)
	return nil
}

func remade(names []string) error {
	for range names {
		s := new(scope.Scope) // want "the Scope s is not closed on all paths"
		s.Defer(release)
	}
	return nil
}

func composite() error {
	s := &scope.Scope{} // want "the Scope s is not closed on all paths"
	s.Push(func(err error) error { return err })
	return nil
}

func varInit() error {
	var s = new(scope.Scope)               // want "the Scope s is not closed on all paths"
	_, _ = scope.Enter(s, scope.Open("x")) // want "the error from scope.Enter is not checked"
	return nil
}

func enterUnchecked(path string) error {
	s := new(scope.Scope)            // want "the Scope s is not closed on all paths"
	scope.Enter(s, scope.Open(path)) // want "the error from scope.Enter is not checked"
	return nil
}

func errorIgnoredBranch(path string) error {
	s := new(scope.Scope) // want "the Scope s is not closed on all paths"
	f, err := scope.Enter(s, scope.Open(path))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	_ = f
	return nil
}

func errNilBranch(path string) error {
	s := new(scope.Scope) // want "the Scope s is not closed on all paths"
	f, err := scope.Enter(s, scope.Open(path))
	if err == nil && f.Name() == "" {
		return nil
	}
	return s.Close()
}

// Not reported.

func unwound() (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	s.Defer(release)
	return nil
}

func earlyReturn() (err error) {
	var s scope.Scope
	if err := validate(); err != nil {
		return err
	}
	defer s.Unwind(&err)
	s.Defer(release)
	return nil
}

type file struct {
	f   *os.File
	res *scope.Scope
}

func constructor(path string) (*file, error) {
	s := new(scope.Scope)
	f, err := scope.Enter(s, scope.Open(path))
	if err != nil {
		return nil, err
	}
	return &file{f: f, res: s}, nil
}

func returnedScope(path string) (*scope.Scope, error) {
	s := new(scope.Scope)
	s.Defer(release)
	return s, nil
}

type holder struct{ res *scope.Scope }

func stored(j *holder) {
	s := new(scope.Scope)
	s.Defer(release)
	j.res = s
}

type server struct{ resources *scope.Scope }

func moveOut() (*server, error) {
	var s scope.Scope
	s.Defer(release)
	return &server{resources: s.Move()}, nil
}

func deadline(d time.Duration) (err error) {
	var s scope.Scope
	defer func() { err = errors.Join(err, s.CloseTimeout(d)) }()
	return nil
}

func closeAll(s *scope.Scope) error { return s.Close() }

func helper() error {
	s := new(scope.Scope)
	s.Defer(release)
	return closeAll(s)
}

func nested(outer *scope.Scope) {
	inner := new(scope.Scope)
	inner.Defer(release)
	scope.Enter(outer, inner)
}

func withScope() error {
	s := new(scope.Scope)
	s.Defer(release)
	return scope.With(s, func(*scope.Scope) error { return nil })
}

func forTest(t *testing.T) {
	s := scope.ForTest(t)
	s.Defer(release)
}

func tcpproxy(ctx context.Context) (err error) {
	s := scope.New(ctx)
	s.SetCancelOnError(false)
	defer s.Unwind(&err)
	s.Go(worker)
	return nil
}

func fatal(path string) error {
	s := new(scope.Scope)
	s.Defer(release)
	if path == "" {
		log.Fatal("no path")
	}
	if path == "-" {
		panic("dash")
	}
	return s.Close()
}

func nothingRegistered() error {
	s := new(scope.Scope)
	_ = s.SetLimit
	return nil
}

func nothingAtAll() error {
	var s scope.Scope
	if s.Move() == nil {
		return nil
	}
	return nil
}

func serverLoop(ctx context.Context) error {
	s := scope.New(ctx)
	s.Go(worker)
	for {
		time.Sleep(time.Second)
	}
}

func enterChecked(path string) error {
	s := new(scope.Scope)
	f, err := scope.Enter(s, scope.Open(path))
	if err != nil {
		return err
	}
	_ = f
	return s.Close()
}

func usedByClosure() error {
	s := new(scope.Scope)
	s.Defer(release)
	done := func() error { return s.Close() }
	return done()
}

func compared(other *scope.Scope) error {
	s := new(scope.Scope)
	s.Defer(release)
	if s == other {
		return s.Close()
	}
	return s.Close()
}

func wrap(err error) error { return err }

func errReassigned(path string) error {
	s := new(scope.Scope) // want "the Scope s is not closed on all paths"
	_, err := scope.Enter(s, scope.Open(path))
	err = wrap(err)
	if err != nil {
		return err
	}
	return s.Close()
}

func switchOnErr(path string) error {
	s := new(scope.Scope)
	_, err := scope.Enter(s, scope.Open(path))
	switch {
	case err != nil:
		return err
	}
	return s.Close()
}

func forOnErr(paths []string) error {
	s := new(scope.Scope)
	var err error
	for _, err = scope.Enter(s, scope.Open(paths[0])); err == nil; {
		return s.Close()
	}
	return err
}

func twoEnters(a, b string) (err error) {
	s := new(scope.Scope) // want "the Scope s is not closed on all paths"
	if _, err := scope.Enter(s, scope.Open(a)); err != nil {
		return err
	}
	if _, err := scope.Enter(s, scope.Open(b)); err != nil {
		return err // leaks the first
	}
	defer s.Unwind(&err)
	return nil
}

func namedResult() (s *scope.Scope) {
	s = new(scope.Scope)
	s.Defer(release)
	return
}
