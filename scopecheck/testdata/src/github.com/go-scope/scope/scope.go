// Package scope is a stub of github.com/go-scope/scope for the analyzer's
// tests: the real package's exported API with the same signatures, and bodies
// that do nothing and return normally, so that ctrlflow takes none of them
// for a function that never returns. TestStubMatchesLibrary keeps it in step
// with the real package.
package scope

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

var (
	ErrExtraYield   = errors.New("scope: generator called yield more than once")
	ErrGoexit       = errors.New("scope: block called runtime.Goexit")
	ErrLocked       = errors.New("scope: the lock is held by another holder")
	ErrNoYield      = errors.New("scope: generator returned without calling yield")
	ErrNotSupported = errors.New("scope: file locks are not supported on this system")
	ErrTestFailed   = errors.New("scope: test failed")
	ErrTestSkipped  = errors.New("scope: test skipped")
)

type Manager[T any] interface {
	Enter() (T, error)
	Exit(err error) error
}

type ContextExiter interface {
	ExitContext(ctx context.Context, err error) error
}

type ContextLocker interface {
	LockContext(ctx context.Context) error
	Unlock()
}

type TxBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

type TestingT interface {
	Cleanup(func())
	Error(args ...any)
	Failed() bool
	Helper()
}

type Leak struct {
	Kind  string
	Stack []byte
}

type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return "panic" }
func (p *PanicError) Unwrap() error { return nil }

type Mutex struct{ mu sync.Mutex }

func (m *Mutex) Lock()                                 {}
func (m *Mutex) LockContext(ctx context.Context) error { return nil }
func (m *Mutex) TryLock() bool                         { return true }
func (m *Mutex) Unlock()                               {}

type Scope struct{ mu sync.Mutex }

func New(ctx context.Context) *Scope { return new(Scope) }
func ForTest(t TestingT) *Scope      { return new(Scope) }

func (s *Scope) Close() error                                                { return nil }
func (s *Scope) CloseContext(ctx context.Context) error                      { return nil }
func (s *Scope) CloseTimeout(d time.Duration) error                          { return nil }
func (s *Scope) Defer(fn func() error)                                       {}
func (s *Scope) Enter() (*Scope, error)                                      { return s, nil }
func (s *Scope) Exit(err error) error                                        { return err }
func (s *Scope) ExitContext(ctx context.Context, err error) error            { return err }
func (s *Scope) Go(fn func(ctx context.Context) error)                       {}
func (s *Scope) Move() *Scope                                                { return new(Scope) }
func (s *Scope) Push(exit func(err error) error)                             {}
func (s *Scope) PushContext(exit func(ctx context.Context, err error) error) {}
func (s *Scope) SetCancelOnError(cancel bool)                                {}
func (s *Scope) SetLimit(n int)                                              {}
func (s *Scope) Unwind(errp *error)                                          {}
func (s *Scope) Wait() error                                                 { return nil }

func Enter[T any](s *Scope, m Manager[T]) (T, error) { return m.Enter() }
func With[T any](m Manager[T], body func(T) error) error {
	v, err := m.Enter()
	if err != nil {
		return err
	}
	return m.Exit(body(v))
}
func WithResult[T, R any](m Manager[T], body func(T) (R, error)) (R, error) {
	var r R
	return r, nil
}
func Replace(err error) error                         { return err }
func SetLeakHandler(h func(Leak))                     {}
func RemoveAtomicTemps(name string) ([]string, error) { return nil, nil }

type manager[T any] struct{ v T }

func (m *manager[T]) Enter() (T, error)    { return m.v, nil }
func (m *manager[T]) Exit(err error) error { return nil }

func Chdir(dir string) Manager[string]                 { return &manager[string]{} }
func Closing[T io.Closer](v T) Manager[T]              { return &manager[T]{v: v} }
func Create(name string) Manager[*os.File]             { return &manager[*os.File]{} }
func CreateTemp(dir, pattern string) Manager[*os.File] { return &manager[*os.File]{} }
func FileLock(path string) Manager[*os.File]           { return &manager[*os.File]{} }
func Func[T any](enter func() (T, error), exit func(v T, err error) error) Manager[T] {
	return &manager[T]{}
}
func Generator[T any](gen func(yield func(T) error) error) Manager[T]    { return &manager[T]{} }
func Lock[L sync.Locker](l L) Manager[L]                                 { return &manager[L]{v: l} }
func LockContext[L ContextLocker](ctx context.Context, l L) Manager[L]   { return &manager[L]{v: l} }
func MkdirTemp(dir, pattern string) Manager[string]                      { return &manager[string]{} }
func Open(name string) Manager[*os.File]                                 { return &manager[*os.File]{} }
func OpenFile(name string, flag int, perm os.FileMode) Manager[*os.File] { return &manager[*os.File]{} }
func RLock(rw *sync.RWMutex) Manager[*sync.RWMutex]                      { return &manager[*sync.RWMutex]{v: rw} }
func Setenv(key, value string) Manager[string]                           { return &manager[string]{} }
func Suppress(targets ...error) Manager[struct{}]                        { return &manager[struct{}]{} }
func Swap[T any](p *T, v T) Manager[T]                                   { return &manager[T]{v: v} }
func TryFileLock(path string) Manager[*os.File]                          { return &manager[*os.File]{} }
func Tx(ctx context.Context, db TxBeginner, opts *sql.TxOptions) Manager[*sql.Tx] {
	return &manager[*sql.Tx]{}
}
func Value[T any](v T) Manager[T]                                     { return &manager[T]{v: v} }
func WriteFileAtomic(name string, perm os.FileMode) Manager[*os.File] { return &manager[*os.File]{} }
