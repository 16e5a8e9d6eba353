// Package copylock copies a Scope, which go vet's copylocks check must
// report: TestCopiedScopeReported runs go vet on it.
package copylock

import "github.com/go-scope/scope"

func use(s scope.Scope) {} // passes a Scope by value

func copies(s *scope.Scope) {
	c := *s // copies a Scope
	use(c)
}
