// Package scope is a look-alike of the library at another import path: the
// analyzer must never report its uses.
package scope

type Manager[T any] interface {
	Enter() (T, error)
	Exit(err error) error
}

type Scope struct{}

func New() *Scope                      { return new(Scope) }
func (s *Scope) Unwind(errp *error)    {}
func (s *Scope) Close() error          { return nil }
func (s *Scope) Defer(fn func() error) {}

func Enter[T any](s *Scope, m Manager[T]) (T, error)                  { return m.Enter() }
func With[T any](m Manager[T], body func(T) error) error              { return nil }
func Replace(err error) error                                         { return err }
func Generator[T any](gen func(yield func(T) error) error) Manager[T] { return nil }
