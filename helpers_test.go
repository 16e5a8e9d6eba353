package scope_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		// Re-run as a child process by runChild: run the one named scenario.
		children[name]()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// childEnv names the scenario a re-run test binary executes instead of the tests.
const childEnv = "SCOPE_TEST_CHILD"

// children are scenarios run in a separate process, for what must crash or
// hold a resource across processes.
var children = map[string]func(){}

// runChild re-runs the test binary as a child that executes scenario name and
// returns its combined output and error (an *exec.ExitError when it failed).
func runChild(t *testing.T, name string, env ...string) (string, error) {
	t.Helper()
	if _, ok := children[name]; !ok {
		t.Fatalf("no child scenario %q", name)
	}
	out, err := childCmd(name, env...).CombinedOutput()
	return string(out), err
}

// childCmd is the command that re-runs the test binary as child scenario name.
func childCmd(name string, env ...string) *exec.Cmd {
	cmd := selfCmd("-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	return cmd
}

// selfCmd is the command that runs the test binary again with args. Under an
// emulator (CI runs the arm64 build under qemu-user), SCOPE_TEST_EXEC names
// it, so that the child runs the same way.
func selfCmd(args ...string) *exec.Cmd {
	if emu := os.Getenv("SCOPE_TEST_EXEC"); emu != "" {
		return exec.Command(emu, append([]string{os.Args[0]}, args...)...)
	}
	return exec.Command(os.Args[0], args...)
}

// inGoroutine runs fn in a new goroutine and reports whether fn returned
// normally (false when it called runtime.Goexit).
func inGoroutine(fn func()) (returned bool) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fn()
		returned = true
	}()
	wg.Wait()
	return returned
}

// recoverValue runs fn and returns what it panicked with, and whether it did.
func recoverValue(fn func()) (v any, panicked bool) {
	defer func() {
		if !panicked {
			return
		}
		v = recover()
	}()
	panicked = true
	fn()
	panicked = false
	return nil, false
}

// count returns how many times target occurs in err's tree, following both
// kinds of Unwrap, so that a test can tell "reported once" from "reported
// twice".
func count(err, target error) int {
	if err == nil {
		return 0
	}
	n := 0
	if err == target {
		n++
	}
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, part := range e.Unwrap() {
			n += count(part, target)
		}
	case interface{ Unwrap() error }:
		n += count(e.Unwrap(), target)
	}
	return n
}

// log records the order in which enters, bodies and exits ran.
type log struct {
	mu    sync.Mutex
	lines []string
}

func (l *log) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *log) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// tracked is a Func manager named name that logs its enter and exit, the
// outcome its exit saw, and returns exitErr from the exit.
func tracked(l *log, name string, exitErr error) scope.Manager[string] {
	return scope.Func(func() (string, error) {
		l.add("enter %s", name)
		return name, nil
	}, func(v string, err error) error {
		l.add("exit %s (%v)", v, err)
		return exitErr
	})
}

var (
	errBody  = errors.New("body failed")
	errExit1 = errors.New("exit 1 failed")
	errExit2 = errors.New("exit 2 failed")
	errExit3 = errors.New("exit 3 failed")
	errEnter = errors.New("enter failed")
	errOther = errors.New("other")
)

// runGoexit calls runtime.Goexit; it exists so that a block can end that way
// without the compiler's unreachable-code complaints.
func runGoexit() { runtime.Goexit() }
