package pglock_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-scope/scope"
	"github.com/go-scope/scope/pglock"
)

// The tests need a PostgreSQL server: the one the standard PGHOST, PGPORT,
// PGUSER, PGDATABASE (and PGPASSWORD) name, as testdata/start-pg.sh starts
// it. Without one they skip, unless PGLOCK_REQUIRE=1 (set by CI) says that a
// server is required.

func TestMain(m *testing.M) {
	if os.Getenv("PGLOCK_CHILD") == "holder" {
		holder()
		return
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// open returns a pool on the test server, or through addr when it is not "".
func open(t *testing.T, addr string) *sql.DB {
	t.Helper()
	dsn := ""
	if addr != "" {
		host, port, _ := net.SplitHostPort(addr)
		dsn = "host=" + host + " port=" + port
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		if os.Getenv("PGLOCK_REQUIRE") == "1" {
			t.Fatalf("PGLOCK_REQUIRE=1 and no PostgreSQL server: %v", err)
		}
		t.Skipf("no PostgreSQL server (run eval \"$(testdata/start-pg.sh /tmp/pg)\" first): %v", err)
	}
	return db
}

// deadline bounds a test: it fails instead of hanging.
func deadline(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var fast = &pglock.Options{TTL: time.Second, Margin: 100 * time.Millisecond}

// uniqueName is a lock name no other test uses.
func uniqueName(t *testing.T) string {
	return t.Name() + "/" + strconv.FormatInt(time.Now().UnixNano(), 10)
}

// advisoryLocks returns the advisory locks the server knows, held or waited
// for: "granted pid" or "waiting pid".
func advisoryLocks(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rs, err := db.Query(`SELECT granted, pid FROM pg_locks WHERE locktype = 'advisory'`)
	require.NoError(t, err)
	defer rs.Close()
	var out []string
	for rs.Next() {
		var granted bool
		var pid int
		require.NoError(t, rs.Scan(&granted, &pid))
		state := "waiting"
		if granted {
			state = "granted"
		}
		out = append(out, fmt.Sprintf("%s %d", state, pid))
	}
	require.NoError(t, rs.Err())
	return out
}

// holderPID returns the backend that holds an advisory lock.
func holderPID(t *testing.T, db *sql.DB) int {
	t.Helper()
	var pid int
	require.NoError(t, db.QueryRow(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&pid))
	return pid
}

func TestExclusionAndTokens(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 30*time.Second)
	name := uniqueName(t)
	var tokens []uint64
	for range 3 {
		err := scope.With(pglock.TryLock(ctx, db, name, fast), func(l *pglock.Lease) error {
			tokens = append(tokens, l.Token)
			err := scope.With(pglock.TryLock(ctx, db, name, fast), func(*pglock.Lease) error { return nil })
			assert.ErrorIs(t, err, pglock.ErrLocked, "held: TryLock fails at once, even from the same pool")
			assert.ErrorIs(t, err, scope.ErrLocked, "and matches scope.ErrLocked")
			assert.Contains(t, err.Error(), name)
			return nil
		})
		require.NoError(t, err)
	}
	assert.Less(t, tokens[0], tokens[1], "tokens grow with every acquisition")
	assert.Less(t, tokens[1], tokens[2])
	assert.Empty(t, advisoryLocks(t, db))
}

// TestReleasedOnEveryEnding: whatever way the block ends, the lock is
// released and the session closed, not returned to the pool.
func TestReleasedOnEveryEnding(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 30*time.Second)
	for _, ending := range []struct {
		name string
		end  func() error
	}{
		{"nil", func() error { return nil }},
		{"error", func() error { return errors.New("block failed") }},
		{"panic", func() error { panic("boom") }},
		{"Goexit", func() error { runtime.Goexit(); return nil }},
	} {
		t.Run(ending.name, func(t *testing.T) {
			var pid int
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { _ = recover() }()
				_ = scope.With(pglock.Lock(ctx, db, uniqueName(t), fast), func(l *pglock.Lease) error {
					pid = holderPID(t, db)
					return ending.end()
				})
			}()
			wg.Wait()
			assert.Empty(t, advisoryLocks(t, db), "no advisory lock left")
			assertSessionGone(t, db, pid)
		})
	}
	t.Run("t.FailNow", func(t *testing.T) {
		if os.Getenv("PGLOCK_FAILNOW") == "1" {
			_ = scope.With(pglock.Lock(ctx, db, "failnow", fast), func(l *pglock.Lease) error {
				fmt.Printf("holder %d\n", holderPID(t, db))
				t.FailNow()
				return nil
			})
			return
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestReleasedOnEveryEnding$/^t.FailNow$", "-test.v")
		cmd.Env = append(os.Environ(), "PGLOCK_FAILNOW=1")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "the child's test fails by design:\n%s", out)
		var pid int
		_, serr := fmt.Sscanf(string(out[strings.Index(string(out), "holder "):]), "holder %d", &pid)
		require.NoError(t, serr, "%s", out)
		assert.Empty(t, advisoryLocks(t, db))
		assertSessionGone(t, db, pid)
	})
}

