package scopecheck

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/cfg"
)

// This file is what the path-based checks share: where a statement is in a
// function's control-flow graph, how paths go on from it, and what a branch
// condition says about an error being nil.

// point is a node of the control-flow graph: Nodes[index] of block.
type point struct {
	block *cfg.Block
	index int
}

// locate returns the node of f's graph that contains n, one of f's own
// statements or expressions.
func (f *function) locate(n ast.Node) (point, bool) {
	if f.cfg == nil {
		return point{}, false
	}
	for _, b := range f.cfg.Blocks {
		if !b.Live {
			continue
		}
		for i, m := range b.Nodes {
			if m.Pos() <= n.Pos() && n.End() <= m.End() {
				return point{b, i}, true
			}
		}
	}
	return point{}, false
}

// condition returns the condition that the last node of b is, if b branches
// on one: Succs[0] is taken when it is true, Succs[1] when false. A case of a
// switch with a tag compares with the tag, and is not one.
func (p *pass) condition(b *cfg.Block) ast.Expr {
	if len(b.Succs) != 2 || len(b.Nodes) == 0 {
		return nil
	}
	e, ok := b.Nodes[len(b.Nodes)-1].(ast.Expr)
	if !ok || p.tagged[e] {
		return nil
	}
	return e
}

// nilness is what a condition says about an error e on one branch.
type nilness int

const (
	unknown nilness = iota
	isNilErr
	notNilErr
)

// nilnessOf returns what cond says about e on its true and its false branch,
// by the rules of the spec: e != nil, e == nil, !c, a && b, a || b.
func (p *pass) nilnessOf(cond ast.Expr, e *types.Var) (onTrue, onFalse nilness) {
	switch c := ast.Unparen(cond).(type) {
	case *ast.UnaryExpr:
		if c.Op == token.NOT {
			t, f := p.nilnessOf(c.X, e)
			return f, t
		}
	case *ast.BinaryExpr:
		switch c.Op {
		case token.NEQ, token.EQL:
			var other ast.Expr
			switch {
			case p.varOf(c.X) == e:
				other = c.Y
			case p.varOf(c.Y) == e:
				other = c.X
			default:
				return unknown, unknown
			}
			if !p.isNil(other) {
				return unknown, unknown
			}
			if c.Op == token.NEQ {
				return notNilErr, isNilErr
			}
			return isNilErr, notNilErr
		case token.LAND:
			at, af := p.nilnessOf(c.X, e)
			bt, bf := p.nilnessOf(c.Y, e)
			return either(at, bt), both(af, bf)
		case token.LOR:
			at, af := p.nilnessOf(c.X, e)
			bt, bf := p.nilnessOf(c.Y, e)
			return both(at, bt), either(af, bf)
		}
	}
	return unknown, unknown
}

// either is what holds when both a and b hold: what either says.
func either(a, b nilness) nilness {
	if a != unknown {
		return a
	}
	return b
}

// both is what holds when a or b holds: only what both say.
func both(a, b nilness) nilness {
	if a == b {
		return a
	}
	return unknown
}

// noReturnCall reports whether n is a statement calling a function that never
// returns (panic, os.Exit, log.Fatal, t.Fatal, runtime.Goexit): a path that
// ends there is not a finding.
func (p *pass) noReturnCall(n ast.Node) bool {
	es, ok := n.(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if b, ok := p.TypesInfo.Uses[id].(*types.Builtin); ok && b.Name() == "panic" {
			return true
		}
	}
	fn := p.callee(call)
	return fn != nil && p.cfgs.NoReturn(fn)
}

// uses returns the identifiers in n that denote v, in source order, not
// looking into function literals.
func (p *pass) uses(n ast.Node, v types.Object) []*ast.Ident {
	var ids []*ast.Ident
	ast.Inspect(n, func(m ast.Node) bool {
		switch m := m.(type) {
		case *ast.FuncLit:
			return false
		case *ast.Ident:
			if p.TypesInfo.Uses[m] == v || p.TypesInfo.Defs[m] == v {
				ids = append(ids, m)
			}
		}
		return true
	})
	return ids
}

// parents returns the chain of nodes from root down to target, target last,
// or nil if target is not in root.
func parents(root, target ast.Node) []ast.Node {
	var stack, found []ast.Node
	ast.Inspect(root, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		if n == target {
			found = append(append([]ast.Node(nil), stack...), n)
			return false
		}
		stack = append(stack, n)
		return true
	})
	return found
}
