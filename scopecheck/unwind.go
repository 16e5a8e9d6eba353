package scopecheck

import (
	"go/ast"

	"golang.org/x/tools/go/analysis"
)

// checkUnwind is unwinddefer (4.1) and unwindresult (4.2).
func (p *pass) checkUnwind(f *function) {
	deferred := map[*ast.CallExpr]bool{}
	f.own(func(n ast.Node) bool {
		if d, ok := n.(*ast.DeferStmt); ok {
			deferred[d.Call] = true
		}
		return true
	})
	f.own(func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !isScopeMethod(p.callee(call), "Unwind") {
			return true
		}
		if !deferred[call] {
			p.report("unwinddefer", call.Pos(),
				"Unwind must be called directly by a defer statement: defer s.Unwind(&err), with err the function's named error result; from anywhere else it cannot recover the panic, and without defer an early return skips every exit",
				p.unwindFix(f, call)...)
			return true
		}
		if len(call.Args) != 1 {
			return true
		}
		arg := call.Args[0]
		if p.isNil(arg) {
			p.report("unwindresult", call.Pos(),
				"Unwind must be given the address of the function's named error result, not nil: it would unwind and then panic with nowhere to store the outcome")
			return true
		}
		if v := p.addrOf(arg); v != nil && f.declares(v) && !f.isResult(v) && !p.referredByLit(f, v) {
			p.report("unwindresult", call.Pos(),
				"Unwind must be given the address of the function's named error result, not of "+v.Name()+": return copies its value into the result before the deferred Unwind runs, so the exits see "+v.Name()+" (nil after return errors.New(...)) and the final outcome is lost; name the result, as in func f() (err error)")
		}
		return true
	})
}

// unwindFix is the fix for defer func() { X.Unwind(ARG) }(): defer X.Unwind(ARG).
func (p *pass) unwindFix(f *function, call *ast.CallExpr) []analysis.SuggestedFix {
	lit, ok := f.node.(*ast.FuncLit)
	if !ok || len(lit.Type.Params.List) != 0 || (lit.Type.Results != nil && len(lit.Type.Results.List) != 0) {
		return nil
	}
	if len(lit.Body.List) != 1 {
		return nil
	}
	if es, ok := lit.Body.List[0].(*ast.ExprStmt); !ok || ast.Unparen(es.X) != call {
		return nil
	}
	d := p.deferOf[lit]
	if d == nil {
		return nil
	}
	text := "defer " + p.text(call)
	return []analysis.SuggestedFix{{
		Message:   "defer Unwind directly",
		TextEdits: []analysis.TextEdit{{Pos: d.Pos(), End: d.End(), NewText: []byte(text)}},
	}}
}
