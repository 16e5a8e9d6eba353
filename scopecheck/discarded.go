package scopecheck

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/analysis"
)

// outcomeMethods are the Scope methods whose result is the final outcome (or,
// for Move, the exits moved).
var outcomeMethods = []string{"Close", "Exit", "CloseContext", "CloseTimeout", "ExitContext", "Move"}

// checkDiscarded is discarded (4.4).
func (p *pass) checkDiscarded(f *function) {
	f.own(func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		fn := p.callee(call)
		var name string
		switch {
		case isLibFunc(fn, "With", "WithResult"):
			name = "scope." + fn.Name()
		case isScopeMethod(fn, outcomeMethods...):
			name = "Scope." + fn.Name()
		default:
			return true
		}
		var stmt ast.Node
		switch parent := unparenParent(parents(f.body, call)).(type) {
		case *ast.ExprStmt:
			stmt = parent
		case *ast.DeferStmt:
			if parent.Call == call {
				stmt = parent
			}
		case *ast.GoStmt:
			if parent.Call == call {
				stmt = parent
			}
		}
		if stmt == nil || name == "scope.With" && p.alwaysNil(call) || name == "scope.WithResult" && p.alwaysNil(call) {
			return true
		}
		var fixes []analysis.SuggestedFix
		if d, ok := stmt.(*ast.DeferStmt); ok && fn.Name() == "Close" {
			fixes = p.closeFix(f, d, call)
		}
		p.report("discarded", call.Pos(), "the result of "+name+" is discarded: it is the only place where teardown errors arrive (a failed commit, a failed publish, a close error)", fixes...)
		return true
	})
}

// alwaysNil reports whether a With or WithResult call's outcome is always
// nil: its manager is a direct call of Lock, RLock, Value or Swap, and its
// body a function literal every return of which gives nil as its error.
func (p *pass) alwaysNil(call *ast.CallExpr) bool {
	if len(call.Args) != 2 || p.libCall(call.Args[0], "Lock", "RLock", "Value", "Swap") == nil {
		return false
	}
	lit, ok := ast.Unparen(call.Args[1]).(*ast.FuncLit)
	if !ok {
		return false
	}
	always := true
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			if len(n.Results) == 0 || !p.isNil(n.Results[len(n.Results)-1]) {
				always = false
			}
		}
		return always
	})
	return always
}

// closeFix is the fix for defer X.Close(): defer X.Unwind(&r), r the
// function's named error result, when r is what its name means there.
func (p *pass) closeFix(f *function, d *ast.DeferStmt, call *ast.CallExpr) []analysis.SuggestedFix {
	if f.sig == nil || f.sig.Results().Len() == 0 {
		return nil
	}
	r := f.sig.Results().At(f.sig.Results().Len() - 1)
	if r.Name() == "" || r.Name() == "_" || !types.Identical(r.Type(), types.Universe.Lookup("error").Type()) {
		return nil
	}
	sc := p.Pkg.Scope().Innermost(d.Pos())
	if sc == nil {
		return nil
	}
	if _, obj := sc.LookupParent(r.Name(), d.Pos()); obj != r {
		return nil
	}
	x := receiver(call)
	if x == nil {
		return nil
	}
	text := "defer " + p.text(x) + ".Unwind(&" + r.Name() + ")"
	return []analysis.SuggestedFix{{
		Message:   "unwind into the named result " + r.Name(),
		TextEdits: []analysis.TextEdit{{Pos: d.Pos(), End: d.End(), NewText: []byte(text)}},
	}}
}
