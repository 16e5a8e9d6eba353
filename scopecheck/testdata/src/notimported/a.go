// Package notimported does not import the library: nothing is analyzed,
// even look-alike misuse.
package notimported

import other "example.com/other/scope"

func f() {
	var err error
	s := other.New()
	s.Unwind(&err)
	s.Close()
}
