// Package pglock is a lock across machines for [github.com/go-scope/scope]:
// a lease on a PostgreSQL advisory lock, as a scope.Manager.
//
// scope.FileLock keeps two runs of a job apart on one machine. Jobs that run
// on several machines (a CronJob, a fleet of workers) can take their lock in
// the PostgreSQL they already have:
//
//	err := scope.With(pglock.TryLock(ctx, db, "nightly-backup", nil), func(l *pglock.Lease) error {
//		return backup(l.Context(), l.Token)
//	})
//	if errors.Is(err, scope.ErrLocked) {
//		return nil // another machine runs it; try next time
//	}
//
// # What a lease promises, and what it does not
//
// A lock across machines is only honest as a lease. The holder's session
// keeps the advisory lock; the server drops a session that stays idle for
// longer than the lease's TTL (idle_session_timeout), or whose connection
// breaks, and with it the lock. The holder pings every TTL/4 and counts its
// lease from the moment it sent the last ping the server answered: the lease
// counts as lost at that moment + TTL − Margin, before the server can have
// dropped the session (the server counts from when it answered, later). On
// that deadline, or on a broken connection, the Lease's context is canceled
// with a cause matching [ErrLeaseLost], and the Manager's exit adds
// ErrLeaseLost to the outcome, also when the block returned nil.
//
// What no lease can promise: that the holder stops in time. A holder that is
// paused (a stopped process, a long GC pause, a suspended VM) or partitioned
// from the server may go on running after its lease was lost, and write while
// another holder runs. Checking l.Context() before each step narrows that
// window; it cannot close it. Failover of the server (or a pooler in front of
// it) can also drop the lock while the holder's connection seems fine.
//
// The fencing token closes the window where it matters: Lease.Token grows
// with every acquisition (it is a fresh PostgreSQL transaction id,
// pg_current_xact_id). Pass it with every write to the resource the lock
// protects, and have the resource refuse a token smaller than the largest it
// has seen: a holder that lost its lease while paused then cannot overwrite
// the work of the next holder. In PostgreSQL:
//
//	UPDATE jobs SET state = $2, token = $1 WHERE name = 'backup' AND token <= $1
//
// # Connections
//
// Each held lease uses one connection of db's pool, for as long as it is
// held, with its own session settings, and closes it at release rather than
// returning it to the pool. db.SetMaxOpenConns(n) therefore allows at most n
// leases at once, one fewer if Lock's cancellation should reach the server
// while all are in use (it uses another connection to withdraw the waiting
// request). The package works over database/sql with any PostgreSQL driver;
// its tests use github.com/jackc/pgx/v5/stdlib. PostgreSQL 14 or later is
// needed, for idle_session_timeout.
package pglock

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/go-scope/scope"
)

// ErrLocked is returned (wrapped, with the lock's name) by [TryLock]'s Enter
// when another session holds the lock. errors.Is(err, scope.ErrLocked) is
// true too, so one check serves a file lock and a lease alike.
var ErrLocked = fmt.Errorf("pglock: %w", scope.ErrLocked)

// ErrLeaseLost is the cause of a Lease's context once the lock can no longer
// be assumed held, and is added to the outcome by the Manager's exit: the
// lock may have been held by someone else while the block ran.
var ErrLeaseLost = errors.New("pglock: the lease was lost: the lock may have been held by someone else")

// Options are a lease's timing. The zero Options, or nil, gives the defaults.
type Options struct {
	// TTL is how long the server keeps the lock of a session it hears
	// nothing from: at least a second, in whole milliseconds. Default 15s.
	TTL time.Duration
	// Margin is how much earlier than the server the holder gives up:
	// 0 < Margin < TTL. Default TTL/10.
	Margin time.Duration
}

// minTTL is the shortest TTL: pings every TTL/4 must have time to come back.
const minTTL = time.Second

func (o *Options) resolve() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	if r.TTL == 0 {
		r.TTL = 15 * time.Second
	}
	if r.Margin == 0 {
		r.Margin = r.TTL / 10
	}
	switch {
	case r.TTL < minTTL:
		return r, fmt.Errorf("pglock: Options.TTL %v is shorter than %v", r.TTL, minTTL)
	case r.TTL%time.Millisecond != 0:
		return r, fmt.Errorf("pglock: Options.TTL %v is not a whole number of milliseconds (the server's idle_session_timeout is)", r.TTL)
	case r.Margin < 0 || r.Margin >= r.TTL:
		return r, fmt.Errorf("pglock: Options.Margin %v is not between 0 and the TTL %v", r.Margin, r.TTL)
	}
	return r, nil
}

