package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/go-scope/scope"
)

// summary is what one backup did.
type summary struct {
	archive   string // its absolute path
	bytes     int64
	tables    int
	rows      int
	schema    map[string]int // schema entries by type: table, index, view, trigger
	entries   int            // schema entries in all
	cleaned   []string       // temporary files of killed runs, removed
	removed   []string       // old archives, pruned
	notPruned bool           // interrupted after publishing
}

// pausePhase, set by the tests, makes the run stop in a phase and wait there
// for an interrupt, so that a signal can be sent in that very phase.
var pausePhase = os.Getenv("BACKUP_TEST_PAUSE_IN")

// pause waits for ctx if the tests asked to pause in phase.
func pause(ctx context.Context, phase string, progress io.Writer) error {
	if pausePhase != phase {
		return nil
	}
	fmt.Fprintf(progress, "paused in %s\n", phase)
	<-ctx.Done()
	return ctx.Err()
}

// backup checks the database, takes the lock, writes and verifies a new
// archive, publishes it, and prunes old ones.
func backup(ctx context.Context, c config, progress io.Writer) (sum summary, err error) {
	// Refuse what is not a SQLite database before creating anything.
	db, err := checkDatabase(c.db)
	if err != nil {
		return sum, err
	}
	out, err := filepath.Abs(c.out)
	if err != nil {
		return sum, err
	}

	var s scope.Scope
	defer s.Unwind(&err)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return sum, err
	}
	meta, lockCtx, err := takeLock(ctx, &s, c, out)
	if err != nil {
		return sum, err
	}
	ctx = lockCtx // a lost lease stops the work
	// The lock proves that no run is writing: whatever temporary file is
	// there was left by one that was killed.
	pattern := filepath.Join(out, "backup-*.jsonl.gz")
	if sum.cleaned, err = scope.RemoveAtomicTemps(pattern); err != nil {
		return sum, err
	}
	if c.hold > 0 {
		select {
		case <-time.After(c.hold):
		case <-ctx.Done():
			return sum, ctx.Err()
		}
	}
	sum.archive = filepath.Join(out, "backup-"+time.Now().UTC().Format("20060102T150405.000000000Z")+".jsonl.gz")
	if err := writeArchive(ctx, db, sum.archive, meta, c, progress, &sum); err != nil {
		return sum, err
	}
	info, err := os.Stat(sum.archive)
	if err != nil {
		return sum, err
	}
	sum.bytes = info.Size()
	// Published and complete: a success, whatever comes now.
	_ = pause(ctx, "published", progress)
	if ctx.Err() != nil {
		sum.notPruned = true
		return sum, nil
	}
	sum.removed, err = prune(pattern, c.keep)
	return sum, err
}

// sqliteHeader begins every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// checkDatabase returns the data source name that opens the database at path
// read-only, or an error naming the file if it is not a SQLite database.
func checkDatabase(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(abs)
	switch {
	case err != nil:
		return "", err
	case info.IsDir():
		return "", fmt.Errorf("%s: a directory, not a SQLite database", path)
	case info.Size() == 0:
		return "", fmt.Errorf("%s: an empty file, not a SQLite database", path)
	}
	header := make([]byte, len(sqliteHeader))
	err = scope.With(scope.Open(abs), func(f *os.File) error {
		_, err := io.ReadFull(f, header)
		return err
	})
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	if !bytes.Equal(header, sqliteHeader) {
		return "", fmt.Errorf("%s: not a SQLite database", path)
	}
	return fileDSN(abs, "ro"), nil
}

// fileDSN is a SQLite URI for the file at abs, an absolute path: every
// character that a URI reserves (?, #, %, spaces) is escaped, so the name
// reaches SQLite as it is.
func fileDSN(abs, mode string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=" + mode}
	return u.String()
}

