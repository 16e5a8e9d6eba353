package scopecheck

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/cfg"
)

// checkLeak is leak (4.5), lostcancel for scopes: a Scope made in f must be
// closed, moved, returned or stored on every path once an exit is registered
// in it.
func (p *pass) checkLeak(f *function) {
	if f.cfg == nil {
		return
	}
	f.own(func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, name := range n.Names {
				v, _ := p.TypesInfo.Defs[name].(*types.Var)
				if v == nil {
					continue
				}
				switch {
				case len(n.Values) == 0 && isScopeType(v.Type()):
					p.leakFrom(f, n, v, false)
				case len(n.Values) == len(n.Names):
					if made, moved := p.makesScope(n.Values[i]); made {
						p.leakFrom(f, n, v, moved)
					}
				}
			}
		case *ast.AssignStmt:
			if (n.Tok != token.ASSIGN && n.Tok != token.DEFINE) || len(n.Lhs) != len(n.Rhs) {
				return true
			}
			for i, l := range n.Lhs {
				if made, moved := p.makesScope(n.Rhs[i]); made {
					if v := p.varOf(l); v != nil {
						p.leakFrom(f, n, v, moved)
					}
				}
			}
		}
		return true
	})
}

// makesScope reports whether e makes a Scope: new(scope.Scope),
// &scope.Scope{}, scope.New(ctx), or X.Move(), which starts with exits.
func (p *pass) makesScope(e ast.Expr) (made, moved bool) {
	e = ast.Unparen(e)
	switch e := e.(type) {
	case *ast.CallExpr:
		if id, ok := ast.Unparen(e.Fun).(*ast.Ident); ok && len(e.Args) == 1 {
			if b, ok := p.TypesInfo.Uses[id].(*types.Builtin); ok && b.Name() == "new" {
				return isScopeType(p.TypesInfo.TypeOf(e.Args[0])), false
			}
		}
		fn := p.callee(e)
		if isLibFunc(fn, "New") {
			return true, false
		}
		if isScopeMethod(fn, "Move") {
			return true, true
		}
	case *ast.UnaryExpr:
		if lit, ok := ast.Unparen(e.X).(*ast.CompositeLit); ok && e.Op == token.AND {
			return isScopeType(p.TypesInfo.TypeOf(lit)), false
		}
	}
	return false, false
}

// leakState is where a path stands with the Scope.
type leakState struct {
	kind leakKind
	e    *types.Var // for registeredIfNil: the error that says
}

type leakKind int

const (
	empty           leakKind = iota
	registered               // an exit is registered: the path must close or hand over the Scope
	registeredIfNil          // registered when e == nil: scope.Enter's error decides
)

// leakEffect is what one node does to the Scope.
type leakEffect int

const (
	noEffect leakEffect = iota
	registers
	assignsV
	handles
)

// leakFrom follows every path from the statement that made v.
func (p *pass) leakFrom(f *function, stmt ast.Node, v *types.Var, moved bool) {
	if v.Name() == "_" || !f.declares(v) || p.referredByLit(f, v) {
		return
	}
	start, ok := f.locate(stmt)
	if !ok {
		return
	}
	init := leakState{kind: empty}
	if moved {
		init.kind = registered
	}
	type item struct {
		b  *cfg.Block
		i  int
		st leakState
	}
	type key struct {
		b  *cfg.Block
		st leakState
	}
	seen := map[key]bool{}
	work := []item{{start.block, start.index + 1, init}}
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		st := it.st
		done := false
		for i := it.i; i < len(it.b.Nodes) && !done; i++ {
			n := it.b.Nodes[i]
			if r, ok := n.(*ast.ReturnStmt); ok {
				handled := len(p.uses(r, v)) > 0 || len(r.Results) == 0 && f.isResult(v)
				if !handled && st.kind != empty {
					p.Report(analysis.Diagnostic{
						Pos:      stmt.Pos(),
						Category: "leak",
						Message:  "the Scope " + v.Name() + " is not closed on all paths: this return leaves with exits registered that never run (files stay open, locks held); defer " + v.Name() + ".Unwind(&err), or hand the Scope over",
						Related:  []analysis.RelatedInformation{{Pos: r.Pos(), Message: "returns without closing " + v.Name()}},
					})
					return
				}
				done = true
				break
			}
			eff, enter := p.leakEffectOf(n, v)
			switch eff {
			case handles:
				done = true
				continue
			case assignsV:
				if st.kind != empty {
					p.Report(analysis.Diagnostic{
						Pos:      stmt.Pos(),
						Category: "leak",
						Message:  "the Scope " + v.Name() + " is not closed on all paths: it is made again while exits are registered in it",
						Related:  []analysis.RelatedInformation{{Pos: n.Pos(), Message: v.Name() + " is assigned again here"}},
					})
					return
				}
				done = true
				continue
			case registers:
				if enter != nil && st.kind == empty {
					st = leakState{kind: registeredIfNil, e: enter}
				} else {
					st = leakState{kind: registered}
				}
				continue
			}
			if st.kind == registeredIfNil && p.assignsTo(n, st.e) {
				st = leakState{kind: registered}
			}
		}
		last := len(it.b.Nodes) - 1
		if done || last >= 0 && p.noReturnCall(it.b.Nodes[last]) {
			continue
		}
		onTrue, onFalse := unknown, unknown
		if st.kind == registeredIfNil {
			if cond := p.condition(it.b); cond != nil {
				onTrue, onFalse = p.nilnessOf(cond, st.e)
			}
		}
		for i, s := range it.b.Succs {
			next := st
			say := onTrue
			if i == 1 {
				say = onFalse
			}
			switch say {
			case notNilErr:
				next = leakState{kind: empty}
			case isNilErr:
				next = leakState{kind: registered}
			}
			k := key{s, next}
			if !seen[k] {
				seen[k] = true
				work = append(work, item{s, 0, next})
			}
		}
	}
}

