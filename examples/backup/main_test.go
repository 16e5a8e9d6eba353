package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("BACKUP_CHILD_ARGS"); ok {
		// Re-run as a child process: be the backup program, with the
		// same signal handling as main.
		var list []string
		if err := json.Unmarshal([]byte(args), &list); err != nil {
			panic(err)
		}
		os.Args = append([]string{"backup"}, list...)
		main()
	}
	goleak.VerifyTestMain(m)
}

// child returns a command that runs the program with args in a new process.
func child(args ...string) *exec.Cmd {
	enc, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BACKUP_CHILD_ARGS="+string(enc))
	return cmd
}

// exitCode runs cmd and returns its exit code and combined output.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err == nil {
		return 0, string(out)
	}
	exit, ok := err.(*exec.ExitError)
	require.True(t, ok, "%v", err)
	return exit.ExitCode(), string(out)
}

func runIn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
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

// archives returns the archives in dir.
func archives(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "backup-*.jsonl.gz"))
	require.NoError(t, err)
	return names
}

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// contents returns the schema and every row of every table of the database
// at path, in a stable order, as text.
func contents(t *testing.T, path string) (schema []string, rows map[string][]string) {
	t.Helper()
	db, err := sql.Open("sqlite", fileDSN(path, "ro"))
	require.NoError(t, err)
	defer db.Close()
	rs, err := db.Query(`SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name`)
	require.NoError(t, err)
	var tables []string
	for rs.Next() {
		var typ, name, tbl string
		var text sql.NullString
		require.NoError(t, rs.Scan(&typ, &name, &tbl, &text))
		schema = append(schema, fmt.Sprintf("%s %q on %q: %s", typ, name, tbl, text.String))
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	require.NoError(t, rs.Close())
	rows = map[string][]string{}
	for _, table := range tables {
		rs, err := db.Query(`SELECT * FROM ` + quote(table) + ` ORDER BY 1`)
		require.NoError(t, err)
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rs.Scan(ptrs...))
			rows[table] = append(rows[table], fmt.Sprintf("%#v", vals))
		}
		require.NoError(t, rs.Close())
	}
	return schema, rows
}

// roundTrip backs db up into out, restores the archive into a new database
// and checks that schema and rows are the same.
func roundTrip(t *testing.T, db, out string) {
	t.Helper()
	code, stdout, stderr := runIn(t, "-db", db, "-out", out)
	require.Equal(t, exitOK, code, stderr)
	names := archives(t, out)
	require.Len(t, names, 1)
	assert.Contains(t, stdout, "to "+names[0], "the full path is printed")
	restored := filepath.Join(t.TempDir(), "restored.db")
	require.NoError(t, restore(context.Background(), names[0], restored))
	wantSchema, wantRows := contents(t, db)
	gotSchema, gotRows := contents(t, restored)
	assert.Equal(t, wantSchema, gotSchema, "the same schema")
	assert.Equal(t, wantRows, gotRows, "the same rows")
}

func TestDefaultRun(t *testing.T) {
	code, stdout, stderr := runIn(t)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "demo: made a database of 5000 rows")
	assert.Contains(t, stdout, "backed up 5000 rows in 2 tables (and 1 indexes, 1 views, 1 triggers)")
	assert.Contains(t, stdout, "the archive is removed with the temporary directory; give -out DIR to keep it")
	assert.Empty(t, stderr, "no progress when stderr is not a terminal")
}

func TestDemoKeepsArchiveInOut(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := runIn(t, "-out", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Len(t, archives(t, out), 1, "the demo's archive is where -out said")
}

// TestArchiveInCurrentDirectory: with -db and no -out the archive goes to
// the current directory, and its full path is printed.
func TestArchiveInCurrentDirectory(t *testing.T) {
	_, db, _ := demoSetup(t, 50)
	cwd := t.TempDir()
	t.Chdir(cwd)
	code, stdout, stderr := runIn(t, "-db", db)
	require.Equal(t, exitOK, code, stderr)
	names := archives(t, cwd)
	require.Len(t, names, 1)
	assert.True(t, filepath.IsAbs(names[0]))
	assert.Contains(t, stdout, "to "+names[0]+" (")
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	_, db, out := demoSetup(t, 3000)
	roundTrip(t, db, out)
}

// TestOddNames: database paths that a DSN built by concatenation gets wrong
// (?, #, %41, spaces) back up the named file, not another one.
func TestOddNames(t *testing.T) {
	for _, name := range []string{"my?db.db", "a#b.db", "x%41y.db", "with space.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, name)
			require.NoError(t, makeDemo(context.Background(), db, 100))
			// A decoy where a wrong reading of the name would land.
			require.NoError(t, makeDemo(context.Background(), filepath.Join(dir, "xAy.db"), 10))
			roundTrip(t, db, filepath.Join(dir, "out"))
			assert.ElementsMatch(t, []string{name, "xAy.db", "out"}, entries(t, dir), "no stray file")
		})
	}
}