// writeArchive writes a snapshot of the database into a new archive at name:
// the snapshot is read in one read transaction, which ends before anything is
// published; the archive is then read back and compared with what was
// written, and published only if it matches and the run was not interrupted.
func writeArchive(ctx context.Context, dsn, name string, m *meta, c config, progress io.Writer, sum *summary) error {
	return scope.With(scope.WriteFileAtomic(name, 0o644), func(f *os.File) error {
		gz := gzip.NewWriter(f)
		if m != nil {
			if err := json.NewEncoder(gz).Encode(line{Meta: m}); err != nil {
				return err
			}
		}
		written, err := snapshot(ctx, dsn, gz, c, progress)
		if err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
		if err := pause(ctx, "verify", progress); err != nil {
			return err
		}
		read, err := countArchive(ctx, f.Name())
		if err != nil {
			return fmt.Errorf("verify %s: %w", name, err)
		}
		if !equalCounts(read, written) {
			return fmt.Errorf("verify %s: it holds %v, the database %v", name, read, written)
		}
		sum.tables, sum.rows, sum.schema, sum.entries = written.tables(), written.rows, written.schema, written.entries()
		return ctx.Err() // interrupted now: nothing is published
	})
}

// counts is what an archive holds.
type counts struct {
	rows   int
	schema map[string]int
}

func (n counts) tables() int { return n.schema["table"] }

func (n counts) entries() int {
	total := 0
	for _, k := range n.schema {
		total += k
	}
	return total
}

func (n counts) String() string {
	return fmt.Sprintf("%d rows, %d tables, %d indexes, %d views, %d triggers",
		n.rows, n.schema["table"], n.schema["index"], n.schema["view"], n.schema["trigger"])
}

func equalCounts(a, b counts) bool {
	return a.rows == b.rows && fmt.Sprint(a.schema) == fmt.Sprint(b.schema)
}

// line is one line of an archive: what the archive is (first, if any), a
// schema entry, or a row of a table.
type line struct {
	Meta  *meta   `json:"meta,omitempty"`
	Type  string  `json:"type,omitempty"` // table, index, view, trigger
	Name  string  `json:"name,omitempty"`
	SQL   string  `json:"sql,omitempty"`
	Table string  `json:"table,omitempty"`
	Row   []value `json:"row,omitempty"`
}

// value is one column value, tagged with its SQLite type so that a restore
// gives back the same values.
type value struct {
	I *int64   `json:"i,omitempty"`
	F *float64 `json:"f,omitempty"`
	S *string  `json:"s,omitempty"`
	B *string  `json:"b,omitempty"` // base64
}

// entry is one object of the database's schema.
type entry struct{ typ, name, table, sql string }

