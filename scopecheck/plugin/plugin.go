// Package plugin registers the scopecheck analyzer as a golangci-lint module
// plugin. In .custom-gcl.yml:
//
//	version: v2.5.0
//	plugins:
//	  - module: github.com/go-scope/scope/scopecheck
//	    import: github.com/go-scope/scope/scopecheck/plugin
//	    version: latest
//
// then golangci-lint custom, and in .golangci.yml:
//
//	linters:
//	  enable:
//	    - scopecheck
//	  settings:
//	    custom:
//	      scopecheck:
//	        type: module
package plugin

import (
	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"

	"github.com/go-scope/scope/scopecheck"
)

func init() { register.Plugin("scopecheck", New) }

// New returns the plugin. It takes no settings; nil is accepted.
func New(settings any) (register.LinterPlugin, error) { return plugin{}, nil }

type plugin struct{}

// BuildAnalyzers returns the scopecheck analyzer.
func (plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	return []*analysis.Analyzer{scopecheck.Analyzer}, nil
}

// GetLoadMode says the analyzer needs type information.
func (plugin) GetLoadMode() string { return register.LoadModeTypesInfo }
