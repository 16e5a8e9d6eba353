package scope

import "os"

// Chdir returns a Manager that changes the working directory to dir and
// changes it back on exit, adding any error from that to the outcome: Python's
// contextlib.chdir. Enter returns dir.
//
// If the change fails, Enter returns the error and saves nothing. The Manager
// is reentrant and may be used again: each entry restores the directory it
// found, so nested entries restore in LIFO order. The working directory
// belongs to the whole process, so do not use Chdir where other goroutines
// depend on it (parallel tests among them).
func Chdir(dir string) Manager[string] {
	return &boundManager[string]{enter: func() (string, exiter, error) {
		old, err := os.Getwd()
		if err != nil {
			return "", nil, err
		}
		if err := os.Chdir(dir); err != nil {
			return "", nil, err
		}
		return dir, deferFunc(func() error { return os.Chdir(old) }), nil
	}}
}

// Setenv returns a Manager that sets the environment variable key to value
// and, on exit, restores the value it had, or unsets it if it was unset:
// setting a variable to "" and unsetting it are different things, and Setenv
// keeps them apart. Enter returns value.
//
// The Manager is reentrant and may be used again; nested entries restore in
// LIFO order. The environment belongs to the whole process, so do not use
// Setenv where other goroutines read the variable (parallel tests among them).
func Setenv(key, value string) Manager[string] {
	return &boundManager[string]{enter: func() (string, exiter, error) {
		old, had := os.LookupEnv(key)
		if err := os.Setenv(key, value); err != nil {
			return "", nil, err
		}
		return value, deferFunc(func() error {
			if had {
				return os.Setenv(key, old)
			}
			return os.Unsetenv(key)
		}), nil
	}}
}

// Swap returns a Manager that sets *p to v and restores the value it had on
// exit. Enter returns v. It is Python's redirect_stdout made general:
//
//	err := scope.With(scope.Swap(&os.Stdout, f), printReport) // redirect output
//	err := scope.With(scope.Swap(&now, fakeClock), checkExpiry) // a test clock
//
// The Manager is reentrant and may be used again; nested entries restore in
// LIFO order. Swap does not synchronize access to *p. Swap panics if p is nil.
func Swap[T any](p *T, v T) Manager[T] {
	if p == nil {
		panic("scope: Swap called with a nil pointer")
	}
	return &boundManager[T]{enter: func() (T, exiter, error) {
		old := *p
		*p = v
		return v, deferFunc(func() error { *p = old; return nil }), nil
	}}
}
