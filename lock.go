package scope

import (
	"context"
	"sync"
	"sync/atomic"
)

// Lock returns a Manager that locks l on Enter and unlocks it on Exit,
// whatever the outcome: Python's with lock. l may be any sync.Locker, held
// in a concrete type or an interface.
//
// For a *sync.Mutex the Manager is the mutex itself under another type, so
// Lock allocates nothing, and With over it
//
//	err := scope.With(scope.Lock(&mu), func(*sync.Mutex) error { return update(state) })
//
// runs the hand-written code, Lock and a deferred Unlock around the body,
// with the same outcomes as With over any other Manager. Lock panics if l is
// nil (a nil interface or a nil pointer).
func Lock[L sync.Locker](l L) Manager[L] {
	if mu, ok := any(l).(*sync.Mutex); ok && mu != nil {
		// L may be *sync.Mutex itself or an interface holding one, such
		// as sync.Locker: only the former is a Manager[L] this way.
		if m, ok := any((*mutexManager)(mu)).(Manager[L]); ok {
			return m
		}
	} else if isNil(l) {
		panic("scope: Lock called with a nil Locker")
	}
	return &lockManager[L]{l: l}
}

type lockManager[L sync.Locker] struct{ l L }

func (m *lockManager[L]) Enter() (L, error) { m.l.Lock(); return m.l, nil }
func (m *lockManager[L]) Exit(error) error  { m.l.Unlock(); return nil }

// mutexManager is a sync.Mutex seen as a Manager: converting a *sync.Mutex to
// it is free, so Lock(&mu) does not allocate.
type mutexManager sync.Mutex

func (m *mutexManager) Enter() (*sync.Mutex, error) {
	(*sync.Mutex)(m).Lock()
	return (*sync.Mutex)(m), nil
}
func (m *mutexManager) Exit(error) error { (*sync.Mutex)(m).Unlock(); return nil }

// runBlock is With(Lock(&mu), body) written as the hand-written code it replaces.
// Exit always returns nil, so the rules leave every outcome as the block made
// it: an error is returned, a panic goes on with its frames, a Goexit goes
// on. Only a Replace result from the body needs the treatment it gets
// everywhere.
func (m *mutexManager) runBlock(_, body any) error {
	mu := (*sync.Mutex)(m)
	mu.Lock()
	defer mu.Unlock()
	return blockOutcome(body.(func(*sync.Mutex) error)(mu))
}

// RLock returns a Manager that read-locks rw on Enter and read-unlocks it on
// Exit. It allocates nothing. RLock panics if rw is nil.
func RLock(rw *sync.RWMutex) Manager[*sync.RWMutex] {
	if rw == nil {
		panic("scope: RLock called with a nil *sync.RWMutex")
	}
	return (*rlockManager)(rw)
}

type rlockManager sync.RWMutex

func (m *rlockManager) Enter() (*sync.RWMutex, error) {
	(*sync.RWMutex)(m).RLock()
	return (*sync.RWMutex)(m), nil
}
func (m *rlockManager) Exit(error) error { (*sync.RWMutex)(m).RUnlock(); return nil }

// ContextLocker is a lock that can be waited for with a deadline or
// cancellation: LockContext returns nil once the lock is held, or the
// context's error, without holding it, once ctx is done. [*Mutex] is one.
type ContextLocker interface {
	LockContext(ctx context.Context) error
	Unlock()
}

// LockContext returns a Manager whose Enter waits for l until it is held or
// ctx is done, like Python's lock.acquire(timeout=...) in a with statement.
// If ctx ends first, Enter returns ctx.Err() (context.DeadlineExceeded or
// context.Canceled) and the block does not run. Exit unlocks l.
//
// sync.Mutex cannot be waited for with a deadline; use a [Mutex] where one is
// needed. LockContext panics if ctx or l is nil (a nil interface or a nil
// pointer).
func LockContext[L ContextLocker](ctx context.Context, l L) Manager[L] {
	if ctx == nil {
		panic("scope: LockContext called with a nil Context")
	}
	if isNil(l) {
		panic("scope: LockContext called with a nil ContextLocker")
	}
	return &contextLockManager[L]{ctx: ctx, l: l}
}

type contextLockManager[L ContextLocker] struct {
	ctx context.Context
	l   L
}

func (m *contextLockManager[L]) Enter() (L, error) {
	if err := m.l.LockContext(m.ctx); err != nil {
		var zero L
		return zero, err
	}
	return m.l, nil
}

func (m *contextLockManager[L]) Exit(error) error { m.l.Unlock(); return nil }

// Mutex is a mutual exclusion lock that can also be waited for with a
// deadline or cancellation ([Mutex.LockContext]). It implements sync.Locker
// and [ContextLocker].
//
// A zero Mutex is unlocked and ready to use. A Mutex must not be copied after
// first use. Lock, TryLock and Unlock are a sync.Mutex's, plus one atomic
// load in Unlock; only LockContext's waiters pay for the channel that wakes
// them. A goroutine waiting in LockContext is not queued behind those waiting
// in Lock: it retries each time the Mutex is unlocked, until its context
// ends.
type Mutex struct {
	mu       sync.Mutex
	waiters  atomic.Int32  // goroutines waiting in LockContext
	wmu      sync.Mutex    // guards released
	released chan struct{} // closed by the next Unlock, while there are waiters
}

// Lock locks m, waiting as long as it takes.
func (m *Mutex) Lock() { m.mu.Lock() }

// TryLock locks m if it is unlocked and reports whether it did.
func (m *Mutex) TryLock() bool { return m.mu.TryLock() }

// LockContext locks m, or returns ctx.Err() without locking it if ctx is done
// first. If m is unlocked, LockContext locks it even when ctx is already done.
func (m *Mutex) LockContext(ctx context.Context) error {
	if m.mu.TryLock() {
		return nil
	}
	m.waiters.Add(1)
	defer m.waiters.Add(-1)
	for {
		m.wmu.Lock()
		if m.released == nil {
			m.released = make(chan struct{})
		}
		released := m.released
		m.wmu.Unlock()
		// Try again now that an Unlock is sure to close released: one that
		// came before is not missed.
		if m.mu.TryLock() {
			return nil
		}
		select {
		case <-released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Unlock unlocks m. Like sync.Mutex, it may be called from another goroutine
// than the one that locked m, and unlocking an unlocked Mutex is a run-time
// error that ends the program.
func (m *Mutex) Unlock() {
	m.mu.Unlock()
	if m.waiters.Load() > 0 {
		m.wmu.Lock()
		if m.released != nil {
			close(m.released)
			m.released = nil
		}
		m.wmu.Unlock()
	}
}

var (
	_ Manager[*sync.Mutex]   = (*mutexManager)(nil)
	_ blockRunner            = (*mutexManager)(nil)
	_ Manager[*sync.RWMutex] = (*rlockManager)(nil)
	_ sync.Locker            = (*Mutex)(nil)
	_ ContextLocker          = (*Mutex)(nil)
)
