// Locks shows the lock managers: Lock and RLock around shared state in one
// process, LockContext giving up after a deadline, and FileLock and
// TryFileLock between two processes (the program starts a second copy of
// itself).
//
//	go -C examples run ./locks
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-scope/scope"
	"github.com/go-scope/scope/examples/internal/cli"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-child" {
		os.Exit(child(os.Args[2], os.Stdout))
	}
	fs := flag.NewFlagSet("locks", flag.ContinueOnError)
	if code, ok := cli.Parse(fs, os.Args[1:]); !ok {
		os.Exit(code)
	}
	if err := run(os.Stdout, os.Args[0]); err != nil {
		fmt.Fprintln(os.Stderr, "locks:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, self string) error {
	// In one process: a counter under Lock, read under RLock.
	var (
		rw    sync.RWMutex
		count int
		wg    sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				_ = scope.With(scope.Lock(&rw), func(*sync.RWMutex) error { count++; return nil })
			}
		}()
	}
	wg.Wait()
	n, _ := scope.WithResult(scope.RLock(&rw), func(*sync.RWMutex) (int, error) { return count, nil })
	fmt.Fprintf(w, "counter after 8 goroutines x 1000 increments: %d\n", n)

	// Waiting for a lock no longer than a deadline.
	var mu scope.Mutex
	mu.Lock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := scope.With(scope.LockContext(ctx, &mu), func(*scope.Mutex) error { return nil })
	cancel()
	mu.Unlock()
	fmt.Fprintf(w, "waiting for a held lock: %v\n", err)

	// Between processes.
	return scope.With(scope.MkdirTemp("", "locks-example"), func(dir string) error {
		path := filepath.Join(dir, "shared.lock")
		var (
			cmd   *exec.Cmd
			lines *bufio.Scanner
		)
		err := scope.With(scope.FileLock(path), func(*os.File) error {
			fmt.Fprintln(w, "parent: holding the file lock")
			cmd = exec.Command(self, "-child", path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				return err
			}
			if err := cmd.Start(); err != nil {
				cmd = nil
				return err
			}
			lines = bufio.NewScanner(out)
			// The child is refused at once, then waits.
			for i := 0; i < 2 && lines.Scan(); i++ {
				fmt.Fprintln(w, lines.Text())
			}
			fmt.Fprintln(w, "parent: releasing the file lock")
			return nil
		}) // the lock is released here, whatever happened
		if cmd == nil {
			return err
		}
		for lines.Scan() {
			fmt.Fprintln(w, lines.Text())
		}
		return errors.Join(err, cmd.Wait())
	})
}

func child(path string, w io.Writer) int {
	err := scope.With(scope.TryFileLock(path), func(*os.File) error { return nil })
	if errors.Is(err, scope.ErrLocked) {
		fmt.Fprintln(w, "child: TryFileLock refused at once: locked by another process")
	}
	fmt.Fprintln(w, "child: waiting with FileLock")
	err = scope.With(scope.FileLock(path), func(*os.File) error {
		fmt.Fprintln(w, "child: got the file lock")
		return nil
	})
	if err != nil {
		fmt.Fprintln(w, "child:", err)
		return 1
	}
	return 0
}
