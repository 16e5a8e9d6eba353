package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("BACKUP_CHILD_ARGS"); ok {
		// Re-run as a child process: be the backup program.
		os.Exit(run(context.Background(), strings.Fields(args), os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// child returns a command that runs the program with args in a new process.
func child(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BACKUP_CHILD_ARGS="+strings.Join(args, " "))
	return cmd
}

func TestDefaultRun(t *testing.T) {
	var out, errOut strings.Builder
	require.Equal(t, 0, run(context.Background(), nil, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "made a demo database of 5000 rows")
	assert.Contains(t, out.String(), "backed up 5000 rows in 2 tables")
	assert.Contains(t, out.String(), "verified: the archive holds 5000 rows")
	assert.Empty(t, errOut.String(), "no progress when stderr is not a terminal")
}

// demoSetup makes a demo database of rows rows in a new temporary directory
// and returns the directory, the database and the archive directory.
func demoSetup(t *testing.T, rows int) (dir, db, out string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "app.db")
	require.NoError(t, makeDemo(context.Background(), db, rows))
	return dir, db, filepath.Join(dir, "archives")
}

// tableDump returns every row of every table, in a stable order, as text.
func tableDump(t *testing.T, path string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	out := map[string][]string{}
	for _, table := range []string{"customers", "orders"} {
		rows, err := db.Query(`SELECT * FROM ` + table + ` ORDER BY id`)
		require.NoError(t, err)
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			out[table] = append(out[table], fmt.Sprintf("%#v", vals))
		}
		require.NoError(t, rows.Close())
	}
	return out
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	dir, db, out := demoSetup(t, 3000)
	var stdout, stderr strings.Builder
	require.Equal(t, 0, run(context.Background(), []string{"-db", db, "-out", out}, &stdout, &stderr), stderr.String())

	names, err := archives(out)
	require.NoError(t, err)
	require.Len(t, names, 1)
	restored := filepath.Join(dir, "restored.db")
	require.NoError(t, restore(context.Background(), names[0], restored))
	want, got := tableDump(t, db), tableDump(t, restored)
	assert.Len(t, want["orders"], 2400)
	assert.Equal(t, want, got, "the archive restores to the same rows, NULLs, reals and blobs included")
}

func TestInjectedFailureLeavesNoPartialArchive(t *testing.T) {
	_, db, out := demoSetup(t, 2000)
	var stdout, stderr strings.Builder
	require.Equal(t, 0, run(context.Background(), []string{"-db", db, "-out", out}, &stdout, &stderr))
	before, err := os.ReadDir(out)
	require.NoError(t, err)

	stderr.Reset()
	code := run(context.Background(), []string{"-db", db, "-out", out, "-fail-after", "1234"}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "injected failure after 1234 rows")

	after, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Equal(t, names(before), names(after), "no partial archive, no temporary file")
	prev, err := archives(out)
	require.NoError(t, err)
	n, err := countArchive(prev[0])
	require.NoError(t, err)
	assert.Equal(t, 2000, n, "the previous archive is intact")
	// The lock was released: another backup runs.
	require.Equal(t, 0, run(context.Background(), []string{"-db", db, "-out", out}, &stdout, &stderr))
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestKeep(t *testing.T) {
	_, db, out := demoSetup(t, 100)
	var stdout, stderr strings.Builder
	for range 4 {
		require.Equal(t, 0, run(context.Background(), []string{"-db", db, "-out", out, "-keep", "2"}, &stdout, &stderr))
	}
	left, err := archives(out)
	require.NoError(t, err)
	assert.Len(t, left, 2)
	assert.Contains(t, stdout.String(), "removed 1 old archive(s), keeping 2")
}

func TestMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"-db", filepath.Join(dir, "nope.db"), "-out", dir}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "no such file")
	_, err := os.Stat(filepath.Join(dir, "nope.db"))
	assert.True(t, os.IsNotExist(err), "no empty database was created")
}

func TestConcurrentRunsOneWins(t *testing.T) {
	_, db, out := demoSetup(t, 200)
	require.NoError(t, os.MkdirAll(out, 0o755))

	first := child("-db", db, "-out", out, "-hold", "3s")
	var firstOut strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstOut
	require.NoError(t, first.Start())
	// Wait until the first process holds the lock.
	lock := filepath.Join(out, ".backup.lock")
	require.Eventually(t, func() bool {
		err := scope.With(scope.TryFileLock(lock), func(*os.File) error { return nil })
		return err != nil
	}, 10*time.Second, 5*time.Millisecond)

	second := child("-db", db, "-out", out)
	secondOut, err := second.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitLocked, exit.ExitCode(), "the second run refuses at once with exit code 2")
	assert.Contains(t, string(secondOut), "another backup is running")

	require.NoError(t, first.Wait(), firstOut.String())
	left, err := archives(out)
	require.NoError(t, err)
	assert.Len(t, left, 1, "exactly one run made an archive")
}

func TestProgressOnATerminal(t *testing.T) {
	scriptCmd, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) from util-linux is not installed: no way to give the child a terminal")
	}
	dir, db, _ := demoSetup(t, 1200)
	// script runs the child with a pseudo-terminal as its stdout and stderr.
	cmd := exec.Command(scriptCmd, "-qec", os.Args[0]+" -test.run=^$", "/dev/null")
	cmd.Env = append(os.Environ(), "BACKUP_CHILD_ARGS=-db "+db+" -out "+filepath.Join(dir, "out"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "\rrows 500/1200")
	assert.Contains(t, string(out), "\rrows 1200/1200")
}
