package scope_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-scope/scope"
)

// within runs body under m in its own goroutine, so that any ending, Goexit
// included, comes back as With's result (nil for a panic or Goexit).
func within[T any](m scope.Manager[T], body func(T) error) (err error) {
	inGoroutine(func() {
		defer func() { _ = recover() }()
		err = scope.With(m, body)
	})
	return err
}

func TestOpenCreateCloseOnEveryPath(t *testing.T) {
	dir := t.TempDir()
	managers := map[string]func(name string) scope.Manager[*os.File]{
		"Create":   scope.Create,
		"Open":     scope.Open,
		"OpenFile": func(name string) scope.Manager[*os.File] { return scope.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600) },
	}
	for mname, mk := range managers {
		for _, ending := range blockEndings {
			t.Run(mname+"/"+ending.name, func(t *testing.T) {
				name := filepath.Join(dir, mname)
				require.NoError(t, os.WriteFile(name, []byte("x"), 0o600))
				var file *os.File
				_ = within(mk(name), func(f *os.File) error { file = f; return ending.end() })
				require.NotNil(t, file)
				assert.ErrorIs(t, file.Close(), os.ErrClosed, "the file is closed after the block")
			})
		}
	}
}

func TestOpenMissingFile(t *testing.T) {
	ran := false
	err := scope.With(scope.Open(filepath.Join(t.TempDir(), "missing")), func(*os.File) error { ran = true; return nil })
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.False(t, ran)
}

func TestCreateTempRemovedOnEveryPath(t *testing.T) {
	dir := t.TempDir()
	for _, ending := range blockEndings {
		t.Run(ending.name, func(t *testing.T) {
			var name string
			_ = within(scope.CreateTemp(dir, "tmp*"), func(f *os.File) error {
				name = f.Name()
				_, err := f.WriteString("data")
				require.NoError(t, err)
				return ending.end()
			})
			assert.NoFileExists(t, name)
		})
	}
}

func TestMkdirTempRemovedOnEveryPath(t *testing.T) {
	parent := t.TempDir()
	for _, ending := range blockEndings {
		t.Run(ending.name, func(t *testing.T) {
			var dir string
			_ = within(scope.MkdirTemp(parent, "d*"), func(d string) error {
				dir = d
				require.NoError(t, os.MkdirAll(filepath.Join(d, "a", "b"), 0o700))
				require.NoError(t, os.WriteFile(filepath.Join(d, "a", "b", "f"), []byte("x"), 0o600))
				return ending.end()
			})
			assert.NoDirExists(t, dir, "removed with everything inside")
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	for _, ending := range blockEndings {
		t.Run(ending.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "config")
			require.NoError(t, os.WriteFile(name, []byte("old"), 0o600))
			_ = within(scope.WriteFileAtomic(name, 0o640), func(f *os.File) error {
				_, err := f.WriteString("new")
				require.NoError(t, err)
				return ending.end()
			})
			got, err := os.ReadFile(name)
			require.NoError(t, err)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file is left behind")
			if ending.name == "success" {
				assert.Equal(t, "new", string(got))
				info, err := os.Stat(name)
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o640), info.Mode().Perm())
				return
			}
			assert.Equal(t, "old", string(got), "a failed block leaves the old content")
		})
	}
}

func TestWriteFileAtomicPublishFails(t *testing.T) {
	// Renaming a file over a non-empty directory fails: the error is the
	// outcome and the temporary file goes.
	dir := t.TempDir()
	name := filepath.Join(dir, "target")
	require.NoError(t, os.MkdirAll(filepath.Join(name, "inside"), 0o700))
	err := scope.With(scope.WriteFileAtomic(name, 0o600), func(f *os.File) error {
		_, err := f.WriteString("data")
		return err
	})
	var linkErr *os.LinkError
	assert.ErrorAs(t, err, &linkErr)
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "only the directory remains")
}

