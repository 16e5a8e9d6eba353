package scope_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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

// ExampleScope_Go runs workers owned by a scope: the scope does not finish
// unwinding until they have returned, and every failure is reported.
func ExampleScope_Go() {
	var s scope.Scope
	for _, name := range []string{"fetch", "parse", "index"} {
		s.Go(func(ctx context.Context) error {
			if name == "parse" {
				return fmt.Errorf("%s: bad input", name)
			}
			<-ctx.Done() // canceled by the first failure
			return ctx.Err()
		})
	}
	fmt.Println(s.Close())
	// Output: parse: bad input
}

// ExampleScope_CloseContext bounds a whole teardown with one deadline: every
// exit still runs, and the deadline is reported once.
func ExampleScope_CloseContext() {
	var s scope.Scope
	s.Defer(func() error { fmt.Println("close log file"); return nil })
	s.PushContext(func(ctx context.Context, err error) error {
		<-ctx.Done() // a shutdown that waits for in-flight work
		fmt.Println("server stopped:", ctx.Err())
		return ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	fmt.Println(s.CloseContext(ctx))
	// Output:
	// server stopped: context deadline exceeded
	// close log file
	// context deadline exceeded
}

// ExampleLock runs a block under a mutex, which is unlocked whatever happens.
func ExampleLock() {
	var (
		mu    sync.Mutex
		count int
	)
	_ = scope.With(scope.Lock(&mu), func(*sync.Mutex) error {
		count++
		return nil
	})
	fmt.Println(count, mu.TryLock())
	// Output: 1 true
}

// ExampleWriteFileAtomic replaces a file only if the whole write succeeded.
func ExampleWriteFileAtomic() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "config.json")
	_ = os.WriteFile(name, []byte(`{"v": 1}`), 0o644)

	err := scope.With(scope.WriteFileAtomic(name, 0o644), func(f *os.File) error {
		fmt.Fprint(f, `{"v": 2, "trunc`)
		return errors.New("encoder failed")
	})
	content, _ := os.ReadFile(name)
	fmt.Println(err)
	fmt.Println(string(content))
	// Output:
	// encoder failed
	// {"v": 1}
}

// ExampleSetenv sets an environment variable for the length of a block and
// then unsets it again, since it was unset before.
func ExampleSetenv() {
	_ = scope.With(scope.Setenv("SCOPE_EXAMPLE", "on"), func(string) error {
		fmt.Println(os.Getenv("SCOPE_EXAMPLE"))
		return nil
	})
	_, set := os.LookupEnv("SCOPE_EXAMPLE")
	fmt.Println(set)
	// Output:
	// on
	// false
}

// ExampleSwap redirects a package-level writer for the length of a block,
// like Python's redirect_stdout.
func ExampleSwap() {
	var buf strings.Builder
	_ = scope.With(scope.Swap(&logOutput, io.Writer(&buf)), func(io.Writer) error {
		fmt.Fprint(logOutput, "captured")
		return nil
	})
	fmt.Println(buf.String(), logOutput == os.Stderr)
	// Output: captured true
}

var logOutput io.Writer = os.Stderr

// ExampleOpen reads a file that is closed when the block ends; a close error
// would be added to the block's.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "greeting.txt")
	_ = os.WriteFile(name, []byte("hello"), 0o600)

	err := scope.With(scope.Open(name), func(f *os.File) error {
		b, err := io.ReadAll(f)
		fmt.Println(string(b))
		return err
	})
	fmt.Println(err)
	// Output:
	// hello
	// <nil>
}

// ExampleCreateTemp uses a scratch file that is removed when the block ends.
func ExampleCreateTemp() {
	var name string
	_ = scope.With(scope.CreateTemp("", "scratch-*"), func(f *os.File) error {
		name = f.Name()
		_, err := f.WriteString("intermediate results")
		return err
	})
	_, err := os.Stat(name)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output: true
}

// ExampleMkdirTemp works in a directory that is removed, with everything in
// it, when the block ends.
func ExampleMkdirTemp() {
	var dir string
	_ = scope.With(scope.MkdirTemp("", "work-*"), func(d string) error {
		dir = d
		return os.WriteFile(filepath.Join(d, "out.txt"), []byte("x"), 0o600)
	})
	_, err := os.Stat(dir)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output: true
}

