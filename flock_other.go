//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package scope

import (
	"fmt"
	"os"
)

func lockFile(path string, _ bool) (*os.File, error) {
	return nil, fmt.Errorf("%w: %s", ErrNotSupported, path)
}

func unlockFile(f *os.File, _ error) error { return f.Close() }
