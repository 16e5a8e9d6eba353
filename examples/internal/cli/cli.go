// Package cli is what the example programs share on the command line: the
// flag package's conventions, with -h a success.
package cli

import (
	"errors"
	"flag"
	"fmt"
)

// Exit codes shared by the programs.
const (
	ExitOK    = 0
	ExitUsage = 2 // as the flag package exits on a bad flag
)

// Parse parses args with fs, whose output is set, and rejects arguments
// after the flags. It reports false, with the exit code, when the program
// must stop: ExitOK after -h or -help, ExitUsage for an unknown or malformed
// flag or an argument, with the usage printed.
func Parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, false
		}
		return ExitUsage, false
	}
	if fs.NArg() > 0 {
		return Usage(fs, fmt.Sprintf("unexpected argument %q", fs.Arg(0))), false
	}
	return 0, true
}

// Usage reports a usage error: the message, then the usage. It returns
// ExitUsage.
func Usage(fs *flag.FlagSet, msg string) int {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), msg)
	fs.Usage()
	return ExitUsage
}
