package lookalike

import (
	other "example.com/other/scope"
	"github.com/go-scope/scope"
)

type m struct{}

func (m) Enter() (int, error)  { return 0, nil }
func (m) Exit(err error) error { return nil }

// Nothing here is reported: the look-alike is not the library.
func lookalike() error {
	var err error
	s := other.New()
	s.Defer(func() error { return nil })
	defer s.Unwind(&err)
	s.Unwind(nil)
	other.Enter(s, m{})
	s.Close()
	other.With[int](m{}, func(int) error { return other.Replace(nil) })
	other.Generator(func(yield func(int) error) error { return nil })
	return nil
}

func library() (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	return nil
}
