package cli

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPrograms builds every example program and checks the command-line
// conventions on each: -h is a success, an unknown flag or an argument is a
// usage error, exit code 2.
func TestPrograms(t *testing.T) {
	dir := t.TempDir()
	for _, prog := range []string{"quickstart", "files", "locks", "httpserver", "tcpproxy", "backup"} {
		t.Run(prog, func(t *testing.T) {
			bin := filepath.Join(dir, prog)
			if out, err := exec.Command("go", "build", "-o", bin, "../../"+prog).CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			for _, tt := range []struct {
				reason string
				args   []string
				code   int
			}{
				{"-h prints usage and succeeds", []string{"-h"}, ExitOK},
				{"an unknown flag is a usage error", []string{"-no-such-flag"}, ExitUsage},
				{"an argument is a usage error", []string{"surplus"}, ExitUsage},
			} {
				out, err := exec.Command(bin, tt.args...).CombinedOutput()
				code := 0
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					code = exit.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				if code != tt.code {
					t.Errorf("%s %v: exit %d; want %d (%s)\n%s", prog, tt.args, code, tt.code, tt.reason, out)
				}
			}
		})
	}
}