func assertSessionGone(t *testing.T, db *sql.DB, pid int) {
	t.Helper()
	assert.Eventually(t, func() bool {
		var n int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n))
		return n == 0
	}, 5*time.Second, 10*time.Millisecond, "the lease's session was closed, not returned to the pool")
}

func TestLockWaitsAndHandsOver(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 30*time.Second)
	name := uniqueName(t)
	release := make(chan struct{})
	released := make(chan time.Time, 1)
	held := make(chan struct{})
	go func() {
		_ = scope.With(pglock.Lock(ctx, db, name, fast), func(*pglock.Lease) error {
			close(held)
			<-release
			return nil
		})
		released <- time.Now()
	}()
	<-held
	got := make(chan time.Time, 1)
	go func() {
		_ = scope.With(pglock.Lock(ctx, db, name, fast), func(*pglock.Lease) error {
			got <- time.Now()
			return nil
		})
	}()
	select {
	case <-got:
		t.Fatal("the second Lock got the lock while the first held it")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	at, rel := <-got, <-released
	t.Logf("handed over %v after the release returned", at.Sub(rel))
	assert.Less(t, at.Sub(rel), time.Second)
}

// TestCanceledWaitLeavesNothing: Lock's ctx ends the wait, the error matches
// ctx.Err(), and the waiting request is withdrawn at the server.
func TestCanceledWaitLeavesNothing(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 30*time.Second)
	name := uniqueName(t)
	err := scope.With(pglock.Lock(ctx, db, name, fast), func(*pglock.Lease) error {
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		err := scope.With(pglock.Lock(wctx, db, name, fast), func(*pglock.Lease) error { return nil })
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Eventually(t, func() bool {
			return !strings.Contains(strings.Join(advisoryLocks(t, db), ","), "waiting")
		}, 5*time.Second, 10*time.Millisecond, "no waiting request left")
		return nil
	})
	require.NoError(t, err)
	assert.Empty(t, advisoryLocks(t, db), "the withdrawn request did not get the lock later")
}

func TestOptionsValidated(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 10*time.Second)
	for _, tt := range []struct {
		reason string
		opts   pglock.Options
		want   string
	}{
		{"a TTL shorter than a second", pglock.Options{TTL: 500 * time.Millisecond}, "shorter than 1s"},
		{"a TTL that is no whole number of milliseconds", pglock.Options{TTL: time.Second + time.Microsecond}, "whole number of milliseconds"},
		{"a Margin as long as the TTL", pglock.Options{TTL: time.Second, Margin: time.Second}, "not between 0 and the TTL"},
		{"a negative Margin", pglock.Options{TTL: time.Second, Margin: -1}, "not between 0 and the TTL"},
	} {
		err := scope.With(pglock.TryLock(ctx, db, "x", &tt.opts), func(*pglock.Lease) error { return nil })
		assert.ErrorContains(t, err, tt.want, tt.reason)
	}
	assert.Panics(t, func() { pglock.Lock(ctx, nil, "x", nil) })
}

// TestTerminatedSession: the server ends the holder's session; the lease's
// context is canceled with ErrLeaseLost, and the outcome holds it although
// the block returned nil.
func TestTerminatedSession(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 30*time.Second)
	var lease *pglock.Lease
	err := scope.With(pglock.Lock(ctx, db, uniqueName(t), fast), func(l *pglock.Lease) error {
		lease = l
		_, err := db.Exec(`SELECT pg_terminate_backend($1)`, holderPID(t, db))
		require.NoError(t, err)
		select {
		case <-l.Context().Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the lease's context was not canceled")
		}
		assert.ErrorIs(t, context.Cause(l.Context()), pglock.ErrLeaseLost)
		return nil
	})
	assert.ErrorIs(t, err, pglock.ErrLeaseLost, "in the outcome of a block that returned nil")
	assert.ErrorIs(t, lease.Err(), pglock.ErrLeaseLost)
}

