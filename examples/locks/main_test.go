package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if path, ok := os.LookupEnv("LOCKS_CHILD"); ok {
		os.Exit(child(path, os.Stdout)) // the second process
	}
	goleak.VerifyTestMain(m)
}

func TestRun(t *testing.T) {
	// The test binary plays the second process: the env var makes it run
	// child, and the -child flags are ignored by the test flag parser.
	self := writeLauncher(t)
	var out strings.Builder
	require.NoError(t, run(&out, self))
	assert.Equal(t, `counter after 8 goroutines x 1000 increments: 8000
waiting for a held lock: context deadline exceeded
parent: holding the file lock
child: TryFileLock refused at once: locked by another process
child: waiting with FileLock
parent: releasing the file lock
child: got the file lock
`, out.String())
}

// writeLauncher writes a script that runs this test binary as the child.
func writeLauncher(t *testing.T) string {
	t.Helper()
	path := t.TempDir() + "/locks-child"
	script := "#!/bin/sh\nLOCKS_CHILD=\"$2\" exec " + os.Args[0] + " -test.run=^$\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path
}