// ExampleChdir runs a block in another working directory, like Python's
// contextlib.chdir.
func ExampleChdir() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	before, _ := os.Getwd()
	_ = scope.With(scope.Chdir(dir), func(string) error {
		return os.WriteFile("here.txt", []byte("x"), 0o600) // relative to dir
	})
	after, _ := os.Getwd()
	_, err := os.Stat(filepath.Join(dir, "here.txt"))
	fmt.Println(err == nil, before == after)
	// Output: true true
}

// ExampleTryFileLock refuses to run a job twice at once, across processes.
func ExampleTryFileLock() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	lock := filepath.Join(dir, "job.lock")

	err := scope.With(scope.TryFileLock(lock), func(*os.File) error {
		// A second holder, here in the same process, is refused at once.
		return scope.With(scope.TryFileLock(lock), func(*os.File) error { return nil })
	})
	fmt.Println(errors.Is(err, scope.ErrLocked))
	// Output: true
}

// ExampleLockContext waits for a lock no longer than a deadline.
func ExampleLockContext() {
	var mu scope.Mutex
	mu.Lock() // held elsewhere
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := scope.With(scope.LockContext(ctx, &mu), func(*scope.Mutex) error {
		fmt.Println("never printed")
		return nil
	})
	fmt.Println(err)
	// Output: context deadline exceeded
}

// ExampleRLock reads shared state under a read lock.
func ExampleRLock() {
	var (
		rw     sync.RWMutex
		config = map[string]string{"mode": "fast"}
	)
	mode, _ := scope.WithResult(scope.RLock(&rw), func(*sync.RWMutex) (string, error) {
		return config["mode"], nil
	})
	fmt.Println(mode)
	// Output: fast
}

// ExampleValue passes a value where a Manager is expected and there is
// nothing to release: Python's nullcontext.
func ExampleValue() {
	output := func(path string) scope.Manager[io.Writer] {
		if path == "-" {
			return scope.Value[io.Writer](os.Stdout) // not ours to close
		}
		return scope.Func(func() (io.Writer, error) { return os.Create(path) },
			func(w io.Writer, _ error) error { return w.(*os.File).Close() })
	}
	_ = scope.With(output("-"), func(w io.Writer) error {
		_, err := fmt.Fprintln(w, "to standard output")
		return err
	})
	// Output: to standard output
}

// ExampleEnter enters managers into a scope one by one, stopping at the
// first that fails; what was entered is still released.
func ExampleEnter() {
	open := func(name string, fail bool) scope.Manager[string] {
		return scope.Func(func() (string, error) {
			if fail {
				return "", fmt.Errorf("open %s: refused", name)
			}
			fmt.Println("open", name)
			return name, nil
		}, func(name string, _ error) error { fmt.Println("close", name); return nil })
	}
	err := func() (err error) {
		var s scope.Scope
		defer s.Unwind(&err)
		for i, name := range []string{"a", "b", "c"} {
			if _, err := scope.Enter(&s, open(name, i == 2)); err != nil {
				return err
			}
		}
		return nil
	}()
	fmt.Println(err)
	// Output:
	// open a
	// open b
	// close b
	// close a
	// open c: refused
}

// ExampleSetLeakHandler reports scopes that were dropped without being
// unwound; install it in tests or in a debug build.
func ExampleSetLeakHandler() {
	scope.SetLeakHandler(func(l scope.Leak) {
		fmt.Fprintf(os.Stderr, "leaked %s, first exit registered at:\n%s", l.Kind, l.Stack)
	})
	defer scope.SetLeakHandler(nil)
	// ... run the code under test ...
}

// ExampleCreate writes a file that is closed when the block ends: an error
// that only shows at close (a full disk, a network file system) is added to
// the block's outcome rather than lost.
func ExampleCreate() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	err := scope.With(scope.Create(filepath.Join(dir, "report.txt")), func(f *os.File) error {
		_, err := fmt.Fprintln(f, "all good")
		return err
	})
	fmt.Println(err)
	// Output: <nil>
}

// ExampleFileLock serializes work between processes: a second holder waits
// until the first lets go.
func ExampleFileLock() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	lock := filepath.Join(dir, "db.lock")
	err := scope.With(scope.FileLock(lock), func(*os.File) error {
		fmt.Println("migrating, other processes wait")
		return nil
	})
	fmt.Println(err)
	// Output:
	// migrating, other processes wait
	// <nil>
}