// Lease is a held lock.
type Lease struct {
	Name  string // the lock's name
	Token uint64 // the fencing token: larger for every later acquisition of any lease

	key     int64
	opts    Options
	conn    *sql.Conn
	ctx     context.Context
	cancel  context.CancelCauseFunc
	stop    chan struct{} // closed to stop the keep-alive
	stopped chan struct{} // closed when the keep-alive has stopped
	mu      sync.Mutex
	lost    error // why the lease was lost, or nil
}

// Context returns a context that is canceled, with a cause matching
// [ErrLeaseLost], once the lock can no longer be assumed held; it is also
// canceled when the ctx given to Lock or TryLock is (it derives from it), and
// when the lease is released. Do the work that needs the lock with it.
func (l *Lease) Context() context.Context { return l.ctx }

// Err returns nil while the lease is held and after a clean release, and an
// error matching [ErrLeaseLost], saying why, once the lease was lost.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Lock returns a Manager whose Enter waits until it holds the lock name, or
// ctx is done: then Enter returns an error matching ctx.Err(), and the
// waiting request is withdrawn at the server. Exit releases the lock (see
// [Lease] and the package documentation for what holding means).
//
// The lock is not reentrant: a second Lock of the same name waits for the
// first to be released, whichever pool or process it comes from.
//
// Lock panics if ctx or db is nil.
func Lock(ctx context.Context, db *sql.DB, name string, o *Options) scope.Manager[*Lease] {
	return newManager(ctx, db, name, o, true)
}

// TryLock is [Lock] without the wait: if another session holds the lock,
// Enter returns at once an error matching [ErrLocked] (and scope.ErrLocked).
func TryLock(ctx context.Context, db *sql.DB, name string, o *Options) scope.Manager[*Lease] {
	return newManager(ctx, db, name, o, false)
}

func newManager(ctx context.Context, db *sql.DB, name string, o *Options, wait bool) scope.Manager[*Lease] {
	if ctx == nil {
		panic("pglock: Lock called with a nil Context")
	}
	if db == nil {
		panic("pglock: Lock called with a nil *sql.DB")
	}
	return &manager{ctx: ctx, db: db, name: name, opts: o, wait: wait}
}

// manager is the Manager of Lock and TryLock. It is a scope.ContextExiter,
// so that a Scope closed with a deadline (CloseTimeout) bounds the unlock;
// a plain Exit is bounded by the TTL. Entered more than once, it releases
// its leases last in, first out.
type manager struct {
	ctx  context.Context
	db   *sql.DB
	name string
	opts *Options
	wait bool

	mu   sync.Mutex
	held []*Lease
}

func (m *manager) Enter() (*Lease, error) {
	l, err := acquire(m.ctx, m.db, m.name, m.opts, m.wait)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.held = append(m.held, l)
	m.mu.Unlock()
	return l, nil
}

func (m *manager) Exit(err error) error { return m.ExitContext(context.Background(), err) }

func (m *manager) ExitContext(ctx context.Context, _ error) error {
	m.mu.Lock()
	n := len(m.held)
	if n == 0 {
		m.mu.Unlock()
		panic("pglock: Exit called on a Manager that is not entered")
	}
	l := m.held[n-1]
	m.held = m.held[:n-1]
	m.mu.Unlock()
	return l.release(ctx)
}

var (
	_ scope.Manager[*Lease] = (*manager)(nil)
	_ scope.ContextExiter   = (*manager)(nil)
)

// key is the lock's advisory key: a 64-bit hash of its name.
func key(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// acquire takes a dedicated session, sets its idle timeout to the TTL, takes
// the lock in it, and starts the keep-alive.
func acquire(ctx context.Context, db *sql.DB, name string, o *Options, wait bool) (lease *Lease, err error) {
	opts, err := o.resolve()
	if err != nil {
		return nil, err
	}
	l := &Lease{Name: name, key: key(name), opts: opts}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("pglock: %q: %w", name, err)
	}
	defer func() {
		if err != nil {
			discard(conn) // whatever the session holds goes with it
		}
	}()
	var version, pid int
	if err := conn.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int, pg_backend_pid()`).Scan(&version, &pid); err != nil {
		return nil, fmt.Errorf("pglock: %q: %w", name, err)
	}
	if version < 140000 {
		return nil, fmt.Errorf("pglock: %q: PostgreSQL %d.%d has no idle_session_timeout: 14 or later is needed", name, version/10000, version%10000/100)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`SET idle_session_timeout = %d`, opts.TTL.Milliseconds())); err != nil {
		return nil, fmt.Errorf("pglock: %q: %w", name, err)
	}

	if wait {
		err = waitForLock(ctx, db, conn, pid, l.key)
	} else {
		var got bool
		err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&got)
		if err == nil && !got {
			err = fmt.Errorf("%w: %q", ErrLocked, name)
		}
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("pglock: waiting for %q: %w", name, err)
	}
	// A fresh transaction id: it grows with every acquisition, cluster-wide.
	// The query is also the lease's first keep-alive: the lease counts from
	// its send time. (Not from the lock request's: that may have waited
	// long, and the server counts idleness from when it answered.)
	sent := time.Now()
	if err := conn.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text::bigint`).Scan(&l.Token); err != nil {
		return nil, fmt.Errorf("pglock: %q: %w", name, err)
	}
	l.conn = conn
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	l.stop, l.stopped = make(chan struct{}), make(chan struct{})
	go l.keepAlive(sent)
	return l, nil
}

