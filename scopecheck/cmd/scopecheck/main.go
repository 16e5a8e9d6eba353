// Command scopecheck runs the scopecheck analyzer: standalone,
//
//	scopecheck ./...
//
// which exits with a non-zero status when it reports something, or as a vet
// tool:
//
//	go vet -vettool=$(which scopecheck) ./...
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/go-scope/scope/scopecheck"
)

func main() { singlechecker.Main(scopecheck.Analyzer) }
