package scope

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"go.uber.org/multierr"
)

// The managers of files close what they opened on exit. A block that closes
// the file itself, out of Go habit (defer f.Close(), or return f.Close() to
// get the close error), is fine: the exit then adds nothing for the second
// close.

// Open returns a Manager that opens the named file for reading, as [os.Open]
// does, and closes it on exit, adding Close's error to the outcome. A block
// may close the file itself.
func Open(name string) Manager[*os.File] {
	return Func(func() (*os.File, error) { return os.Open(name) }, closeFile)
}

// Create returns a Manager that creates or truncates the named file, as
// [os.Create] does, and closes it on exit, adding Close's error to the
// outcome: a write error that only shows at close is never lost. A block may
// close the file itself and return Close's error.
func Create(name string) Manager[*os.File] {
	return Func(func() (*os.File, error) { return os.Create(name) }, closeFile)
}

// OpenFile returns a Manager that opens the named file with flag and perm, as
// [os.OpenFile] does, and closes it on exit, adding Close's error to the
// outcome. A block may close the file itself.
func OpenFile(name string, flag int, perm os.FileMode) Manager[*os.File] {
	return Func(func() (*os.File, error) { return os.OpenFile(name, flag, perm) }, closeFile)
}

func closeFile(f *os.File, _ error) error { return closeOnce(f) }

// closeOnce closes f unless the block closed it already.
func closeOnce(f *os.File) error {
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// CreateTemp returns a Manager that creates a new temporary file, as
// [os.CreateTemp](dir, pattern) does, and closes and removes it on exit,
// adding any error from either to the outcome. A block may close the file
// itself.
func CreateTemp(dir, pattern string) Manager[*os.File] {
	return Func(func() (*os.File, error) { return os.CreateTemp(dir, pattern) }, removeFile)
}

func removeFile(f *os.File, _ error) error {
	return multierr.Append(closeOnce(f), os.Remove(f.Name()))
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
// removed and name is left untouched. A block that closed the file itself
// (defer f.Close(), return f.Close()) is published all the same.
//
// This is the manager that shows why an exit must see the block's outcome:
// a deferred Close cannot tell whether to publish the file or throw it away.
// An error while publishing (a failed sync, close or rename) becomes the
// outcome, and the temporary file is removed then too.
//
// name is made absolute when the Manager is entered, so a change of the
// working directory during the block changes nothing. The temporary file is
// named "." + the base of name + ".tmp" + digits, beside name; only a crash
// (a kill, a power cut) between Enter and exit leaves one behind. Remove
// those with [RemoveAtomicTemps] when no write to name can be running.
func WriteFileAtomic(name string, perm os.FileMode) Manager[*os.File] {
	return Func(func() (*os.File, error) {
		abs, err := filepath.Abs(name)
		if err != nil {
			return nil, err
		}
		return os.CreateTemp(filepath.Dir(abs), tempPrefix(abs)+"*")
	}, func(f *os.File, err error) error {
		if err != nil {
			return discard(f)
		}
		// f.Name() is absolute, in name's directory.
		target := filepath.Join(filepath.Dir(f.Name()), filepath.Base(name))
		if err := publish(f, target, perm); err != nil {
			return multierr.Append(err, discard(f))
		}
		return nil
	})
}

// tempPrefix is how the names of WriteFileAtomic's temporary files for name
// begin; random digits follow.
func tempPrefix(name string) string { return "." + filepath.Base(name) + ".tmp" }

// RemoveAtomicTemps removes the temporary files that [WriteFileAtomic] left
// beside name when a crash interrupted it, and returns their paths. It
// removes only regular files named as WriteFileAtomic names them for name
// ("." + the base of name + ".tmp" + digits), however new. The base of name
// may be a pattern, as [filepath.Match] takes it, to clean up after several
// names at once: RemoveAtomicTemps(filepath.Join(dir, "backup-*.gz")).
//
// Call it only when no WriteFileAtomic of name can be running, in this
// process or another (while holding the lock that keeps writers apart, as
// the backup example does with a [FileLock]): it would remove that write's
// file too, and the write would then fail.
func RemoveAtomicTemps(name string) ([]string, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(abs)
	if _, err := filepath.Match(base, ""); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempOf(e.Name(), base) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err = os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, path)
	}
	return removed, nil
}

// isTempOf reports whether file is a temporary file of WriteFileAtomic for a
// name whose base matches pattern.
func isTempOf(file, pattern string) bool {
	i := strings.LastIndex(file, ".tmp")
	if !strings.HasPrefix(file, ".") || i < 1 {
		return false
	}
	digits := file[i+len(".tmp"):]
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	matched, _ := filepath.Match(pattern, file[1:i])
	return matched
}

// discard closes and removes a temporary file that is not to be published.
// It may already be closed, by the block or by publish.
func discard(f *os.File) error {
	return multierr.Append(closeOnce(f), os.Remove(f.Name()))
}

// publish makes the temporary file f the file name, durably.
func publish(f *os.File, name string, perm os.FileMode) error {
	if err := f.Chmod(perm); errors.Is(err, os.ErrClosed) {
		// The block closed the file: open it again to sync it.
		if err := os.Chmod(f.Name(), perm); err != nil {
			return err
		}
		if f, err = os.OpenFile(f.Name(), os.O_WRONLY, 0); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close() // the sync error says what matters; discard removes the file
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
