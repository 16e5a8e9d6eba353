// Files shows the file managers: a working directory that cleans itself up
// (MkdirTemp), a scratch file (CreateTemp), a configuration file replaced
// atomically (WriteFileAtomic), and a file read back (Open). A failed update
// leaves the old configuration whole.
//
//	go -C examples run ./files
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-scope/scope"
	"github.com/go-scope/scope/examples/internal/cli"
)

func main() {
	fs := flag.NewFlagSet("files", flag.ContinueOnError)
	if code, ok := cli.Parse(fs, os.Args[1:]); !ok {
		os.Exit(code)
	}
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "files:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	return scope.With(scope.MkdirTemp("", "files-example"), func(dir string) error {
		config := filepath.Join(dir, "config.ini")

		write := func(content string, fail bool) error {
			return scope.With(scope.WriteFileAtomic(config, 0o644), func(f *os.File) error {
				if _, err := io.WriteString(f, content); err != nil {
					return err
				}
				if fail {
					return errors.New("validation failed halfway")
				}
				return nil
			})
		}
		read := func() (string, error) {
			return scope.WithResult(scope.Open(config), func(f *os.File) (string, error) {
				b, err := io.ReadAll(f)
				return string(b), err
			})
		}

		if err := write("mode = fast\n", false); err != nil {
			return err
		}
		content, err := read()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "config: %q\n", content)

		err = write("mode = broken, half", true)
		fmt.Fprintf(w, "update failed: %v\n", err)
		content, err = read()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "config still: %q\n", content)

		var scratch string
		err = scope.With(scope.CreateTemp(dir, "scratch-*"), func(f *os.File) error {
			scratch = f.Name()
			_, err := io.WriteString(f, "intermediate data")
			return err
		})
		if err != nil {
			return err
		}
		_, err = os.Stat(scratch)
		fmt.Fprintf(w, "scratch file removed: %v\n", errors.Is(err, os.ErrNotExist))

		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "files left in the directory: %d\n", len(entries))
		return nil
	})
}
