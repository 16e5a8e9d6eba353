package fixes

import "github.com/go-scope/scope"

type holder struct{ s scope.Scope }

func closure() (err error) {
	var s scope.Scope
	defer func() { s.Unwind(&err) }() // want "Unwind must be called directly by a defer statement"
	return nil
}

func closureField(h *holder) (err error) {
	defer func() { h.s.Unwind(&err) }() // want "Unwind must be called directly by a defer statement"
	return nil
}

func deferClose() (err error) {
	var s scope.Scope
	defer s.Close() // want "the result of Scope.Close is discarded"
	return nil
}

func deferCloseRenamed() (n int, failure error) {
	s := new(scope.Scope)
	defer s.Close() // want "the result of Scope.Close is discarded"
	return 0, nil
}

// Findings without a fix.

func closureTwoStatements() (err error) {
	var s scope.Scope
	defer func() {
		s.Unwind(&err) // want "Unwind must be called directly by a defer statement"
		_ = 1
	}()
	return nil
}

func closureWithArgument() (err error) {
	var s scope.Scope
	defer func(errp *error) { s.Unwind(errp) }(&err) // want "Unwind must be called directly by a defer statement"
	return nil
}

func unnamedResult() error {
	var s scope.Scope
	defer s.Close() // want "the result of Scope.Close is discarded"
	return nil
}

func shadowed() (err error) {
	var s scope.Scope
	{
		err := 1
		_ = err
		defer s.Close() // want "the result of Scope.Close is discarded"
	}
	return nil
}

func blankResult() (_ error) {
	var s scope.Scope
	defer s.Close() // want "the result of Scope.Close is discarded"
	return nil
}

func notClose(s *scope.Scope) {
	defer s.Move() // want "the result of Scope.Move is discarded"
}