// TestLongHoldNeverStolen: a lease held for three TTLs keeps the lock.
func TestLongHoldNeverStolen(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 30*time.Second)
	name := uniqueName(t)
	err := scope.With(pglock.Lock(ctx, db, name, fast), func(l *pglock.Lease) error {
		end := time.Now().Add(3 * fast.TTL)
		for time.Now().Before(end) {
			err := scope.With(pglock.TryLock(ctx, db, name, fast), func(*pglock.Lease) error { return nil })
			require.ErrorIs(t, err, pglock.ErrLocked, "stolen after %v", time.Until(end))
			time.Sleep(50 * time.Millisecond)
		}
		return l.Err()
	})
	require.NoError(t, err)
}

func TestCleanReleaseErr(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 10*time.Second)
	var lease *pglock.Lease
	require.NoError(t, scope.With(pglock.TryLock(ctx, db, uniqueName(t), fast), func(l *pglock.Lease) error {
		lease = l
		return nil
	}))
	assert.NoError(t, lease.Err(), "nil after a clean release")
	assert.ErrorIs(t, lease.Context().Err(), context.Canceled, "the lease's context ends with the lease")
	assert.NotErrorIs(t, context.Cause(lease.Context()), pglock.ErrLeaseLost)
}

// proxy is a TCP proxy on 127.0.0.1 to the test server, which can delay the
// server's answers, black-hole everything, or close every connection.
type proxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	delay    time.Duration // of data from the server
	hole     bool          // drop everything from now on
	conns    []net.Conn
	wg       sync.WaitGroup
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	host, port := os.Getenv("PGHOST"), os.Getenv("PGPORT")
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "5432"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, upstream: net.JoinHostPort(host, port)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(u, c, false)
		go p.pipe(c, u, true)
	}
}

