package scope

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"

	"go.uber.org/multierr"
)

// Open returns a Manager that opens the named file for reading, as [os.Open]
// does, and closes it on exit, adding Close's error to the outcome.
func Open(name string) Manager[*os.File] {
	return Func(func() (*os.File, error) { return os.Open(name) }, closeFile)
}

// Create returns a Manager that creates or truncates the named file, as
// [os.Create] does, and closes it on exit, adding Close's error to the
// outcome: a write error that only shows at close is never lost.
func Create(name string) Manager[*os.File] {
	return Func(func() (*os.File, error) { return os.Create(name) }, closeFile)
}

// OpenFile returns a Manager that opens the named file with flag and perm, as
// [os.OpenFile] does, and closes it on exit, adding Close's error to the
// outcome.
func OpenFile(name string, flag int, perm os.FileMode) Manager[*os.File] {
	return Func(func() (*os.File, error) { return os.OpenFile(name, flag, perm) }, closeFile)
}

func closeFile(f *os.File, _ error) error { return f.Close() }

// CreateTemp returns a Manager that creates a new temporary file, as
// [os.CreateTemp](dir, pattern) does, and closes and removes it on exit,
// adding any error from either to the outcome.
func CreateTemp(dir, pattern string) Manager[*os.File] {
	return Func(func() (*os.File, error) { return os.CreateTemp(dir, pattern) }, removeFile)
}

func removeFile(f *os.File, _ error) error {
	return multierr.Append(f.Close(), os.Remove(f.Name()))
}

// MkdirTemp returns a Manager that creates a new temporary directory, as
// [os.MkdirTemp](dir, pattern) does, and removes it with everything inside on
// exit, adding any error to the outcome. Enter returns the directory's path.
func MkdirTemp(dir, pattern string) Manager[string] {
	return Func(func() (string, error) { return os.MkdirTemp(dir, pattern) },
		func(dir string, _ error) error { return os.RemoveAll(dir) })
}

// WriteFileAtomic returns a Manager that replaces the named file atomically
// with what the block writes: readers see the old content or the whole new
// one, never a torn file, even after a crash.
//
// Enter creates a temporary file in the same directory as name and returns
// it; the block writes into it. On exit, if the outcome is nil, the temporary
// file is given mode perm (exactly, without the umask), synced, closed and
// renamed over name, and the directory is synced so that the rename survives
// a crash. On any error, panic or Goexit, the temporary file is closed and
// removed and name is left untouched.
//
// This is the manager that shows why an exit must see the block's outcome:
// a deferred Close cannot tell whether to publish the file or throw it away.
// An error while publishing (a failed sync, close or rename) becomes the
// outcome, and the temporary file is removed then too.
func WriteFileAtomic(name string, perm os.FileMode) Manager[*os.File] {
	return Func(func() (*os.File, error) {
		return os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	}, func(f *os.File, err error) error {
		if err != nil {
			return discard(f)
		}
		if err := publish(f, name, perm); err != nil {
			return multierr.Append(err, discard(f))
		}
		return nil
	})
}

// discard closes and removes a temporary file that is not to be published.
// It may already be closed (publish closes it before renaming).
func discard(f *os.File) error {
	err := f.Close()
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	return multierr.Append(err, os.Remove(f.Name()))
}

// publish makes the temporary file f the file name, durably.
func publish(f *os.File, name string, perm os.FileMode) error {
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	return syncDir(filepath.Dir(name))
}

// syncDir flushes a directory's entries to disk. Windows cannot open a
// directory for syncing, and its renames are durable without it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return multierr.Append(d.Sync(), d.Close())
}
