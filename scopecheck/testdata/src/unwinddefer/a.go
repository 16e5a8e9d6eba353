package unwinddefer

import (
	"errors"
	"testing"

	"github.com/go-scope/scope"
)

func deferredClosure() (err error) {
	var s scope.Scope
	defer func() { s.Unwind(&err) }() // want "Unwind must be called directly by a defer statement"
	return nil
}

func cleanup(t *testing.T) {
	s := new(scope.Scope)
	var err error
	t.Cleanup(func() { s.Unwind(&err) }) // want "Unwind must be called directly by a defer statement"
}

type server struct {
	scope.Scope
	name string
}

func work() error { return errors.New("x") }

func finish(srv *server) (err error) {
	err = work()
	srv.Unwind(&err) // want "Unwind must be called directly by a defer statement"
	return err
}

func inGo() (err error) {
	var s scope.Scope
	go s.Unwind(&err) // want "Unwind must be called directly by a defer statement"
	return nil
}

func deferredClosureTwoStatements() (err error) {
	var s scope.Scope
	defer func() {
		s.Unwind(&err) // want "Unwind must be called directly by a defer statement"
		_ = err
	}()
	return nil
}

// Not reported.

func direct() (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	return nil
}

type job struct{ res *scope.Scope }

func (j *job) field() (err error) {
	defer j.res.Unwind(&err)
	return nil
}

func promoted(srv *server) (err error) {
	defer srv.Unwind(&err)
	return nil
}

func inLoop(names []string) (err error) {
	for range names {
		var s scope.Scope
		defer s.Unwind(&err)
	}
	return nil
}

func inLiteral() error {
	return func() (err error) {
		var s scope.Scope
		defer s.Unwind(&err)
		return nil
	}()
}

type other struct{}

func (other) Unwind(*error) {}

func otherUnwind() (err error) {
	var o other
	o.Unwind(&err)
	return nil
}

func parens() (err error) {
	var s scope.Scope
	defer (s.Unwind)(&err)
	return nil
}