// pipe copies src to dst, chunk by chunk, as the proxy's mode says.
func (p *proxy) pipe(dst, src net.Conn, fromServer bool) {
	defer p.wg.Done()
	type chunk struct {
		b  []byte
		at time.Time
	}
	queue := make(chan chunk, 1024)
	go func() {
		for c := range queue {
			time.Sleep(time.Until(c.at))
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	defer close(queue)
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			hole, delay := p.hole, p.delay
			p.mu.Unlock()
			if !hole {
				at := time.Now()
				if fromServer {
					at = at.Add(delay)
				}
				queue <- chunk{append([]byte(nil), buf[:n]...), at}
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) set(delay time.Duration, hole bool) {
	p.mu.Lock()
	p.delay, p.hole = delay, hole
	p.mu.Unlock()
}

// closeConns closes every proxied connection, as a crash of the holder's
// machine or a reset would.
func (p *proxy) closeConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) close() {
	p.ln.Close()
	p.closeConns()
	p.wg.Wait()
}

// TestHolderSocketClosed: the holder's connection breaks; the server drops
// the session at once and a waiter acquires quickly, long before the TTL.
func TestHolderSocketClosed(t *testing.T) {
	direct := open(t, "")
	p := newProxy(t)
	via := open(t, p.addr())
	ctx := deadline(t, 30*time.Second)
	name := uniqueName(t)
	opts := &pglock.Options{TTL: 10 * time.Second}
	held := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- scope.With(pglock.Lock(ctx, via, name, opts), func(l *pglock.Lease) error {
			close(held)
			<-l.Context().Done()
			return nil
		})
	}()
	<-held
	broken := time.Now()
	p.closeConns()
	require.NoError(t, scope.With(pglock.Lock(ctx, direct, name, opts), func(*pglock.Lease) error { return nil }))
	t.Logf("the waiter acquired %v after the holder's socket closed (TTL %v)", time.Since(broken), opts.TTL)
	assert.Less(t, time.Since(broken), opts.TTL/2)
	assert.ErrorIs(t, <-done, pglock.ErrLeaseLost, "the holder learns it lost the lease")
}

// TestPartition: the holder is cut off from the server by a black hole, after
// its last keep-alive's answer came through late. Counted from the send time
// of that keep-alive, the holder's context is canceled before the server
// frees the lock and another holder acquires it; counted from the receive
// time it would not be. Five runs; the lead is logged.
func TestPartition(t *testing.T) {
	direct := open(t, "")
	opts := &pglock.Options{TTL: 2 * time.Second, Margin: 200 * time.Millisecond}
	late := 3 * opts.Margin // later than the margin: a receive-time deadline would lose
	for run := range 5 {
		p := newProxy(t)
		via := open(t, p.addr())
		ctx := deadline(t, 30*time.Second)
		name := uniqueName(t)
		lostAt := make(chan time.Time, 1)
		held := make(chan struct{})
		go func() {
			_ = scope.With(pglock.Lock(ctx, via, name, opts), func(l *pglock.Lease) error {
				close(held)
				<-l.Context().Done()
				lostAt <- time.Now()
				return nil
			})
		}()
		<-held
		// The next keep-alive's answer comes late; then nothing passes.
		p.set(late, false)
		time.Sleep(opts.TTL/4 + 100*time.Millisecond)
		p.set(0, true)
		var acquiredAt time.Time
		for acquiredAt.IsZero() {
			err := scope.With(pglock.TryLock(ctx, direct, name, opts), func(*pglock.Lease) error {
				acquiredAt = time.Now()
				return nil
			})
			if err != nil {
				require.ErrorIs(t, err, pglock.ErrLocked)
				time.Sleep(10 * time.Millisecond)
			}
		}
		lost := <-lostAt
		t.Logf("run %d: the holder gave up %v before the other side acquired", run+1, acquiredAt.Sub(lost))
		assert.True(t, lost.Before(acquiredAt), "run %d: the holder must give up first", run+1)
		p.close()
	}
}

// holder is the child of TestPausedHolderFenced: it takes the lease, says its
// token, and on "write" tries a fenced write with it.
func holder() {
	ctx := context.Background()
	db, err := sql.Open("pgx", "")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	name := os.Getenv("PGLOCK_NAME")
	err = scope.With(pglock.Lock(ctx, db, name, fast), func(l *pglock.Lease) error {
		fmt.Printf("token %d\n", l.Token)
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return err
		}
		res, err := db.Exec(`UPDATE fence SET token = $1, writer = 'paused holder' WHERE name = $2 AND token <= $1`, int64(l.Token), name)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		fmt.Printf("rows %d\n", n)
		return nil
	})
	fmt.Printf("outcome %v\n", err)
}

// TestPausedHolderFenced: a holder stopped (SIGSTOP) past its TTL loses the
// lock to another; resumed, its write carries the older token and the fenced
// resource refuses it.
func TestPausedHolderFenced(t *testing.T) {
	db := open(t, "")
	ctx := deadline(t, 30*time.Second)
	name := uniqueName(t)
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS fence (name text PRIMARY KEY, token bigint NOT NULL, writer text)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO fence VALUES ($1, 0, '')`, name)
	require.NoError(t, err)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PGLOCK_CHILD=holder", "PGLOCK_NAME="+name)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	out := bufio.NewReader(stdout)
	var first uint64
	line, err := out.ReadString('\n')
	require.NoError(t, err)
	_, err = fmt.Sscanf(line, "token %d", &first)
	require.NoError(t, err, line)

	require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))
	var second uint64
	require.NoError(t, scope.With(pglock.Lock(ctx, db, name, fast), func(l *pglock.Lease) error {
		second = l.Token
		_, err := db.Exec(`UPDATE fence SET token = $1, writer = 'next holder' WHERE name = $2 AND token <= $1`, int64(l.Token), name)
		return err
	}), "the server freed the paused holder's lock after its TTL")
	assert.Greater(t, second, first)

	require.NoError(t, cmd.Process.Signal(syscall.SIGCONT))
	_, err = io.WriteString(stdin, "write\n")
	require.NoError(t, err)
	rest, _ := io.ReadAll(out)
	require.NoError(t, cmd.Wait())
	assert.Contains(t, string(rest), "rows 0", "the resumed holder's write is refused by its token")
	assert.Contains(t, string(rest), "pglock: the lease was lost", "and it learns it lost the lease")
	var writer string
	require.NoError(t, db.QueryRow(`SELECT writer FROM fence WHERE name = $1`, name).Scan(&writer))
	assert.Equal(t, "next holder", writer)
}
