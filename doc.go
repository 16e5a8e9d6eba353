// Package scope brings Python's context managers to Go: resources that are
// acquired, used by a block, and released in a way that depends on how the
// block ended, packaged as reusable values.
//
// Go's defer releases a resource, but it does not tell the release how the
// function ended, and the usual ways around that each lose something: the
// block's error, a panic's stack, a second cleanup after the first one
// panicked, or a runtime.Goexit. This package loses none of them, and it
// fails closed: whenever it cannot tell that a block succeeded, the exits see
// a failure, never nil, so a transaction commits and a file is published only
// on success.
//
// # Managers
//
// A [Manager] has an Enter that acquires a value and an Exit that releases it.
// Exit receives the block's outcome and returns a result:
//
//	type Manager[T any] interface {
//		Enter() (T, error)
//		Exit(err error) error
//	}
//
// The outcome of a block is nil (it returned nil), its error, a [*PanicError]
// (it panicked; the PanicError holds the value and the stack), or [ErrGoexit]
// (it called runtime.Goexit, as t.FailNow does). [Func] builds a Manager from
// two functions, [Closing] from an io.Closer, [Value] from a plain value, and
// [Suppress] makes one that swallows chosen errors. The package also ships
// managers for files, locks, the environment, the working directory and SQL
// transactions.
//
// # The rules
//
// Every exit (a Manager's Exit, a [Func] exit, a [Generator]'s return value, an
// exit in a [Scope]) returns a result r, which changes the outcome like this:
//
//  1. r == nil: the outcome is unchanged. A teardown that succeeded says
//     nothing.
//  2. r was made by [Replace](x): the outcome becomes x; Replace(nil)
//     suppresses it. This is the only way to suppress or substitute.
//  3. the outcome is non-nil and r already carries it: r replaces it. r
//     carries the outcome when errors.Is(r, outcome), or, when the outcome is a
//     combination of errors, when every one of its parts is found in r. So an
//     exit that returns the error it was given, wrapped (fmt.Errorf with %w),
//     joined (errors.Join), or appended to (multierr.Append(err, f.Close()),
//     which flattens its input into a new error), duplicates nothing.
//  4. otherwise the outcome becomes the combination of both, the block's error
//     first and then the teardown errors in the order they happened.
//     errors.Is and errors.As reach every part, also parts made by errors.Join.
//
// So an exit written the plain Go way, return f.Close(), never loses the
// block's error, and one written the Python way, return err, never duplicates
// it.
//
// # With
//
// [With] enters a Manager, runs a block, and exits:
//
//	func loadConfig(path string) (cfg Config, err error) {
//		err = scope.With(scope.Open(path), func(f *os.File) error {
//			return json.NewDecoder(f).Decode(&cfg)
//		})
//		return cfg, err
//	}
//
// [WithResult] is the same for a block that returns a value.
//
// # Generators
//
// [Generator] is Python's @contextmanager: one function does the setup, calls
// yield once, and does the teardown. yield returns the block's outcome and
// never panics, so the teardown after it runs when the block returned an
// error or panicked:
//
//	func tempDir() scope.Manager[string] {
//		return scope.Generator(func(yield func(string) error) error {
//			dir, err := os.MkdirTemp("", "job")
//			if err != nil {
//				return err
//			}
//			err = yield(dir)
//			return errors.Join(err, os.RemoveAll(dir))
//		})
//	}
//
// One exception: under With, a block that calls runtime.Goexit (t.FailNow)
// unwinds straight through the generator, and only its deferred calls run,
// not the code after yield. Teardown that must survive t.FailNow goes in a
// defer inside the generator; entered into a Scope, a generator runs as a
// coroutine and the code after yield runs in that case too.
//
// Under With a generator runs on the caller's goroutine with no goroutine and
// no channel; entered into a Scope it runs as a coroutine.
//
// # Scopes
//
// A [Scope] is Python's ExitStack: a stack of exits that unwinds
// last-in-first-out, for a number of resources known only at run time, or for
// resources that outlive the function that acquired them. Its zero value is
// ready, it is safe for concurrent use, and it is a Manager itself:
//
//	// concat writes the named files to w, one after the other. All of them
//	// stay open until it returns, and every close error is reported.
//	func concat(w io.Writer, names ...string) (err error) {
//		var s scope.Scope
//		defer s.Unwind(&err)
//		readers := make([]io.Reader, 0, len(names))
//		for _, name := range names {
//			f, err := scope.Enter(&s, scope.Open(name))
//			if err != nil {
//				return err
//			}
//			readers = append(readers, f)
//		}
//		_, err = io.Copy(w, io.MultiReader(readers...))
//		return err
//	}
//
// defer s.Unwind(&err) must be deferred directly and given the address of
// the function's named error result, err above. A local variable would not
// do: return copies its value into the result before the deferred Unwind
// runs, so the exits would see the local's value, nil after
// return errors.New("..."), and a transaction in the scope would commit. The
// scopecheck analyzer (github.com/go-scope/scope/scopecheck, a go vet tool)
// reports that mistake and the others that compile but fail open.
//
// [Enter] enters a Manager and registers its Exit; [Scope.Push] registers an
// exit that sees the outcome, [Scope.Defer] one that does not; [Scope.Move]
// hands everything registered to a new Scope, so a constructor can give its
// resources to its result once every step has succeeded.
//
// # Managers for files, locks, process state and transactions
//
// [Open], [Create], [OpenFile], [CreateTemp] and [MkdirTemp] release what
// they opened or created; [WriteFileAtomic] publishes a file only if the
// block succeeded. [Lock], [RLock] and [LockContext] (with a [Mutex]) lock;
// [FileLock] and [TryFileLock] lock between processes. [Chdir], [Setenv] and
// [Swap] change process state and restore it. [Tx] commits or rolls back.
// [ForTest] gives a test a Scope that unwinds at its cleanup.
//
// # Deadlines and goroutines
//
// Teardown that needs time registers with [Scope.PushContext] (or is a
// [ContextExiter]); [Scope.CloseContext] then gives the whole teardown one
// deadline, and every exit still runs after it passes. [Scope.Go] starts a
// goroutine the Scope owns, as Python's TaskGroup does: an unwinding waits
// for it before any exit runs (a failed block cancels it first), every
// failure is reported, and a panic resumes in the goroutine that unwinds.
// [New] gives the goroutines a context to stop long-running ones by, and
// [Scope.Wait] waits for them without unwinding.
//
// # Panics and Goexit
//
// A panic in a block is recovered, shown to the exits as a *PanicError, and,
// unless an exit replaced it, resumed with its original value, never a
// wrapper, from inside the deferred call that recovered it, so a crash shows
// the frames that panicked and recover() == http.ErrAbortHandler keeps
// working. An exit that panics does not stop a Scope's unwinding: the other
// exits still run. runtime.Goexit cannot be stopped; the exits see ErrGoexit,
// so a transaction rolls back when t.FailNow ends a test, and the goroutine then
// goes on exiting.
//
// Programmer errors (a nil Manager, body or exit function, a nil *Scope, a
// nil pointer that could only crash later, an Exit without an Enter) panic at
// once with a message that starts with "scope:" and names the call. Failures
// at run time are returned errors.
//
// # Coming from Python
//
//	Python (contextlib)                    scope
//	with cm as v: block                    scope.With(m, func(v T) error { ... })
//	__enter__ / __exit__                   Manager[T]: Enter() (T, error) / Exit(err error) error
//	__exit__ returns True                  return scope.Replace(nil)
//	@contextmanager                        scope.Generator(func(yield func(T) error) error { ... })
//	ExitStack()                            var s scope.Scope
//	stack.enter_context(cm)                scope.Enter(&s, m)
//	stack.push(exit)                       s.Push(func(err error) error { ... })
//	stack.callback(fn)                     s.Defer(fn)
//	stack.pop_all()                        s.Move()
//	stack.close()                          s.Close()
//	with ExitStack() as stack:             defer s.Unwind(&err), or scope.With(new(scope.Scope), ...)
//	closing(thing)                         scope.Closing(thing)
//	nullcontext(v)                         scope.Value(v)
//	suppress(E1, E2)                       scope.Suppress(err1, err2)
//	chdir(d), redirect_stdout(f)           scope.Chdir(d), scope.Swap(&os.Stdout, f)
//	AsyncExitStack + a timeout             s.PushContext(exit); s.CloseContext(ctx)
//	asyncio.TaskGroup, tg.create_task(c)   s.Go(fn): waited for before the exits run
//	exception groups (except*)             combined errors; errors.Is reaches every part
//	ResourceWarning                        scope.SetLeakHandler
package scope
