// Package realistic holds code from the README, the package documentation
// and the example programs: none of it may be reported.
package realistic

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/go-scope/scope"
)

type Row struct{ Name string }

var reportMu sync.Mutex

func writeRows(w io.Writer, rows []Row) error { return nil }

func saveReport(path string, rows []Row) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)

	if _, err := scope.Enter(&s, scope.Lock(&reportMu)); err != nil {
		return err
	}
	f, err := scope.Enter(&s, scope.WriteFileAtomic(path, 0o644))
	if err != nil {
		return err
	}
	return writeRows(f, rows)
}

func writeGreeting() error {
	return scope.With(scope.Create("out.txt"), func(f *os.File) error {
		_, err := f.WriteString("hello")
		return err
	})
}

func backup() error { return nil }

func backupOnce() error {
	err := scope.With(scope.TryFileLock("/var/run/backup.lock"), func(*os.File) error { return backup() })
	if errors.Is(err, scope.ErrLocked) {
		log.Print("another backup is running; try later")
		return nil
	}
	return err
}

func addUser(ctx context.Context, db *sql.DB, name string) error {
	return scope.With(scope.Tx(ctx, db, nil), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO users(name) VALUES (?)", name)
		return err
	})
}

func download(ctx context.Context, url string) error { return nil }

func fetchAll(ctx context.Context, urls []string) (err error) {
	s := scope.New(ctx)
	defer s.Unwind(&err)
	for _, u := range urls {
		s.Go(func(ctx context.Context) error { return download(ctx, u) })
	}
	return nil
}

type Config struct{ Addr string }

func loadConfig(path string) (cfg Config, err error) {
	err = scope.With(scope.Open(path), func(f *os.File) error {
		return json.NewDecoder(f).Decode(&cfg)
	})
	return cfg, err
}

func tempDir() scope.Manager[string] {
	return scope.Generator(func(yield func(string) error) error {
		dir, err := os.MkdirTemp("", "job")
		if err != nil {
			return err
		}
		err = yield(dir)
		return errors.Join(err, os.RemoveAll(dir))
	})
}

func concat(w io.Writer, names ...string) (err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	readers := make([]io.Reader, 0, len(names))
	for _, name := range names {
		f, err := scope.Enter(&s, scope.Open(name))
		if err != nil {
			return err
		}
		readers = append(readers, f)
	}
	_, err = io.Copy(w, io.MultiReader(readers...))
	return err
}

// The httpserver example: a server as a manager, closed with a deadline.

type server struct {
	srv *http.Server
	ln  net.Listener
}

func (s *server) Enter() (*server, error) { return s, nil }
func (s *server) Exit(err error) error    { return s.ExitContext(context.Background(), err) }
func (s *server) ExitContext(ctx context.Context, err error) error {
	return errors.Join(s.srv.Shutdown(ctx), s.srv.Close())
}

func serve(addr string, shutdownTimeout time.Duration) (err error) {
	var s scope.Scope
	defer func() { err = errors.Join(err, s.CloseTimeout(shutdownTimeout)) }()
	ln, err := scope.Enter(&s, scope.Func(func() (net.Listener, error) { return net.Listen("tcp", addr) },
		func(ln net.Listener, _ error) error { return ln.Close() }))
	if err != nil {
		return err
	}
	srv, err := scope.Enter(&s, &server{srv: &http.Server{}, ln: ln})
	if err != nil {
		return err
	}
	_ = srv
	return nil
}

// The tcpproxy example: goroutines owned by a scope, stopped on return.

func proxy(ctx context.Context, ln net.Listener) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	s := scope.New(ctx)
	s.SetCancelOnError(false)
	defer s.Unwind(&err)
	defer cancel()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return nil
		}
		s.Go(func(ctx context.Context) error { return conn.Close() })
	}
}

// A constructor that hands its resources over with Move.

type resources struct {
	db  *sql.DB
	res *scope.Scope
}

func openAll(dsn, path string) (r *resources, err error) {
	var s scope.Scope
	defer s.Unwind(&err) // on success nothing is left: Move took it all
	db, err := scope.Enter(&s, scope.Closing(mustOpen(dsn)))
	if err != nil {
		return nil, err
	}
	if _, err := scope.Enter(&s, scope.Open(path)); err != nil {
		return nil, err
	}
	return &resources{db: db, res: s.Move()}, nil
}

func mustOpen(dsn string) *sql.DB { db, _ := sql.Open("x", dsn); return db }
