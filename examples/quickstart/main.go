// Quickstart shows the core of scope in one program: a single Scope holds a
// lock, a report file written atomically, and a generator-made manager that
// logs how the job ended. The job runs twice: once to success, once to a
// failure halfway, which leaves no half-written report behind.
//
//	go -C examples run ./quickstart
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-scope/scope"
	"github.com/go-scope/scope/examples/internal/cli"
)

func main() {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	if code, ok := cli.Parse(fs, os.Args[1:]); !ok {
		os.Exit(code)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run does both jobs in a temporary directory and reports to w.
func run(w io.Writer) error {
	return scope.With(scope.MkdirTemp("", "quickstart"), func(dir string) error {
		report := filepath.Join(dir, "report.txt")
		var mu sync.Mutex
		for _, fail := range []bool{false, true} {
			fmt.Fprintf(w, "== job (fail=%v) ==\n", fail)
			err := job(w, &mu, report, fail)
			fmt.Fprintf(w, "job returned: %v\n", err)
			content, rerr := os.ReadFile(report)
			if rerr != nil {
				return rerr
			}
			fmt.Fprintf(w, "report.txt: %q\n", content)
		}
		return nil
	})
}

// logged is a Generator: setup, yield, teardown that sees how the block ended.
func logged(w io.Writer, name string) scope.Manager[string] {
	return scope.Generator(func(yield func(string) error) error {
		fmt.Fprintf(w, "  %s: start\n", name)
		err := yield(name)
		if err != nil {
			fmt.Fprintf(w, "  %s: failed: %v\n", name, err)
		} else {
			fmt.Fprintf(w, "  %s: done\n", name)
		}
		return err
	})
}

// job writes the report under the lock. Everything it acquires lives in one
// Scope, released in reverse order whatever happens.
func job(w io.Writer, mu *sync.Mutex, report string, fail bool) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)

	if _, err := scope.Enter(&s, logged(w, "job")); err != nil {
		return err
	}
	// Registered before the lock, so it runs after the unlock: exits run
	// last-in-first-out.
	s.Defer(func() error { fmt.Fprintln(w, "  lock released"); return nil })
	if _, err := scope.Enter(&s, scope.Lock(mu)); err != nil {
		return err
	}
	f, err := scope.Enter(&s, scope.WriteFileAtomic(report, 0o644))
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "rows: 1000")
	if fail {
		return errors.New("disk quota exceeded (simulated)")
	}
	fmt.Fprintln(f, "status: ok")
	return nil
}
