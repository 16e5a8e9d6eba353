package scope_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// childEnv names, in a child process, the test whose scenario it runs.
const childEnv = "SCOPE_TEST_CHILD"

// inChild runs scenario in a child process, for what must crash or hold a
// resource across processes, and returns the child's combined output and
// error (an *exec.ExitError when it failed). The child is the test binary
// run again for test t alone: there t calls inChild again, which runs
// scenario and exits. So a scenario is written in its test, and the code of
// t before the call runs in the child too.
func inChild(t *testing.T, scenario func(), env ...string) (string, error) {
	t.Helper()
	out, err := childCmd(t, scenario, env...).CombinedOutput()
	return string(out), err
}

// childCmd is inChild's command, for a test that talks to its child.
func childCmd(t *testing.T, scenario func(), env ...string) *exec.Cmd {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		scenario()
		os.Exit(0)
	}
	var pattern []string
	for _, part := range strings.Split(t.Name(), "/") {
		pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := selfCmd("-test.run=" + strings.Join(pattern, "/"))
	cmd.Env = append(append(os.Environ(), childEnv+"="+t.Name()), env...)
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

// blockEnd is one way a block ends.
type blockEnd struct {
	name string
	end  func() error
}

// blockEndings are the four ways a block ends: every manager and every shape
// of unwinding must be right on each.
var blockEndings = []blockEnd{
	{"success", func() error { return nil }},
	{"error", func() error { return errBody }},
	{"panic", func() error { panic(errBody) }},
	{"Goexit", func() error { runtime.Goexit(); return nil }},
}

// runGoexit calls runtime.Goexit; it exists so that a block can end that way
// without the compiler's unreachable-code complaints.
func runGoexit() { runtime.Goexit() }