// TestWholeSchema: indexes, views and triggers, odd identifiers, a
// WITHOUT ROWID table and AUTOINCREMENT counters survive a round trip.
func TestWholeSchema(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "odd.db")
	conn, err := sql.Open("sqlite", fileDSN(db, "rwc"))
	require.NoError(t, err)
	_, err = conn.Exec(`
		CREATE TABLE "we""ird" ("col one" INTEGER PRIMARY KEY AUTOINCREMENT, "sel""ect" TEXT, [x y] BLOB);
		CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id));
		CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
		CREATE INDEX "idx ""quoted""" ON "we""ird"("sel""ect");
		CREATE UNIQUE INDEX child_parent ON child(parent, id);
		CREATE VIEW v1 AS SELECT "col one" FROM "we""ird";
		CREATE VIEW v2 AS SELECT * FROM v1;
		CREATE TRIGGER t1 AFTER INSERT ON child BEGIN UPDATE kv SET v = v || '!' WHERE k = 'count'; END;
		INSERT INTO "we""ird"("sel""ect", [x y]) VALUES ('a', x'00ff'), ('b"', NULL), (NULL, x'');
		DELETE FROM "we""ird" WHERE "sel""ect" = 'a';
		INSERT INTO parent VALUES (1), (2);
		INSERT INTO kv VALUES ('count', '0');
		INSERT INTO child VALUES (10, 1), (11, 2);`)
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	roundTrip(t, db, filepath.Join(dir, "out"))
}

func TestVirtualTableRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "fts.db")
	conn, err := sql.Open("sqlite", fileDSN(db, "rwc"))
	require.NoError(t, err)
	_, err = conn.Exec(`CREATE VIRTUAL TABLE docs USING fts5(body)`)
	require.NoError(t, conn.Close())
	if err != nil {
		t.Skipf("this SQLite has no fts5: %v", err)
	}
	code, _, stderr := runIn(t, "-db", db, "-out", filepath.Join(dir, "out"))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, `table "docs" is a virtual table: not supported`, "refused, not silently dropped")
	assert.Empty(t, archives(t, filepath.Join(dir, "out")))
}

// TestNotADatabase: what is not a SQLite database is refused with an error
// naming it, before anything is created.
func TestNotADatabase(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "random.db"), []byte("\x93\x11 not a database at all, really \x00\x01"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir.db"), 0o700))
	tests := []struct{ name, reason, want string }{
		{"empty.db", "SQLite would take an empty file for an empty database", "empty.db: an empty file, not a SQLite database"},
		{"random.db", "random bytes", "random.db: not a SQLite database"},
		{"dir.db", "a directory", "dir.db: a directory, not a SQLite database"},
		{"missing.db", "a missing file is not created", "missing.db: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+tt.name)
			code, _, stderr := runIn(t, "-db", filepath.Join(dir, tt.name), "-out", out)
			assert.Equal(t, exitFailure, code, tt.reason)
			assert.Contains(t, stderr, tt.want, tt.reason)
			assert.NoDirExists(t, out, "no -out directory, no lock file")
		})
	}
	assert.NoFileExists(t, filepath.Join(dir, "missing.db"))
}

func TestInjectedFailureLeavesNoArchive(t *testing.T) {
	for _, n := range []string{"0", "1234"} {
		t.Run(n, func(t *testing.T) {
			_, db, out := demoSetup(t, 2000)
			code, _, stderr := runIn(t, "-db", db, "-out", out)
			require.Equal(t, exitOK, code, stderr)
			before := entries(t, out)

			code, _, stderr = runIn(t, "-db", db, "-out", out, "-fail-after", n)
			assert.Equal(t, exitFailure, code)
			assert.Contains(t, stderr, "injected failure after "+n+" rows")
			assert.Equal(t, before, entries(t, out), "no partial archive, no temporary file")
			n, err := countArchive(context.Background(), archives(t, out)[0])
			require.NoError(t, err)
			assert.Equal(t, 2000, n.rows, "the previous archive is intact")
			code, _, _ = runIn(t, "-db", db, "-out", out)
			assert.Equal(t, exitOK, code, "the lock was released")
		})
	}
}

func TestKeep(t *testing.T) {
	_, db, out := demoSetup(t, 100)
	var stdout string
	for range 4 {
		code, o, stderr := runIn(t, "-db", db, "-out", out, "-keep", "2")
		require.Equal(t, exitOK, code, stderr)
		stdout += o
	}
	assert.Len(t, archives(t, out), 2)
	assert.Contains(t, stdout, "removed old archive "+out)
}

