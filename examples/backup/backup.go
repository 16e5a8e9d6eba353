package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	archive  string
	bytes    int64
	tables   int
	rows     int
	verified int
	removed  int
}

// backup takes the lock, writes a new archive, checks it, and prunes old
// ones. Everything it holds lives in one Scope.
func backup(ctx context.Context, c config, progress io.Writer) (sum summary, err error) {
	var s scope.Scope
	defer s.Unwind(&err)

	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return sum, err
	}
	if _, err := scope.Enter(&s, scope.TryFileLock(filepath.Join(c.out, ".backup.lock"))); err != nil {
		return sum, err
	}
	if c.hold > 0 {
		select {
		case <-time.After(c.hold):
		case <-ctx.Done():
			return sum, ctx.Err()
		}
	}
	if sum, err = writeArchive(ctx, c, progress); err != nil {
		return sum, err
	}
	info, err := os.Stat(sum.archive)
	if err != nil {
		return sum, err
	}
	sum.bytes = info.Size()
	if sum.verified, err = countArchive(sum.archive); err != nil {
		return sum, fmt.Errorf("verify %s: %w", sum.archive, err)
	}
	if sum.verified != sum.rows {
		return sum, fmt.Errorf("verify %s: %d rows in the archive, %d in the database", sum.archive, sum.verified, sum.rows)
	}
	sum.removed, err = prune(c.out, c.keep)
	return sum, err
}

// writeArchive reads one consistent snapshot of the database in a read
// transaction and writes it, compressed, with WriteFileAtomic: the archive
// appears whole or not at all.
func writeArchive(ctx context.Context, c config, progress io.Writer) (sum summary, err error) {
	var s scope.Scope
	defer s.Unwind(&err)

	if _, err := os.Stat(c.db); err != nil {
		return sum, err // sql.Open would create an empty database
	}
	db, err := sql.Open("sqlite", "file:"+c.db+"?mode=ro")
	if err != nil {
		return sum, err
	}
	s.Defer(db.Close)
	tx, err := scope.Enter(&s, scope.Tx(ctx, db, &sql.TxOptions{ReadOnly: true}))
	if err != nil {
		return sum, err
	}
	sum.archive = filepath.Join(c.out, "backup-"+time.Now().UTC().Format("20060102T150405.000000000Z")+".jsonl.gz")
	f, err := scope.Enter(&s, scope.WriteFileAtomic(sum.archive, 0o644))
	if err != nil {
		return sum, err
	}
	// Entered after the file, so closed before it is published: the gzip
	// trailer is in the archive when it appears.
	gz, err := scope.Enter(&s, scope.Closing(gzip.NewWriter(f)))
	if err != nil {
		return sum, err
	}
	sum.tables, sum.rows, err = dump(ctx, tx, gz, c, progress)
	return sum, err
}

// line is one line of an archive: a table's schema, or one of its rows.
type line struct {
	Table string  `json:"table"`
	SQL   string  `json:"sql,omitempty"`
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

func dump(ctx context.Context, tx *sql.Tx, w io.Writer, c config, progress io.Writer) (tables, rows int, err error) {
	type table struct{ name, sql string }
	var ts []table
	rs, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return 0, 0, err
	}
	for rs.Next() {
		var t table
		if err := rs.Scan(&t.name, &t.sql); err != nil {
			rs.Close()
			return 0, 0, err
		}
		ts = append(ts, t)
	}
	if err := rs.Close(); err != nil {
		return 0, 0, err
	}
	total := 0
	for _, t := range ts {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&n); err != nil {
			return 0, 0, err
		}
		total += n
	}

	enc := json.NewEncoder(w)
	for _, t := range ts {
		if err := enc.Encode(line{Table: t.name, SQL: t.sql}); err != nil {
			return tables, rows, err
		}
		tables++
		err := dumpTable(ctx, tx, enc, t.name, func() error {
			rows++
			if c.progress && (rows%500 == 0 || rows == total) {
				fmt.Fprintf(progress, "\rrows %d/%d", rows, total)
				if rows == total {
					fmt.Fprintln(progress)
				}
			}
			if rows == c.failAfter {
				return fmt.Errorf("injected failure after %d rows", rows)
			}
			return nil
		})
		if err != nil {
			return tables, rows, err
		}
	}
	return tables, rows, nil
}

func dumpTable(ctx context.Context, tx *sql.Tx, enc *json.Encoder, name string, each func() error) (err error) {
	rs, err := tx.QueryContext(ctx, `SELECT * FROM "`+name+`"`)
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
	return rs.Err()
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

// readArchive calls fn for each line of the archive at name.
func readArchive(name string, fn func(line) error) error {
	return scope.With(scope.Open(name), func(f *os.File) error {
		return scope.With(gzipReader(f), func(gz *gzip.Reader) error {
			dec := json.NewDecoder(bufio.NewReader(gz))
			for {
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

// countArchive returns how many rows the archive at name holds.
func countArchive(name string) (int, error) {
	n := 0
	err := readArchive(name, func(l line) error {
		if l.SQL == "" {
			n++
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
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		return err
	}
	s.Defer(db.Close)
	tx, err := scope.Enter(&s, scope.Tx(ctx, db, nil))
	if err != nil {
		return err
	}
	return readArchive(name, func(l line) error {
		if l.SQL != "" {
			_, err := tx.ExecContext(ctx, l.SQL)
			return err
		}
		args := make([]any, len(l.Row))
		for i, v := range l.Row {
			if args[i], err = v.decode(); err != nil {
				return err
			}
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
		_, err := tx.ExecContext(ctx, `INSERT INTO "`+l.Table+`" VALUES (`+marks+`)`, args...)
		return err
	})
}

// archives returns the archives in dir, oldest first.
func archives(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "backup-*.jsonl.gz"))
	slices.Sort(names) // the names sort by time
	return names, err
}

// prune removes all but the newest keep archives in dir; keep 0 keeps all.
func prune(dir string, keep int) (int, error) {
	if keep <= 0 {
		return 0, nil
	}
	names, err := archives(dir)
	if err != nil || len(names) <= keep {
		return 0, err
	}
	old := names[:len(names)-keep]
	for _, name := range old {
		if err := os.Remove(name); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}

// makeDemo makes a database of n rows in two tables at path.
func makeDemo(ctx context.Context, path string, n int) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	s.Defer(db.Close)
	return scope.With(scope.Tx(ctx, db, nil), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
			CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id),
				amount REAL, note TEXT, receipt BLOB)`); err != nil {
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
