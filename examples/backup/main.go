// Backup copies a SQLite database into a compressed archive, the way a cron
// job would, and shows what scope is for: every resource the job holds lives
// in one Scope, so whatever happens the lock is released, the read
// transaction ends, and no half-written archive is ever left behind.
//
// With no flags it needs nothing: it makes a demo database of a few thousand
// rows in a temporary directory, backs it up, checks the archive, prints a
// summary, and cleans up.
//
//	go -C examples run ./backup
//	go -C examples run ./backup -db app.db -out /var/backups/app -keep 7
//
// A second run while one is running refuses at once, with exit code 2, like
// a CronJob with concurrencyPolicy: Forbid. -fail-after N injects a failure
// after N rows, to see that the previous archives stay intact and no partial
// one appears.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-scope/scope"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitLocked is the exit code of a run refused because another holds the lock.
const exitLocked = 2

type config struct {
	db, out   string
	keep      int
	failAfter int
	hold      time.Duration
	progress  bool
}

// run is the whole program, returning its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.db, "db", "", "the SQLite database to back up (default: a demo database)")
	fs.StringVar(&c.out, "out", "", "the directory for archives (default: a temporary one)")
	fs.IntVar(&c.keep, "keep", 0, "keep only the newest `N` archives (0: keep all)")
	fs.IntVar(&c.failAfter, "fail-after", -1, "inject a failure after `N` rows")
	fs.DurationVar(&c.hold, "hold", 0, "hold the lock this long before starting (to try a second run)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	c.progress = isTerminal(stderr)

	err := func() (err error) {
		var s scope.Scope
		defer s.Unwind(&err)
		if c.db == "" || c.out == "" {
			demo, err := scope.Enter(&s, scope.MkdirTemp("", "backup-demo"))
			if err != nil {
				return err
			}
			if c.db == "" {
				c.db = filepath.Join(demo, "app.db")
				if err := makeDemo(ctx, c.db, 5000); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "made a demo database of 5000 rows\n")
			}
			if c.out == "" {
				c.out = filepath.Join(demo, "archives")
			}
		}
		sum, err := backup(ctx, c, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backed up %d rows in %d tables to %s (%d bytes)\n",
			sum.rows, sum.tables, filepath.Base(sum.archive), sum.bytes)
		fmt.Fprintf(stdout, "verified: the archive holds %d rows\n", sum.verified)
		if sum.removed > 0 {
			fmt.Fprintf(stdout, "removed %d old archive(s), keeping %d\n", sum.removed, c.keep)
		}
		return nil
	}()
	switch {
	case errors.Is(err, scope.ErrLocked):
		fmt.Fprintf(stderr, "backup: another backup is running: %v\n", err)
		return exitLocked
	case err != nil:
		fmt.Fprintf(stderr, "backup: %v\n", err)
		return 1
	}
	return 0
}

// isTerminal reports whether w is a terminal, where progress is worth showing.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
