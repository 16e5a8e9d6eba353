package scope

import (
	"context"
	"sync"
)

// Lock returns a Manager that locks l on Enter and unlocks it on Exit,
// whatever the outcome: Python's with lock.
//
// For a *sync.Mutex the Manager is the mutex itself under another type, so
// Lock allocates nothing, and With over it
//
//	scope.With(scope.Lock(&mu), func(*sync.Mutex) error { ... })
//
// runs that very code, Lock and a deferred Unlock around the body, at about
// 1.5 times its cost and with no allocation (for a body that captures
// nothing). Lock panics if l is a nil interface.
func Lock[L sync.Locker](l L) Manager[L] {
	if sync.Locker(l) == nil {
		panic("scope: Lock called with a nil Locker")
	}
	if mu, ok := any(l).(*sync.Mutex); ok {
		return any((*mutexManager)(mu)).(Manager[L])
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
	mu := (*sync.Mutex)(m)
	mu.Lock()
	return mu, nil
}

func (m *mutexManager) Exit(error) error {
	(*sync.Mutex)(m).Unlock()
	return nil
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
	rw := (*sync.RWMutex)(m)
	rw.RLock()
	return rw, nil
}

func (m *rlockManager) Exit(error) error {
	(*sync.RWMutex)(m).RUnlock()
	return nil
}

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
// needed. LockContext panics if ctx or l is nil.
func LockContext[L ContextLocker](ctx context.Context, l L) Manager[L] {
	if ctx == nil {
		panic("scope: LockContext called with a nil Context")
	}
	if ContextLocker(l) == nil {
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
// first use. Waiters are served in no particular order. An uncontended
// Lock and Unlock cost about as much as a buffered channel send and receive,
// a few times a sync.Mutex: prefer sync.Mutex where no deadline is needed.
type Mutex struct {
	once sync.Once
	sem  chan struct{} // holds a token while locked
}

func (m *Mutex) ch() chan struct{} {
	m.once.Do(func() { m.sem = make(chan struct{}, 1) })
	return m.sem
}

// Lock locks m, waiting as long as it takes.
func (m *Mutex) Lock() { m.ch() <- struct{}{} }

// TryLock locks m if it is unlocked and reports whether it did.
func (m *Mutex) TryLock() bool {
	select {
	case m.ch() <- struct{}{}:
		return true
	default:
		return false
	}
}

// LockContext locks m, or returns ctx.Err() without locking it if ctx is done
// first. If m is unlocked, LockContext locks it even when ctx is already done.
func (m *Mutex) LockContext(ctx context.Context) error {
	if m.TryLock() {
		return nil
	}
	select {
	case m.ch() <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Unlock unlocks m. Like sync.Mutex, it may be called from another goroutine
// than the one that locked m; unlocking an unlocked Mutex panics.
func (m *Mutex) Unlock() {
	select {
	case <-m.ch():
	default:
		panic("scope: Mutex.Unlock of unlocked Mutex")
	}
}
