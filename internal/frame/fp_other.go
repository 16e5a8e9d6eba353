//go:build !amd64 && !arm64

package frame

// fpcallers reports that this architecture has no frame-pointer walk: the
// package answers from runtime.Callers instead.
func fpcallers(skip int, pcs []uintptr) int { return -1 }
