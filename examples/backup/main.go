// Backup copies a SQLite database into a compressed archive, the way a cron
// job would, and shows what scope is for: every resource the job holds lives
// in a Scope, so whatever happens the lock is released, the read transaction
// ends, and no half-written or unverified archive is ever published.
//
// Usage:
//
//	backup [-out DIR] [-keep N] -db FILE
//	backup                 # a demo: a made-up database, in a temporary directory
//
// With -db, the archive is written to -out (default: the current directory)
// as backup-<UTC time>.jsonl.gz, and its full path is printed. The demo makes
// its database in a temporary directory, and writes its archive there too,
// removed at the end, unless -out is given. The archive
// holds the whole schema (tables, indexes, views, triggers) and every row; it
// is read back and checked before it is published, so an archive that exists
// is complete. Only one run at a time works on a directory: a second one
// exits at once with code 75, "try again later" (EX_TEMPFAIL), as cron
// wrappers and a CronJob with concurrencyPolicy: Forbid expect. Holding that
// lock, a run removes the temporary files that a killed run left behind.
//
// Exit codes: 0 success, 1 failure, 2 usage error, 75 another run holds the
// lock, 130 interrupted (Ctrl-C or SIGTERM, honoured in every phase). A run
// that reports failure leaves no new archive.
//
// Runs on several machines that write to one directory (a shared volume)
// take the lock in PostgreSQL instead, with -lock-db DSN: a lease from
// github.com/go-scope/scope/pglock, whose fencing token is written into the
// archive's first line. A lost lease stops the run before it publishes.
//
//	go -C examples build -o /tmp/backup ./backup
//	/tmp/backup -db app.db -out /var/backups/app -keep 7; echo $?
//
// (go run reports exit status 1 for any non-zero code: build it to see them.)
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
	"github.com/go-scope/scope/examples/internal/cli"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = cli.ExitUsage // as the flag package exits
	exitLocked      = 75            // EX_TEMPFAIL of sysexits.h: another run holds the lock, try later
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	db, out   string
	lockDB    string // a PostgreSQL to take the lock in, instead of a file
	keep      int
	failAfter int // fail after this many rows; -1: never
	hold      time.Duration
	progress  bool
}

// run is the whole program, returning its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, ok := parse(args, stderr)
	if !ok {
		return code
	}
	c.progress = isTerminal(stderr)
	var err error
	if c.db == "" {
		err = demo(ctx, c, stdout, stderr)
	} else {
		err = once(ctx, c, stdout, stderr)
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, scope.ErrLocked):
		fmt.Fprintf(stderr, "backup: another run holds the lock, try again later: %v\n", err)
		return exitLocked
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "backup: interrupted; no archive was published")
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "backup: %v\n", err)
	return exitFailure
}

// parse reads the flags. It reports false, with the exit code, when the
// program must stop: -h (0) or a usage error (2).
func parse(args []string, stderr io.Writer) (config, int, bool) {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: backup [-out DIR] [-keep N] [-fail-after N] -db FILE\n       backup   (a demo in a temporary directory)")
		fs.PrintDefaults()
	}
	var c config
	fs.StringVar(&c.db, "db", "", "the SQLite database `file` to back up (default: a demo database)")
	fs.StringVar(&c.out, "out", "", "the `directory` for archives (default: the current directory; with no -db, a temporary one)")
	fs.IntVar(&c.keep, "keep", 0, "keep only the newest `N` archives (0: keep all)")
	fs.IntVar(&c.failAfter, "fail-after", -1, "inject a failure after `N` rows, 0 included; -1: never")
	fs.DurationVar(&c.hold, "hold", 0, "hold the lock this `long` before starting (to try a second run)")
	fs.StringVar(&c.lockDB, "lock-db", "", "take the lock in the PostgreSQL at this `DSN` (a lease, for runs on several machines) instead of a file in -out")
	if code, ok := cli.Parse(fs, args); !ok {
		return c, code, false
	}
	var bad string
	switch {
	case c.keep < 0:
		bad = fmt.Sprintf("-keep %d: must be 0 or more", c.keep)
	case c.hold < 0:
		bad = fmt.Sprintf("-hold %v: must be 0 or more", c.hold)
	case c.failAfter < -1:
		bad = fmt.Sprintf("-fail-after %d: must be 0 or more", c.failAfter)
	}
	if bad != "" {
		return c, cli.Usage(fs, bad), false
	}
	if c.out == "" && c.db != "" {
		c.out = "."
	}
	return c, 0, true
}

// once backs up c.db into c.out and reports what it did.
func once(ctx context.Context, c config, stdout, stderr io.Writer) error {
	sum, err := backup(ctx, c, stderr)
	for _, name := range sum.cleaned {
		fmt.Fprintf(stdout, "removed %s, left by an interrupted run\n", name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %d rows in %d tables (and %d indexes, %d views, %d triggers) to %s (%d bytes)\n",
		sum.rows, sum.tables, sum.schema["index"], sum.schema["view"], sum.schema["trigger"], sum.archive, sum.bytes)
	fmt.Fprintf(stdout, "verified before publishing: the archive holds the same %d rows and %d schema entries\n", sum.rows, sum.entries)
	for _, name := range sum.removed {
		fmt.Fprintf(stdout, "removed old archive %s (keeping %d)\n", name, c.keep)
	}
	if sum.notPruned {
		fmt.Fprintln(stdout, "interrupted after the archive was published: old archives were not pruned")
	}
	return nil
}

// demo makes a database in a temporary directory and backs it up, into -out
// if given, else into that directory too; the temporary directory is
// removed at the end.
func demo(ctx context.Context, c config, stdout, stderr io.Writer) error {
	return scope.With(scope.MkdirTemp("", "backup-demo"), func(dir string) error {
		keep := c.out != ""
		c.db = filepath.Join(dir, "app.db")
		if !keep {
			c.out = filepath.Join(dir, "archives")
		}
		if err := makeDemo(ctx, c.db, 5000); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "demo: made a database of 5000 rows in a temporary directory")
		if err := once(ctx, c, stdout, stderr); err != nil {
			return err
		}
		if !keep {
			fmt.Fprintln(stdout, "demo: the archive is removed with the temporary directory; give -out DIR to keep it, -db FILE to back up your own database")
		}
		return nil
	})
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