// waitForLock waits in the session conn (backend pid) until it holds the lock
// key. If ctx ends first, it withdraws the waiting request at the server with
// pg_cancel_backend from another connection, so that the session does not
// get the lock later and hold it unseen.
func waitForLock(ctx context.Context, db *sql.DB, conn *sql.Conn, pid int, key int64) error {
	done := make(chan error, 1)
	go func() {
		// Not ctx: the request is withdrawn by the cancel below, so that
		// the driver's own cancellation cannot race with it.
		_, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_lock($1)`, key)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, cerr := db.ExecContext(cctx, `SELECT pg_cancel_backend($1)`, pid)
	if err := <-done; err == nil {
		// The lock came just before the cancel: give it back.
		_, uerr := conn.ExecContext(cctx, `SELECT pg_advisory_unlock($1)`, key)
		return errors.Join(ctx.Err(), uerr, cerr)
	}
	return errors.Join(ctx.Err(), cerr)
}

// keepAlive pings the session every TTL/4 until stopped. The lease is lost
// at the send time of the last answered ping (at first, of the token query)
// + TTL − Margin, or when a ping fails.
func (l *Lease) keepAlive(sent time.Time) {
	defer close(l.stopped)
	every := l.opts.TTL / 4
	deadline := sent.Add(l.opts.TTL - l.opts.Margin)
	for {
		next := time.NewTimer(every)
		expire := time.NewTimer(time.Until(deadline))
		select {
		case <-l.stop:
			next.Stop()
			expire.Stop()
			return
		case <-expire.C:
			next.Stop()
			l.lose(fmt.Errorf("%w: no answer from the server for %v", ErrLeaseLost, l.opts.TTL-l.opts.Margin))
			return
		case <-next.C:
			expire.Stop()
		}
		sent := time.Now()
		// Not l.ctx: canceling the caller's context does not lose the lock.
		pctx, cancel := context.WithDeadline(context.Background(), deadline)
		_, err := l.conn.ExecContext(pctx, `SELECT 1`)
		cancel()
		if err != nil {
			select {
			case <-l.stop:
				return
			default:
			}
			l.lose(fmt.Errorf("%w: %v", ErrLeaseLost, err))
			return
		}
		deadline = sent.Add(l.opts.TTL - l.opts.Margin)
	}
}

// lose records why the lease was lost and cancels its context.
func (l *Lease) lose(err error) {
	l.mu.Lock()
	if l.lost == nil {
		l.lost = err
	}
	l.mu.Unlock()
	l.cancel(err)
}

// release is the Manager's exit: it stops the keep-alive, unlocks, and
// closes the session. Its result holds ErrLeaseLost when the lease was lost
// (a false from pg_advisory_unlock, or a session gone, count as lost too).
// The unlock is bounded by ctx and by the TTL.
func (l *Lease) release(ctx context.Context) error {
	close(l.stop)
	<-l.stopped
	ctx, cancel := context.WithTimeout(ctx, l.opts.TTL)
	defer cancel()
	if l.Err() == nil {
		var unlocked bool
		err := l.conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&unlocked)
		switch {
		case err != nil && ctx.Err() != nil:
			// Out of time: closing the session below releases the lock
			// at the server; the lease was not lost.
			discard(l.conn)
			l.cancel(context.Canceled)
			return fmt.Errorf("pglock: unlock %q: %w", l.Name, ctx.Err())
		case err != nil:
			l.lose(fmt.Errorf("%w: unlock: %v", ErrLeaseLost, err))
		case !unlocked:
			l.lose(fmt.Errorf("%w: the session no longer held it", ErrLeaseLost))
		}
	}
	discard(l.conn)
	l.cancel(context.Canceled) // released; a lost lease keeps its cause
	return l.Err()
}

// discard closes conn's session rather than returning it to the pool: its
// settings (idle_session_timeout) and anything it may still hold go with it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
