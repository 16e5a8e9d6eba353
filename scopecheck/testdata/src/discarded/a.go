package discarded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-scope/scope"
)

var mu sync.Mutex

func read(f *os.File) error { return nil }
func work() error           { return nil }

func statements(s *scope.Scope, path string) {
	scope.With(scope.Open(path), read)                                                // want "the result of scope.With is discarded"
	scope.With(scope.Lock(&mu), func(*sync.Mutex) error { return work() })            // want "the result of scope.With is discarded"
	scope.WithResult(scope.Open(path), func(*os.File) (int, error) { return 1, nil }) // want "the result of scope.WithResult is discarded"
	s.CloseTimeout(time.Second)                                                       // want "the result of Scope.CloseTimeout is discarded"
	go s.Close()                                                                      // want "the result of Scope.Close is discarded"
	s.Move()                                                                          // want "the result of Scope.Move is discarded"
	s.Exit(nil)                                                                       // want "the result of Scope.Exit is discarded"
	s.CloseContext(context.Background())                                              // want "the result of Scope.CloseContext is discarded"
	s.ExitContext(context.Background(), nil)                                          // want "the result of Scope.ExitContext is discarded"
}

func deferClose() error {
	var s scope.Scope
	defer s.Close() // want "the result of Scope.Close is discarded"
	return nil
}

type server struct {
	scope.Scope
}

func promoted(srv *server) {
	srv.Close() // want "the result of Scope.Close is discarded"
}

func withLockCapturingError(n *int) {
	scope.With(scope.Lock(&mu), func(*sync.Mutex) error { // want "the result of scope.With is discarded"
		if *n > 0 {
			return errors.New("x")
		}
		return nil
	})
}

// Not reported.

func decisions(s *scope.Scope, path string) error {
	_ = scope.With(scope.Open(path), read)
	v, _ := scope.WithResult(scope.Open(path), func(*os.File) (int, error) { return 1, nil })
	_ = v
	_ = s.Move()
	fmt.Println(s.Close())
	return scope.With(scope.Open(path), read)
}

func check(err error) {}

func passed(path string) {
	check(scope.With(scope.Open(path), read))
}

func httpserver(d time.Duration) (err error) {
	var s scope.Scope
	defer func() { err = errors.Join(err, s.CloseTimeout(d)) }()
	return nil
}

func methodValue(outer, inner *scope.Scope) {
	outer.Defer(inner.Close)
}

func cleanup(t *testing.T, s *scope.Scope) {
	t.Cleanup(func() { _ = s.Close() })
}

type holder struct{ res *scope.Scope }

func stored(h *holder, s *scope.Scope) {
	h.res = s.Move()
}

type own struct{ scope.Scope }

func (o *own) Close() error { return nil }

func ownClose(o *own) {
	o.Close()
}

func exitReturned(m *holder, err error) error {
	return m.res.Exit(err)
}

func criticalSection(n *int) {
	scope.With(scope.Lock(&mu), func(*sync.Mutex) error { *n++; return nil })
	scope.With(scope.RLock(new(sync.RWMutex)), func(*sync.RWMutex) error { return nil })
	scope.With(scope.Value(1), func(int) error {
		f := func() error { return errors.New("nested literal's own") }
		_ = f
		return nil
	})
	var x int
	scope.With(scope.Swap(&x, 1), func(int) error { return nil })
}

func setenv() {
	_ = scope.With(scope.Setenv("TZ", "UTC"), func(string) error { return nil })
}

var _ io.Closer