// leakEffectOf returns what node n does to the Scope v: handling wins, then an
// assignment to v, then a registration. For x, e := scope.Enter(v, m) it also
// returns e.
func (p *pass) leakEffectOf(n ast.Node, v *types.Var) (leakEffect, *types.Var) {
	best := noEffect
	var enterErr *types.Var
	for _, id := range p.uses(n, v) {
		eff, e := p.leakUse(n, id)
		if eff > best {
			best, enterErr = eff, e
		} else if eff == best && eff == registers && e != nil {
			enterErr = e
		}
	}
	return best, enterErr
}

// leakUse classifies one use of the Scope variable.
func (p *pass) leakUse(n ast.Node, id *ast.Ident) (leakEffect, *types.Var) {
	chain := parents(n, id)
	if chain == nil {
		return handles, nil
	}
	// Climb over parentheses and &v.
	expr := ast.Expr(id)
	i := len(chain) - 2
	for ; i >= 0; i-- {
		switch parent := chain[i].(type) {
		case *ast.ParenExpr:
			expr = parent
			continue
		case *ast.UnaryExpr:
			if parent.Op == token.AND {
				expr = parent
				continue
			}
		}
		break
	}
	if i < 0 {
		return handles, nil
	}
	switch parent := chain[i].(type) {
	case *ast.SelectorExpr:
		sel, ok := p.TypesInfo.Selections[parent]
		if !ok {
			return handles, nil
		}
		fn, ok := sel.Obj().(*types.Func)
		if !ok || !isScopeMethod(fn, fn.Name()) {
			return handles, nil
		}
		called := i > 0
		if called {
			call, ok := chain[i-1].(*ast.CallExpr)
			called = ok && ast.Unparen(call.Fun) == parent
		}
		if !called {
			return handles, nil // a method value: someone else closes it
		}
		switch fn.Name() {
		case "Defer", "Push", "PushContext", "Go":
			return registers, nil
		case "SetLimit", "SetCancelOnError":
			return noEffect, nil
		}
		return handles, nil // Close, Exit, Unwind, Move, ...: closed; Enter, Wait: handed on
	case *ast.CallExpr:
		if isLibFunc(p.callee(parent), "Enter") && len(parent.Args) == 2 && parent.Args[0] == expr {
			return registers, p.enterError(n, parent)
		}
		return handles, nil
	case *ast.BinaryExpr:
		if parent.Op == token.EQL || parent.Op == token.NEQ {
			return noEffect, nil
		}
	case *ast.AssignStmt:
		for _, l := range parent.Lhs {
			if l == expr {
				return assignsV, nil
			}
		}
	case *ast.ValueSpec:
		for _, name := range parent.Names {
			if name == id {
				return assignsV, nil
			}
		}
	}
	return handles, nil
}

// enterError returns e when call, a scope.Enter in node n, is the whole right
// side of x, e := ... (or =, or var x, e = ...) with e a variable; nil when
// its error is discarded, assigned to _, or used in an expression.
func (p *pass) enterError(n ast.Node, call *ast.CallExpr) *types.Var {
	var target ast.Expr
	switch parent := unparenParent(parents(n, call)).(type) {
	case *ast.AssignStmt:
		if len(parent.Lhs) == 2 && len(parent.Rhs) == 1 {
			target = parent.Lhs[1]
		}
	case *ast.ValueSpec:
		if len(parent.Names) == 2 && len(parent.Values) == 1 {
			target = parent.Names[1]
		}
	}
	if target == nil {
		return nil
	}
	if id, ok := ast.Unparen(target).(*ast.Ident); ok && id.Name == "_" {
		return nil
	}
	return p.varOf(target)
}
