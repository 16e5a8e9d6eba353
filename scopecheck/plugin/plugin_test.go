package plugin_test

import (
	"testing"

	"github.com/golangci/plugin-module-register/register"

	"github.com/go-scope/scope/scopecheck"
	_ "github.com/go-scope/scope/scopecheck/plugin"
)

func TestRegistered(t *testing.T) {
	newPlugin, err := register.GetPlugin("scopecheck")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlugin(nil)
	if err != nil {
		t.Fatalf("New(nil): %v", err)
	}
	analyzers, err := p.BuildAnalyzers()
	if err != nil || len(analyzers) != 1 || analyzers[0] != scopecheck.Analyzer {
		t.Errorf("BuildAnalyzers() = %v, %v; want [scopecheck.Analyzer]", analyzers, err)
	}
	if got := p.GetLoadMode(); got != register.LoadModeTypesInfo {
		t.Errorf("GetLoadMode() = %q; want %q", got, register.LoadModeTypesInfo)
	}
}
