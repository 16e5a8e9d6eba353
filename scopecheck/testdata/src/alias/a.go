package alias

import (
	"os"

	sc "github.com/go-scope/scope"
)

type Stack = sc.Scope

type server struct{ Stack }

func aliased() error {
	var err error
	var s Stack
	defer s.Unwind(&err) // want "Unwind must be given the address of the function's named error result"
	return nil
}

func imported(s *sc.Scope, path string) {
	sc.Enter(s, sc.Open(path)) // want "the error from scope.Enter is not checked"
}

func typeAliasLeak() error {
	s := new(Stack) // want "the Scope s is not closed on all paths"
	s.Defer(func() error { return nil })
	return nil
}

func embedded(srv *server) {
	defer srv.Close() // want "the result of Scope.Close is discarded"
}

func ok(path string) (err error) {
	var s Stack
	defer s.Unwind(&err)
	_, err = sc.Enter(&s, sc.Open(path))
	if err != nil {
		return err
	}
	return sc.With(sc.Open(path), func(*os.File) error { return nil })
}
