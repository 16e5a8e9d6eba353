package scopecheck

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/cfg"
)

const enterMsg = "the error from scope.Enter is not checked: when Enter fails nothing is registered and the value is the zero value"

// checkEnter is entererror (4.3).
func (p *pass) checkEnter(f *function) {
	f.own(func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !isLibFunc(p.callee(call), "Enter") || len(call.Args) != 2 {
			return true
		}
		if p.infallible(call.Args[1], cannotFail...) {
			return true
		}
		chain := parents(f.body, call)
		parent := unparenParent(chain)
		switch parent := parent.(type) {
		case *ast.ExprStmt:
			p.report("entererror", call.Pos(), enterMsg)
		case *ast.GoStmt, *ast.DeferStmt:
			p.report("entererror", call.Pos(), enterMsg)
		case *ast.AssignStmt:
			if len(parent.Lhs) == 2 && len(parent.Rhs) == 1 {
				p.enterTarget(f, call, parent, parent.Lhs[1])
			}
		case *ast.ValueSpec:
			if len(parent.Names) == 2 && len(parent.Values) == 1 {
				p.enterTarget(f, call, parent, parent.Names[1])
			}
		}
		return true
	})
}

// unparenParent returns the nearest node above the last one of chain that is
// not a parenthesis.
func unparenParent(chain []ast.Node) ast.Node {
	for i := len(chain) - 2; i >= 0; i-- {
		if _, ok := chain[i].(*ast.ParenExpr); !ok {
			return chain[i]
		}
	}
	return nil
}

// enterTarget checks the error target of x, e := scope.Enter(...): rule 2
// (the target is _) and rule 3 (the error is lost on some path).
func (p *pass) enterTarget(f *function, call *ast.CallExpr, stmt ast.Node, target ast.Expr) {
	if id, ok := ast.Unparen(target).(*ast.Ident); ok && id.Name == "_" {
		p.report("entererror", call.Pos(), enterMsg)
		return
	}
	e := p.varOf(target)
	if e == nil || !f.declares(e) || p.referredByLit(f, e) || p.addressTaken(f, e) {
		return
	}
	start, ok := f.locate(stmt)
	if !ok {
		return
	}
	if p.errorLost(f, start, e) {
		p.report("entererror", call.Pos(), enterMsg+"; "+e.Name()+" is overwritten or the function returns before it is read")
	}
}

// addressTaken reports whether &e occurs in f other than as the argument of a
// directly deferred Unwind.
func (p *pass) addressTaken(f *function, e *types.Var) bool {
	allowed := map[ast.Expr]bool{}
	f.own(func(n ast.Node) bool {
		if d, ok := n.(*ast.DeferStmt); ok && isScopeMethod(p.callee(d.Call), "Unwind") && len(d.Call.Args) == 1 {
			allowed[ast.Unparen(d.Call.Args[0])] = true
		}
		return true
	})
	taken := false
	f.own(func(n ast.Node) bool {
		if u, ok := n.(*ast.UnaryExpr); ok && u.Op == token.AND && p.varOf(u.X) == e && !allowed[u] {
			taken = true
		}
		return !taken
	})
	return taken
}

// access is what a node does with a variable: reads it, or only assigns it.
type access int

const (
	none access = iota
	reads
	assigns
)

// accessOf returns what node n does with e: a read is any use other than as
// the target of a plain assignment (or the address given to a deferred
// Unwind, which reads e only when the function returns).
func (p *pass) accessOf(f *function, n ast.Node, e *types.Var) access {
	ids := p.uses(n, e)
	if len(ids) == 0 {
		return none
	}
	targets := map[*ast.Ident]bool{}
	switch n := n.(type) {
	case *ast.AssignStmt:
		if n.Tok == token.ASSIGN || n.Tok == token.DEFINE {
			for _, l := range n.Lhs {
				if id, ok := ast.Unparen(l).(*ast.Ident); ok {
					targets[id] = true
				}
			}
		}
	case *ast.ValueSpec:
		for _, id := range n.Names {
			targets[id] = true
		}
	case *ast.DeferStmt:
		if isScopeMethod(p.callee(n.Call), "Unwind") {
			// &e here is read when the function returns.
			rest := 0
			for _, a := range n.Call.Args {
				if p.addrOf(a) != e {
					rest += len(p.uses(a, e))
				}
			}
			rest += len(p.uses(n.Call.Fun, e))
			if rest == 0 {
				return none
			}
			return reads
		}
	}
	assigned := false
	for _, id := range ids {
		if !targets[id] {
			return reads
		}
		assigned = true
	}
	if assigned {
		return assigns
	}
	return none
}

// errorLost reports whether some path from the statement at start reaches,
// before any read of e, another assignment to e or a return that does not
// read e.
func (p *pass) errorLost(f *function, start point, e *types.Var) bool {
	type item struct {
		b *cfg.Block
		i int
	}
	seen := map[*cfg.Block]bool{}
	work := []item{{start.block, start.index + 1}}
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		done := false
		for i := it.i; i < len(it.b.Nodes) && !done; i++ {
			n := it.b.Nodes[i]
			if r, ok := n.(*ast.ReturnStmt); ok {
				if !p.returnReads(f, r, e) {
					return true
				}
				done = true
				break
			}
			switch p.accessOf(f, n, e) {
			case reads:
				done = true
			case assigns:
				return true
			}
		}
		if done || len(it.b.Nodes) > 0 && p.noReturnCall(it.b.Nodes[len(it.b.Nodes)-1]) {
			continue
		}
		for _, s := range it.b.Succs {
			if !seen[s] {
				seen[s] = true
				work = append(work, item{s, 0})
			}
		}
	}
	return false
}

// returnReads reports whether return statement r reads e: an explicit return
// whose results mention e, or a bare return when e is a named result.
func (p *pass) returnReads(f *function, r *ast.ReturnStmt, e *types.Var) bool {
	if len(r.Results) == 0 {
		return f.isResult(e)
	}
	return len(p.uses(r, e)) > 0
}

// assignsTo reports whether n assigns e with a plain assignment, whatever
// else it does with it.
func (p *pass) assignsTo(n ast.Node, e *types.Var) bool {
	switch n := n.(type) {
	case *ast.AssignStmt:
		if n.Tok != token.ASSIGN && n.Tok != token.DEFINE {
			return false
		}
		for _, l := range n.Lhs {
			if p.varOf(l) == e {
				return true
			}
		}
	case *ast.ValueSpec:
		for _, id := range n.Names {
			if p.TypesInfo.Defs[id] == e {
				return true
			}
		}
	}
	return false
}
