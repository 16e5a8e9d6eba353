package scopecheck_test

import (
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/go-scope/scope/scopecheck"
)

// TestChecks runs the analyzer over one package per check, each with cases
// that must be reported (// want) and cases that must not, and over code that
// must produce nothing: an import alias and a type alias, a look-alike
// package named scope at another path, a package that does not import the
// library, and realistic code from the README, the package documentation and
// the example programs.
func TestChecks(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), scopecheck.Analyzer,
		"unwinddefer", "unwindresult", "entererror", "discarded", "leak", "generator", "replace",
		"alias", "lookalike", "notimported", "realistic")
}

// TestFixes applies every suggested fix of the fixes package and compares the
// result with the golden file: findings with a mechanical fix carry it, the
// others carry none.
func TestFixes(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), scopecheck.Analyzer, "fixes")
}

// TestOnlyMechanicalFixes: in the check packages, no finding carries a fix
// but those of unwinddefer and discarded, the two the spec names.
func TestOnlyMechanicalFixes(t *testing.T) {
	results := analysistest.Run(&quiet{T: t}, analysistest.TestData(), scopecheck.Analyzer,
		"unwindresult", "entererror", "leak", "generator", "replace")
	for _, r := range results {
		for _, d := range r.Diagnostics {
			if len(d.SuggestedFixes) > 0 {
				t.Errorf("%s: %q carries a fix", r.Pass.Fset.Position(d.Pos), d.Message)
			}
		}
	}
}

// quiet is a testing.T for a second run whose expectations TestChecks checks
// already.
type quiet struct{ *testing.T }

func (q *quiet) Errorf(format string, args ...any) {}

func TestAnalyzerIsValid(t *testing.T) {
	if err := analysis.Validate([]*analysis.Analyzer{scopecheck.Analyzer}); err != nil {
		t.Fatal(err)
	}
	if scopecheck.Analyzer.Name != "scopecheck" {
		t.Errorf("Name = %q; want scopecheck", scopecheck.Analyzer.Name)
	}
}