// quote quotes an SQL identifier, whatever it holds.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// snapshot writes the database's schema and rows to w in one read
// transaction, in the order a restore needs them: tables, their rows, then
// indexes, views and triggers (after the rows, so that restoring fires no
// trigger), each kind in the order it was created.
func snapshot(ctx context.Context, dsn string, w io.Writer, c config, progress io.Writer) (n counts, err error) {
	n.schema = map[string]int{}
	var s scope.Scope
	defer s.Unwind(&err)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return n, err
	}
	s.Defer(db.Close)
	tx, err := scope.Enter(&s, scope.Tx(ctx, db, &sql.TxOptions{ReadOnly: true}))
	if err != nil {
		return n, err
	}
	entries, err := schema(ctx, tx)
	if err != nil {
		return n, err
	}
	total := 0
	var tables []string
	for _, e := range entries {
		if e.typ == "table" {
			tables = append(tables, e.name)
		}
	}
	if hasSequence(ctx, tx) {
		tables = append(tables, "sqlite_sequence") // AUTOINCREMENT counters: rows only
	}
	for _, t := range tables {
		var k int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(t)).Scan(&k); err != nil {
			return n, err
		}
		total += k
	}

	p := &progressLine{w: progress, on: c.progress, total: total}
	defer p.end()
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if e.typ != "table" {
			continue
		}
		if err := enc.Encode(line{Type: e.typ, Name: e.name, SQL: e.sql}); err != nil {
			return n, err
		}
		n.schema[e.typ]++
	}
	if err := pause(ctx, "dump", progress); err != nil {
		return n, err
	}
	if c.failAfter == 0 {
		return n, errors.New("injected failure after 0 rows")
	}
	for _, t := range tables {
		err := dumpTable(ctx, tx, enc, t, func() error {
			n.rows++
			p.show(n.rows)
			if n.rows == c.failAfter {
				return fmt.Errorf("injected failure after %d rows", n.rows)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	for _, e := range entries {
		if e.typ == "table" {
			continue
		}
		if err := enc.Encode(line{Type: e.typ, Name: e.name, SQL: e.sql}); err != nil {
			return n, err
		}
		n.schema[e.typ]++
	}
	return n, nil
}

// schema returns the database's schema entries in the order they were
// created. It refuses virtual tables, whose contents it cannot restore.
func schema(ctx context.Context, tx *sql.Tx) ([]entry, error) {
	rs, err := tx.QueryContext(ctx, `SELECT type, name, tbl_name, sql FROM sqlite_master
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	var entries []entry
	for rs.Next() {
		var e entry
		if err := rs.Scan(&e.typ, &e.name, &e.table, &e.sql); err != nil {
			return nil, errors.Join(err, rs.Close())
		}
		if e.typ == "table" && strings.HasPrefix(strings.ToUpper(e.sql), "CREATE VIRTUAL TABLE") {
			return nil, errors.Join(fmt.Errorf("table %s is a virtual table: not supported", quote(e.name)), rs.Close())
		}
		entries = append(entries, e)
	}
	return entries, errors.Join(rs.Err(), rs.Close())
}

// hasSequence reports whether the database has AUTOINCREMENT counters.
func hasSequence(ctx context.Context, tx *sql.Tx) bool {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'`).Scan(&n)
	return err == nil && n == 1
}

// progressLine shows how many rows are done on a terminal, and always ends
// its line, also when the run fails.
type progressLine struct {
	w     io.Writer
	on    bool
	total int
	open  bool
}

func (p *progressLine) show(rows int) {
	if p.on && (rows%500 == 0 || rows == p.total) {
		fmt.Fprintf(p.w, "\rrows %d/%d", rows, p.total)
		p.open = true
	}
}

func (p *progressLine) end() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

func dumpTable(ctx context.Context, tx *sql.Tx, enc *json.Encoder, name string, each func() error) (err error) {
	rs, err := tx.QueryContext(ctx, `SELECT * FROM `+quote(name))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rs.Close()) }()
	cols, err := rs.Columns()
	if err != nil {
		return err
	}
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return err
		}
		row := make([]value, len(raw))
		for i, v := range raw {
			row[i] = encode(v)
		}
		if err := enc.Encode(line{Table: name, Row: row}); err != nil {
			return err
		}
		if err := each(); err != nil {
			return err
		}
	}
	if err := rs.Err(); err != nil {
		return err
	}
	return ctx.Err()
}

func encode(v any) value {
	switch v := v.(type) {
	case int64:
		return value{I: &v}
	case float64:
		return value{F: &v}
	case string:
		return value{S: &v}
	case []byte:
		b := base64.StdEncoding.EncodeToString(v)
		return value{B: &b}
	}
	return value{} // NULL
}

func (v value) decode() (any, error) {
	switch {
	case v.I != nil:
		return *v.I, nil
	case v.F != nil:
		return *v.F, nil
	case v.S != nil:
		return *v.S, nil
	case v.B != nil:
		return base64.StdEncoding.DecodeString(*v.B)
	}
	return nil, nil
}