// TestUsage: flags are checked; -h is not an error; usage errors exit 2.
func TestUsage(t *testing.T) {
	tests := []struct {
		reason string
		args   []string
		code   int
		want   string
	}{
		{"help", []string{"-h"}, exitOK, "usage: backup"},
		{"unknown flag", []string{"-nope"}, exitUsage, "flag provided but not defined: -nope"},
		{"positional argument", []string{"app.db"}, exitUsage, `backup: unexpected argument "app.db"`},
		{"negative -keep", []string{"-db", "x", "-keep", "-1"}, exitUsage, "-keep -1: must be 0 or more"},
		{"negative -hold", []string{"-db", "x", "-hold", "-5s"}, exitUsage, "-hold -5s: must be 0 or more"},
		{"-fail-after below -1", []string{"-db", "x", "-fail-after", "-2"}, exitUsage, "-fail-after -2: must be 0 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			code, _, stderr := runIn(t, tt.args...)
			assert.Equal(t, tt.code, code, tt.reason)
			assert.Contains(t, stderr, tt.want, tt.reason)
		})
	}
}

// startChild starts the program in a child process and returns it with a
// reader of its combined output.
func startChild(t *testing.T, env []string, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := child(args...)
	cmd.Env = append(cmd.Env, env...)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = w, w
	require.NoError(t, cmd.Start())
	w.Close()
	t.Cleanup(func() { r.Close() })
	return cmd, bufio.NewReader(r)
}

// waitLine reads lines from r until one contains want.
func waitLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err, "waiting for %q", want)
		if strings.Contains(line, want) {
			return
		}
	}
}

func TestSecondRunExits75(t *testing.T) {
	_, db, out := demoSetup(t, 200)
	first, r := startChild(t, []string{"BACKUP_TEST_PAUSE_IN=dump"}, "-db", db, "-out", out)
	waitLine(t, r, "paused in dump") // it holds the lock

	code, output := exitCode(t, child("-db", db, "-out", out))
	assert.Equal(t, exitLocked, code, "75, try again later: not 2, which means a usage error")
	assert.Contains(t, output, "another run holds the lock")

	require.NoError(t, first.Process.Signal(syscall.SIGINT))
	require.Error(t, first.Wait())
	assert.Equal(t, exitInterrupted, first.ProcessState.ExitCode())
}

// TestInterrupted: Ctrl-C in any phase exits 130 and publishes nothing.
func TestInterrupted(t *testing.T) {
	for _, phase := range []string{"dump", "verify"} {
		t.Run(phase, func(t *testing.T) {
			_, db, out := demoSetup(t, 500)
			cmd, r := startChild(t, []string{"BACKUP_TEST_PAUSE_IN=" + phase}, "-db", db, "-out", out)
			waitLine(t, r, "paused in "+phase)
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			require.Error(t, cmd.Wait())
			assert.Equal(t, exitInterrupted, cmd.ProcessState.ExitCode())
			assert.Equal(t, []string{".backup.lock"}, entries(t, out), "no archive, no temporary file")
		})
	}
	t.Run("waiting with -hold", func(t *testing.T) {
		_, db, out := demoSetup(t, 10)
		cmd, _ := startChild(t, nil, "-db", db, "-out", out, "-hold", "1m")
		require.Eventually(t, func() bool {
			err := scope.With(scope.TryFileLock(filepath.Join(out, ".backup.lock")), func(*os.File) error { return nil })
			return errors.Is(err, scope.ErrLocked)
		}, 10*time.Second, 5*time.Millisecond, "the child holds the lock")
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.Error(t, cmd.Wait())
		assert.Equal(t, exitInterrupted, cmd.ProcessState.ExitCode())
	})
}

// TestInterruptedAfterPublishing: a Ctrl-C that lands once the archive is
// published is a success: the archive is complete, and the outcome says so.
func TestInterruptedAfterPublishing(t *testing.T) {
	_, db, out := demoSetup(t, 100)
	cmd, r := startChild(t, []string{"BACKUP_TEST_PAUSE_IN=published"}, "-db", db, "-out", out, "-keep", "1")
	waitLine(t, r, "paused in published")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	rest, _ := io.ReadAll(r)
	require.NoError(t, cmd.Wait(), "exit 0:\n%s", rest)
	assert.Contains(t, string(rest), "old archives were not pruned")
	names := archives(t, out)
	require.Len(t, names, 1)
	n, err := countArchive(context.Background(), names[0])
	require.NoError(t, err)
	assert.Equal(t, 100, n.rows, "the published archive is complete")
}