func TestWriteFileAtomicReadersNeverSeeTornFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "data")
	versions := [][]byte{bytes.Repeat([]byte("a"), 1<<16), bytes.Repeat([]byte("b"), 1<<17)}
	require.NoError(t, os.WriteFile(name, versions[0], 0o600))

	var (
		stop  atomic.Bool
		torn  atomic.Int64
		reads atomic.Int64
		wg    sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				got, err := os.ReadFile(name)
				if err != nil || !(bytes.Equal(got, versions[0]) || bytes.Equal(got, versions[1])) {
					torn.Add(1)
				}
				reads.Add(1)
			}
		}()
	}
	for i := range 200 {
		v := versions[(i+1)%2]
		err := scope.With(scope.WriteFileAtomic(name, 0o600), func(f *os.File) error {
			// Write in pieces, so a non-atomic writer would be caught half way.
			for off := 0; off < len(v); off += 4096 {
				if _, err := f.Write(v[off:min(off+4096, len(v))]); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
	stop.Store(true)
	wg.Wait()
	assert.Positive(t, reads.Load())
	assert.Zero(t, torn.Load(), "a reader saw a partial or missing file in %d reads", reads.Load())
}

func TestWriteFileAtomicMissingDir(t *testing.T) {
	err := scope.With(scope.WriteFileAtomic(filepath.Join(t.TempDir(), "no", "such", "f"), 0o600),
		func(*os.File) error { return errors.New("must not run") })
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// TestBlockClosesTheFile: out of Go habit a block closes the file itself; the
// manager adds nothing for the second close, and WriteFileAtomic still
// publishes.
func TestBlockClosesTheFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in"), []byte("x"), 0o600))
	managers := map[string]func() scope.Manager[*os.File]{
		"Open":   func() scope.Manager[*os.File] { return scope.Open(filepath.Join(dir, "in")) },
		"Create": func() scope.Manager[*os.File] { return scope.Create(filepath.Join(dir, "out")) },
		"OpenFile": func() scope.Manager[*os.File] {
			return scope.OpenFile(filepath.Join(dir, "rw"), os.O_RDWR|os.O_CREATE, 0o600)
		},
		"CreateTemp": func() scope.Manager[*os.File] { return scope.CreateTemp(dir, "tmp") },
	}
	for name, m := range managers {
		t.Run(name+"/return f.Close()", func(t *testing.T) {
			assert.NoError(t, scope.With(m(), func(f *os.File) error { return f.Close() }))
		})
		t.Run(name+"/defer f.Close()", func(t *testing.T) {
			assert.NoError(t, scope.With(m(), func(f *os.File) error {
				defer f.Close()
				_, err := f.Stat()
				return err
			}))
		})
	}
	for _, closing := range []string{"return f.Close()", "defer f.Close()"} {
		t.Run("WriteFileAtomic/"+closing, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "config")
			err := scope.With(scope.WriteFileAtomic(name, 0o640), func(f *os.File) error {
				if closing == "defer f.Close()" {
					defer f.Close()
				}
				if _, err := f.WriteString("published"); err != nil {
					return err
				}
				if closing == "return f.Close()" {
					return f.Close()
				}
				return nil
			})
			require.NoError(t, err)
			got, err := os.ReadFile(name)
			require.NoError(t, err)
			assert.Equal(t, "published", string(got))
			info, err := os.Stat(name)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o640), info.Mode().Perm())
			entries, _ := os.ReadDir(filepath.Dir(name))
			assert.Len(t, entries, 1, "no temporary file left")
		})
	}
}

// TestWriteFileAtomicChdir: a relative name is made absolute at Enter, so a
// Chdir during the block does not break the publish.
func TestWriteFileAtomicChdir(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	t.Chdir(dir)
	err := scope.With(scope.WriteFileAtomic("config", 0o600), func(f *os.File) error {
		if err := os.Chdir(elsewhere); err != nil {
			return err
		}
		_, err := f.WriteString("v2")
		return err
	})
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "config"))
	require.NoError(t, err)
	assert.Equal(t, "v2", string(got))
	entries, _ := os.ReadDir(elsewhere)
	assert.Empty(t, entries)
}

// TestWriteFileAtomicCrash kills a writer again and again: the file is always
// one whole version, the temporary files that crashes leave are the ones
// named in the doc, and RemoveAtomicTemps removes exactly those.
func TestWriteFileAtomicCrash(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "data")
	require.NoError(t, os.WriteFile(name, bytes.Repeat([]byte("a"), 64*4096), 0o600))
	other := filepath.Join(dir, ".data.tmpfile") // not digits: not WriteFileAtomic's
	require.NoError(t, os.WriteFile(other, nil, 0o600))
	// The child rewrites the file named by SCOPE_ATOMIC_FILE for ever,
	// until it is killed.
	writer := func() {
		name := os.Getenv("SCOPE_ATOMIC_FILE")
		fmt.Println("writing")
		for i := 0; ; i++ {
			_ = scope.With(scope.WriteFileAtomic(name, 0o600), func(f *os.File) error {
				for range 64 {
					if _, err := f.Write(bytes.Repeat([]byte{byte('a' + i%2)}, 4096)); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	for range 20 {
		cmd := childCmd(t, writer, "SCOPE_ATOMIC_FILE="+name)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		_, err = stdout.Read(make([]byte, 8)) // "writing"
		require.NoError(t, err)
		time.Sleep(time.Duration(1+time.Now().UnixNano()%5) * time.Millisecond)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		got, err := os.ReadFile(name)
		require.NoError(t, err)
		require.Len(t, got, 64*4096, "one whole version")
		assert.True(t, bytes.Equal(got, bytes.Repeat(got[:1], len(got))), "never a torn file")
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var temps []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".data.tmp") && e.Name() != ".data.tmpfile" {
			temps = append(temps, filepath.Join(dir, e.Name()))
		}
	}
	removed, err := scope.RemoveAtomicTemps(name)
	require.NoError(t, err)
	assert.ElementsMatch(t, temps, removed, "exactly the temporary files of crashed writes")
	entries, _ = os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	assert.ElementsMatch(t, []string{"data", ".data.tmpfile"}, left)
	t.Logf("20 kills left %d temporary files; RemoveAtomicTemps removed them", len(temps))
}

func TestRemoveAtomicTempsMissingDir(t *testing.T) {
	_, err := scope.RemoveAtomicTemps(filepath.Join(t.TempDir(), "no", "f"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestRemoveAtomicTempsPattern(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{
		".backup-1.gz.tmp123", ".backup-2.gz.tmp9", // temporary files of two archives
		"backup-1.gz", ".backup-1.gz.tmpx", ".other.gz.tmp1", // an archive, and two that are not
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
	removed, err := scope.RemoveAtomicTemps(filepath.Join(dir, "backup-*.gz"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{filepath.Join(dir, ".backup-1.gz.tmp123"), filepath.Join(dir, ".backup-2.gz.tmp9")}, removed)
	_, err = scope.RemoveAtomicTemps(filepath.Join(dir, "[bad"))
	assert.ErrorIs(t, err, filepath.ErrBadPattern)
}
