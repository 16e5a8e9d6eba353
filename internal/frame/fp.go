//go:build amd64 || arm64

package frame

// fpcallers stores in pcs the return addresses of the frame-pointer chain,
// starting with that of its caller's frame, after skipping skip of them, and
// returns how many it stored (fp_amd64.s, fp_arm64.s).
//
//go:noescape
func fpcallers(skip int, pcs []uintptr) int