// readArchive calls fn for each line of the archive at name, until ctx is
// done.
func readArchive(ctx context.Context, name string, fn func(line) error) error {
	return scope.With(scope.Open(name), func(f *os.File) error {
		return scope.With(gzipReader(f), func(gz *gzip.Reader) error {
			dec := json.NewDecoder(bufio.NewReader(gz))
			for i := 0; ; i++ {
				if i%1000 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				var l line
				switch err := dec.Decode(&l); {
				case errors.Is(err, io.EOF):
					return nil
				case err != nil:
					return err
				}
				if err := fn(l); err != nil {
					return err
				}
			}
		})
	})
}

// gzipReader is a Manager made with Func: gzip.NewReader can fail, and the
// reader must be closed.
func gzipReader(r io.Reader) scope.Manager[*gzip.Reader] {
	return scope.Func(func() (*gzip.Reader, error) { return gzip.NewReader(r) },
		func(gz *gzip.Reader, _ error) error { return gz.Close() })
}

// countArchive returns what the archive at name holds.
func countArchive(ctx context.Context, name string) (counts, error) {
	n := counts{schema: map[string]int{}}
	err := readArchive(ctx, name, func(l line) error {
		switch {
		case l.Meta != nil:
		case l.Type != "":
			n.schema[l.Type]++
		default:
			n.rows++
		}
		return nil
	})
	return n, err
}

// restore loads the archive at name into a new database at dbPath, in one
// transaction.
func restore(ctx context.Context, name, dbPath string) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", fileDSN(abs, "rwc"))
	if err != nil {
		return err
	}
	s.Defer(db.Close)
	tx, err := scope.Enter(&s, scope.Tx(ctx, db, nil))
	if err != nil {
		return err
	}
	return readArchive(ctx, name, func(l line) error {
		if l.Meta != nil {
			return nil
		}
		if l.Type != "" {
			_, err := tx.ExecContext(ctx, l.SQL)
			return err
		}
		args := make([]any, len(l.Row))
		for i, v := range l.Row {
			if args[i], err = v.decode(); err != nil {
				return err
			}
		}
		if l.Table == "sqlite_sequence" {
			// The counter the inserted rows set, replaced by the saved one.
			if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = ?`, args[0]); err != nil {
				return err
			}
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
		_, err := tx.ExecContext(ctx, `INSERT INTO `+quote(l.Table)+` VALUES (`+marks+`)`, args...)
		return err
	})
}

// prune removes all but the newest keep archives matching pattern; keep 0
// keeps all. It returns the paths it removed.
func prune(pattern string, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	names, err := filepath.Glob(pattern)
	if err != nil || len(names) <= keep {
		return nil, err
	}
	slices.Sort(names) // the names sort by time
	old := names[:len(names)-keep]
	for i, name := range old {
		if err := os.Remove(name); err != nil {
			return old[:i], err
		}
	}
	return old, nil
}

// makeDemo makes a database of n rows at path: two tables, an index, a view
// and a trigger.
func makeDemo(ctx context.Context, path string, n int) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", fileDSN(abs, "rwc"))
	if err != nil {
		return err
	}
	s.Defer(db.Close)
	return scope.With(scope.Tx(ctx, db, nil), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
			CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id),
				amount REAL, note TEXT, receipt BLOB);
			CREATE INDEX orders_by_customer ON orders(customer);
			CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 1000;
			CREATE TRIGGER no_negative BEFORE INSERT ON orders WHEN NEW.amount < 0
				BEGIN SELECT RAISE(ABORT, 'negative amount'); END`); err != nil {
			return err
		}
		customers := n / 5
		for i := 1; i <= customers; i++ {
			var email any = fmt.Sprintf("customer%d@example.com", i)
			if i%7 == 0 {
				email = nil
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO customers VALUES (?, ?, ?)`, i, fmt.Sprintf("Customer %d", i), email); err != nil {
				return err
			}
		}
		for i := 1; i <= n-customers; i++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO orders VALUES (?, ?, ?, ?, ?)`,
				i, 1+i%customers, float64(i)*1.25, fmt.Sprintf("order %d", i), []byte{byte(i), byte(i >> 8), 0}); err != nil {
				return err
			}
		}
		return nil
	})
}
