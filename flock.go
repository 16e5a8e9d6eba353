package scope

import (
	"errors"
	"os"
)

// ErrLocked is returned (wrapped, with the path) by [TryFileLock]'s Enter when
// another holder has the lock. Its text names no kind of lock, so that other
// locks (a lease in a database, say) can wrap it too: errors.Is(err,
// scope.ErrLocked) then answers "held by someone else, try later" for all.
var ErrLocked = errors.New("scope: the lock is held by another holder")

// ErrNotSupported is returned by the Enter of [FileLock] and [TryFileLock] on
// systems without flock.
var ErrNotSupported = errors.New("scope: file locks are not supported on this system")

// FileLock returns a Manager that takes an exclusive lock between processes on
// the file at path, waiting until it is free, and releases it on exit.
//
// Enter creates the file if needed (mode 0666 before the umask), locks it
// with flock(2), and returns it open; Exit unlocks and closes it, adding
// Close's error to the outcome. The file is not removed on exit: removing a
// lock file races with a process that has just opened it and would then lock
// a file no one else sees.
//
// The lock belongs to the open file, not to the process or the goroutine: two
// FileLock entries on the same path exclude each other even within one
// process. On systems without flock (Windows among them), Enter returns an
// error matching [ErrNotSupported].
func FileLock(path string) Manager[*os.File] {
	return Func(func() (*os.File, error) { return lockFile(path, true) }, unlockFile)
}

// TryFileLock is [FileLock] without the wait: if another holder has the lock,
// Enter returns at once an error matching [ErrLocked] and the block does not
// run. It is how a cron job refuses to run twice at once.
func TryFileLock(path string) Manager[*os.File] {
	return Func(func() (*os.File, error) { return lockFile(path, false) }, unlockFile)
}
