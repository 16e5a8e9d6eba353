package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const program = `package main

import "github.com/go-scope/scope"

func main() {
	var s scope.Scope
	defer s.Close()
	_ = run()
}

func run() error {
	var err error
	var s scope.Scope
	defer s.Unwind(&err)
	return nil
}
`

// TestCommand builds the command and runs it over a small module that uses
// this repository's library, standalone and as go vet's tool: both fail and
// name the findings at their lines.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "scopecheck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(dir, "mod")
	write(t, filepath.Join(mod, "go.mod"), "module example.com/m\n\ngo 1.24\n\nrequire (\n\tgithub.com/go-scope/scope v0.0.0\n\tgo.uber.org/multierr v1.11.0\n)\n\nreplace github.com/go-scope/scope => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mod, "go.sum"), string(sum))
	write(t, filepath.Join(mod, "main.go"), program)

	for _, args := range [][]string{{bin, "./..."}, {"go", "vet", "-vettool=" + bin, "./..."}} {
		t.Run(args[0], func(t *testing.T) {
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Dir = mod
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("%v succeeded; want a non-zero exit:\n%s", args, out)
			}
			for _, want := range []string{
				"main.go:7:8: the result of Scope.Close is discarded",
				"main.go:14:8: Unwind must be given the address of the function's named error result",
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("%v output lacks %q:\n%s", args, want, out)
				}
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