// fakeT is a scope.TestingT that prints what a test would report, as go-cmp's
// examples do with a fake testing.T: a real test passes its *testing.T.
type fakeT struct {
	cleanups []func()
	failed   bool
}

func (t *fakeT) Cleanup(f func())  { t.cleanups = append(t.cleanups, f) }
func (t *fakeT) Error(args ...any) { t.failed = true; fmt.Println(args...) }
func (t *fakeT) Failed() bool      { return t.failed }
func (t *fakeT) Helper()           {}

// end runs the cleanups, as the testing package does when a test ends.
func (t *fakeT) end() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// ExampleForTest gives a test a Scope that unwinds when the test ends; a
// teardown that fails fails the test.
func ExampleForTest() {
	t := &fakeT{}
	s := scope.ForTest(t)
	dir, err := scope.Enter(s, scope.MkdirTemp("", "fortest"))
	if err != nil {
		fmt.Println(err)
		return
	}
	s.Defer(func() error { return errors.New("flush: disk full") })
	fmt.Println("temporary directory exists:", exists(dir))
	t.end()
	fmt.Println("after the test:", exists(dir), "failed:", t.Failed())
	// Output:
	// temporary directory exists: true
	// scope: teardown failed: flush: disk full
	// after the test: false failed: true
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ExampleNew gives the goroutines of a Scope a context to stop by: a
// long-running loop stops when it is canceled, and the Scope waits for it
// before its exits run.
func ExampleNew() {
	ctx, cancel := context.WithCancel(context.Background())
	s := scope.New(ctx)
	s.Defer(func() error { fmt.Println("listener closed"); return nil })
	s.Go(func(ctx context.Context) error {
		<-ctx.Done() // an accept loop, until told to stop
		fmt.Println("accept loop stopped")
		return nil
	})
	cancel()
	fmt.Println(s.Close())
	// Output:
	// accept loop stopped
	// listener closed
	// <nil>
}

// ExampleScope_Wait waits for the goroutines without unwinding, as
// errgroup.Wait does; the next unwinding still sees their failures.
func ExampleScope_Wait() {
	var s scope.Scope
	var mu sync.Mutex
	sizes := map[string]int{}
	for _, name := range []string{"a.txt", "b.txt"} {
		s.Go(func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			sizes[name] = len(name)
			return nil
		})
	}
	if err := s.Wait(); err != nil {
		fmt.Println(err)
	}
	fmt.Println(sizes["a.txt"]+sizes["b.txt"], s.Close())
	// Output: 10 <nil>
}

// ExampleScope_SetLimit runs at most two goroutines at once.
func ExampleScope_SetLimit() {
	var s scope.Scope
	s.SetLimit(2)
	var running, most int
	var mu sync.Mutex
	for range 6 {
		s.Go(func(context.Context) error {
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
			return nil
		})
	}
	fmt.Println(s.Close(), most <= 2)
	// Output: <nil> true
}

// ExampleScope_CloseTimeout bounds a shutdown: a goroutine that runs until
// canceled is waited for until the deadline, then canceled, and the
// deadline is reported.
func ExampleScope_CloseTimeout() {
	var s scope.Scope
	s.Go(func(ctx context.Context) error {
		<-ctx.Done() // a worker that finishes only when told to
		return nil
	})
	fmt.Println(s.CloseTimeout(10 * time.Millisecond))
	// Output: context deadline exceeded
}

// ExampleRemoveAtomicTemps removes what a crash during WriteFileAtomic left
// behind, while the lock that keeps writers apart is held.
func ExampleRemoveAtomicTemps() {
	dir, err := os.MkdirTemp("", "temps")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	// What a writer killed halfway through leaves.
	if err := os.WriteFile(filepath.Join(dir, ".report-1.csv.tmp123456"), nil, 0o600); err != nil {
		fmt.Println(err)
		return
	}
	err = scope.With(scope.TryFileLock(filepath.Join(dir, ".lock")), func(*os.File) error {
		removed, err := scope.RemoveAtomicTemps(filepath.Join(dir, "report-*.csv"))
		for _, path := range removed {
			fmt.Println("removed", filepath.Base(path))
		}
		return err
	})
	fmt.Println(err)
	// Output:
	// removed .report-1.csv.tmp123456
	// <nil>
}
