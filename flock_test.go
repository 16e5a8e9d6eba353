//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package scope_test

import (
	"bufio"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

func TestCloseErrorIsAdded(t *testing.T) {
	// Close the descriptor underneath the *os.File: the manager's Close then
	// fails, and that failure must reach the caller next to the block's error.
	name := filepath.Join(t.TempDir(), "f")
	err := scope.With(scope.Create(name), func(f *os.File) error {
		require.NoError(t, syscall.Close(int(f.Fd())))
		return errBody
	})
	assert.ErrorIs(t, err, errBody)
	assert.ErrorIs(t, err, syscall.EBADF, "the close error is added, got %v", err)
}

// holdFlock takes the lock named by SCOPE_LOCK, says "locked", and holds it
// until its standard input closes: a child's scenario.
func holdFlock() {
	err := scope.With(scope.FileLock(os.Getenv("SCOPE_LOCK")), func(*os.File) error {
		os.Stdout.WriteString("locked\n")
		_, err := bufio.NewReader(os.Stdin).ReadString('\n')
		_ = err // EOF: the parent closed our input
		return nil
	})
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
}

// holdLock starts a child process that holds the lock at path, and returns a
// function that makes it release the lock and exit.
func holdLock(t *testing.T, path string) (release func()) {
	t.Helper()
	cmd := childCmd(t, holdFlock, "SCOPE_LOCK="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line, "the child holds the lock")
	return func() {
		stdin.Close()
		assert.NoError(t, cmd.Wait(), "the child exits cleanly")
	}
}

func TestTryFileLockBetweenProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "job.lock")
	release := holdLock(t, path)

	ran := false
	err := scope.With(scope.TryFileLock(path), func(*os.File) error { ran = true; return nil })
	assert.ErrorIs(t, err, scope.ErrLocked, "another process holds the lock")
	assert.Contains(t, err.Error(), path)
	assert.False(t, ran)

	release()
	err = scope.With(scope.TryFileLock(path), func(*os.File) error { ran = true; return nil })
	assert.NoError(t, err, "free once the other process let go")
	assert.True(t, ran)
	assert.FileExists(t, path, "the lock file is not removed")
}

func TestFileLockWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "job.lock")
	release := holdLock(t, path)
	acquired := make(chan error, 1)
	go func() {
		acquired <- scope.With(scope.FileLock(path), func(*os.File) error { return nil })
	}()
	select {
	case err := <-acquired:
		t.Fatalf("FileLock returned %v while another process held the lock", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	assert.NoError(t, <-acquired, "FileLock acquires once the holder exits")
}

func TestFileLockReleasedOnEveryPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	for _, ending := range blockEndings {
		t.Run(ending.name, func(t *testing.T) {
			_ = within(scope.FileLock(path), func(*os.File) error {
				err := scope.With(scope.TryFileLock(path), func(*os.File) error { return nil })
				assert.ErrorIs(t, err, scope.ErrLocked, "held during the block, also against this process")
				return ending.end()
			})
			assert.NoError(t, scope.With(scope.TryFileLock(path), func(*os.File) error { return nil }),
				"released after the block")
		})
	}
}

func TestFileLockBadPath(t *testing.T) {
	err := scope.With(scope.FileLock(filepath.Join(t.TempDir(), "no", "dir", "lock")), func(*os.File) error { return nil })
	assert.ErrorIs(t, err, os.ErrNotExist)
}
