//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package scope

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"go.uber.org/multierr"
)

func lockFile(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return f, nil
}

func unlockFile(f *os.File, _ error) error {
	// Closing the file releases the lock too; unlocking first says so
	// explicitly and reports a failure to.
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err != nil {
		err = &os.PathError{Op: "funlock", Path: f.Name(), Err: err}
	}
	return multierr.Append(err, f.Close())
}