// TestKilledRunCleanedUp: a run killed with SIGKILL while writing leaves its
// temporary file; the next run, holding the lock, removes it.
func TestKilledRunCleanedUp(t *testing.T) {
	_, db, out := demoSetup(t, 500)
	cmd, r := startChild(t, []string{"BACKUP_TEST_PAUSE_IN=verify"}, "-db", db, "-out", out)
	waitLine(t, r, "paused in verify")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	left, err := filepath.Glob(filepath.Join(out, ".backup-*.jsonl.gz.tmp*"))
	require.NoError(t, err)
	require.Len(t, left, 1, "SIGKILL leaves the temporary file")

	code, stdout, stderr := runIn(t, "-db", db, "-out", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "removed "+left[0]+", left by an interrupted run")
	assert.NoFileExists(t, left[0])
	assert.Len(t, archives(t, out), 1)
}

func TestProgressOnATerminal(t *testing.T) {
	scriptCmd, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) from util-linux is not installed: no way to give the child a terminal")
	}
	dir, db, _ := demoSetup(t, 1200)
	for _, tt := range []struct {
		reason string
		args   []string
		want   string
	}{
		{"success", nil, "\rrows 1200/1200\n"},
		{"failure ends the progress line", []string{"-fail-after", "700"}, "\rrows 500/1200\nbackup: injected failure after 700 rows"},
	} {
		t.Run(tt.reason, func(t *testing.T) {
			args, _ := json.Marshal(append([]string{"-db", db, "-out", filepath.Join(dir, "out")}, tt.args...))
			// script runs the child with a pseudo-terminal as its stdout and stderr.
			cmd := exec.Command(scriptCmd, "-qec", os.Args[0]+" -test.run=^$", "/dev/null")
			cmd.Env = append(os.Environ(), "BACKUP_CHILD_ARGS="+string(args))
			out, _ := cmd.CombinedOutput()
			assert.Contains(t, strings.ReplaceAll(string(out), "\r\n", "\n"), tt.want, tt.reason)
		})
	}
}

// pgDSN returns the DSN of the PostgreSQL that the standard PG* variables
// name (pglock/testdata/start-pg.sh starts one), or skips the test: unless
// PGLOCK_REQUIRE=1 says a server is required, as CI does.
func pgDSN(t *testing.T) string {
	t.Helper()
	host, port := os.Getenv("PGHOST"), os.Getenv("PGPORT")
	if host == "" || port == "" {
		if os.Getenv("PGLOCK_REQUIRE") == "1" {
			t.Fatal("PGLOCK_REQUIRE=1 and no PGHOST/PGPORT")
		}
		t.Skip("no PostgreSQL server: set PGHOST and PGPORT (eval \"$(pglock/testdata/start-pg.sh /tmp/pg)\")")
	}
	return fmt.Sprintf("host=%s port=%s user=%s dbname=%s", host, port, os.Getenv("PGUSER"), os.Getenv("PGDATABASE"))
}

// TestLockInPostgres: with -lock-db, two processes exclude each other through
// a lease in PostgreSQL, the second exits 75, and the archive says which
// lease, and which token, made it.
func TestLockInPostgres(t *testing.T) {
	dsn := pgDSN(t)
	_, db, out := demoSetup(t, 300)
	first, r := startChild(t, []string{"BACKUP_TEST_PAUSE_IN=dump"}, "-lock-db", dsn, "-db", db, "-out", out)
	waitLine(t, r, "paused in dump")

	code, output := exitCode(t, child("-lock-db", dsn, "-db", db, "-out", out))
	assert.Equal(t, exitLocked, code, "held in PostgreSQL: the same code as a file lock")
	assert.Contains(t, output, "another run holds the lock")
	assert.NoFileExists(t, filepath.Join(out, ".backup.lock"), "no file lock was taken")

	require.NoError(t, first.Process.Signal(syscall.SIGINT))
	require.Error(t, first.Wait())
	assert.Equal(t, exitInterrupted, first.ProcessState.ExitCode())

	code, output = exitCode(t, child("-lock-db", dsn, "-db", db, "-out", out))
	require.Equal(t, exitOK, code, output)
	names := archives(t, out)
	require.Len(t, names, 1)
	var m *meta
	require.NoError(t, readArchive(context.Background(), names[0], func(l line) error {
		if m == nil && l.Meta != nil {
			m = l.Meta
		}
		return nil
	}))
	require.NotNil(t, m, "the archive's first line says how it was made")
	assert.Equal(t, "scope-backup:"+out, m.Lock)
	assert.Positive(t, m.Token, "the lease's fencing token")
	n, err := countArchive(context.Background(), names[0])
	require.NoError(t, err)
	assert.Equal(t, 300, n.rows)
}
