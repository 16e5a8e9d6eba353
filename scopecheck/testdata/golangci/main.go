// Command golangci is golangci-lint v2 with the scopecheck module plugin
// built in: what `golangci-lint custom` makes from .custom-gcl.yml (which
// needs to clone golangci-lint's repository; CI builds the same binary from
// the Go module proxy instead). .ci/run builds it and runs it over the
// examples with .golangci.yml.
package main

import (
	"fmt"
	"os"

	"github.com/golangci/golangci-lint/v2/pkg/commands"
	"github.com/golangci/golangci-lint/v2/pkg/exitcodes"

	// The plugin, as the custom build imports it.
	_ "github.com/go-scope/scope/scopecheck/plugin"
)

func main() {
	info := commands.BuildInfo{Version: "2.15.0-scopecheck", Commit: "?", Date: "?", GoVersion: "?"}
	if err := commands.Execute(info); err != nil {
		fmt.Fprintf(os.Stderr, "The command is terminated due to an error: %v\n", err)
		os.Exit(exitcodes.Failure)
	}
}
