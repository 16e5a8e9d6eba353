package scope_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/go-scope/scope"
)

// ExampleWith runs a block under a manager: the exit sees how the block ended.
func ExampleWith() {
	conn := scope.Func(func() (string, error) {
		fmt.Println("connect")
		return "conn-1", nil
	}, func(c string, err error) error {
		fmt.Printf("disconnect %s after: %v\n", c, err)
		return nil
	})

	err := scope.With(conn, func(c string) error {
		fmt.Println("using", c)
		return errors.New("query failed")
	})
	fmt.Println("With returned:", err)
	// Output:
	// connect
	// using conn-1
	// disconnect conn-1 after: query failed
	// With returned: query failed
}

// ExampleWithResult returns a value computed under a lock.
func ExampleWithResult() {
	var (
		mu     sync.Mutex
		counts = map[string]int{"a": 1}
	)
	n, err := scope.WithResult(scope.Lock(&mu), func(*sync.Mutex) (int, error) {
		counts["a"]++
		return counts["a"], nil
	})
	fmt.Println(n, err)
	// Output: 2 <nil>
}

// ExampleFunc builds a manager from an enter and an exit function; the
// exit's error is added to the block's, never in place of it.
func ExampleFunc() {
	tx := scope.Func(func() (string, error) {
		return "tx", nil
	}, func(tx string, err error) error {
		if err != nil {
			fmt.Println("rollback")
			return errors.New("rollback failed")
		}
		fmt.Println("commit")
		return nil
	})

	err := scope.With(tx, func(string) error { return errors.New("insert failed") })
	fmt.Println(err)
	// Output:
	// rollback
	// insert failed; rollback failed
}

// ExampleGenerator writes a manager as one function, like @contextmanager:
// the code after yield runs even when the block panics.
func ExampleGenerator() {
	tag := func(name string) scope.Manager[string] {
		return scope.Generator(func(yield func(string) error) error {
			fmt.Printf("<%s>\n", name)
			err := yield(name)
			fmt.Printf("</%s>\n", name)
			return err
		})
	}

	_ = scope.With(tag("p"), func(string) error {
		return scope.With(tag("b"), func(string) error {
			fmt.Println("hello")
			return nil
		})
	})
	// Output:
	// <p>
	// <b>
	// hello
	// </b>
	// </p>
}

// ExampleScope enters a number of resources known only at run time, and
// releases them in reverse order, as Python's ExitStack does.
func ExampleScope() {
	open := func(name string) scope.Manager[string] {
		return scope.Func(func() (string, error) {
			fmt.Println("open", name)
			return name, nil
		}, func(name string, err error) error {
			fmt.Println("close", name)
			return nil
		})
	}

	err := scope.With(new(scope.Scope), func(s *scope.Scope) error {
		for _, name := range []string{"a", "b", "c"} {
			if _, err := scope.Enter(s, open(name)); err != nil {
				return err
			}
		}
		fmt.Println("all open")
		return nil
	})
	fmt.Println(err)
	// Output:
	// open a
	// open b
	// open c
	// all open
	// close c
	// close b
	// close a
	// <nil>
}

// ExampleScope_Unwind ties a scope to a function: defer s.Unwind(&err) runs
// the exits with the function's outcome and stores the final outcome in err.
func ExampleScope_Unwind() {
	run := func() (err error) {
		var s scope.Scope
		defer s.Unwind(&err)

		s.Push(func(err error) error {
			fmt.Println("exit sees:", err)
			return nil
		})
		s.Defer(func() error { return errors.New("flush failed") })
		return errors.New("job failed")
	}
	fmt.Println("run returned:", run())
	// Output:
	// exit sees: job failed; flush failed
	// run returned: job failed; flush failed
}

// ExampleScope_Move hands the resources a constructor acquired to its result,
// once every step has succeeded; on failure they are released.
func ExampleScope_Move() {
	type server struct{ resources *scope.Scope }
	newServer := func(fail bool) (_ *server, err error) {
		var s scope.Scope
		defer s.Unwind(&err) // releases everything unless moved
		s.Defer(func() error { fmt.Println("release listener"); return nil })
		if fail {
			return nil, errors.New("config invalid")
		}
		s.Defer(func() error { fmt.Println("release cache"); return nil })
		return &server{resources: s.Move()}, nil
	}

	_, err := newServer(true)
	fmt.Println("failed:", err)
	srv, _ := newServer(false)
	fmt.Println("running")
	fmt.Println("closed:", srv.resources.Close())
	// Output:
	// release listener
	// failed: config invalid
	// running
	// release cache
	// release listener
	// closed: <nil>
}

// ExampleSuppress ignores an error the block may return, like Python's
// contextlib.suppress.
func ExampleSuppress() {
	err := scope.With(scope.Suppress(fs.ErrNotExist), func(struct{}) error {
		return os.Remove("/no/such/file")
	})
	fmt.Println(err)
	// Output: <nil>
}

// ExampleClosing closes an io.Closer when the block ends.
func ExampleClosing() {
	r := &reader{Reader: strings.NewReader("hello")}
	err := scope.With(scope.Closing(r), func(r *reader) error {
		buf := make([]byte, 5)
		_, err := r.Read(buf)
		fmt.Println(string(buf))
		return err
	})
	fmt.Println(err, r.closed)
	// Output:
	// hello
	// <nil> true
}

type reader struct {
	*strings.Reader
	closed bool
}

func (r *reader) Close() error { r.closed = true; return nil }

// ExampleReplace substitutes the block's outcome from an exit: here, a
// panic becomes an error, as an HTTP handler's recovery would.
func ExampleReplace() {
	recovering := scope.Func(func() (struct{}, error) {
		return struct{}{}, nil
	}, func(_ struct{}, err error) error {
		var pe *scope.PanicError
		if errors.As(err, &pe) {
			return scope.Replace(fmt.Errorf("recovered: %v", pe.Value))
		}
		return nil
	})
	err := scope.With(recovering, func(struct{}) error { panic("nil map") })
	fmt.Println(err)
	// Output: recovered: nil map
}
