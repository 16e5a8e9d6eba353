package scopecheck

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/cfg"
)

// checkGenerator is generator (4.6): for a function literal passed directly to
// scope.Generator, (a) a return nil that some path reaches before any yield
// call, and (b) a yield call that some path from a yield call reaches.
func (p *pass) checkGenerator(f *function) {
	lit, ok := f.node.(*ast.FuncLit)
	if !ok || !p.generatorLits[lit] || f.cfg == nil {
		return
	}
	var yield *types.Var
	if params := lit.Type.Params.List; len(params) == 1 && len(params[0].Names) == 1 && params[0].Names[0].Name != "_" {
		yield, _ = p.TypesInfo.Defs[params[0].Names[0]].(*types.Var)
	}
	// The yield calls of each node of the graph, in source order. The
	// literal is left alone when yield is used in any other way.
	calls := map[ast.Node][]*ast.CallExpr{}
	if yield != nil {
		if p.referredByLit(f, yield) {
			return
		}
		direct := map[*ast.Ident]bool{}
		f.own(func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok && p.TypesInfo.Uses[id] == yield {
					direct[id] = true
				}
			}
			return true
		})
		for _, id := range p.uses(f.body, yield) {
			if !direct[id] {
				return // passed on, stored, compared: not ours to judge
			}
		}
		for _, b := range f.cfg.Blocks {
			for _, n := range b.Nodes {
				ast.Inspect(n, func(m ast.Node) bool {
					if _, ok := m.(*ast.FuncLit); ok {
						return false
					}
					if call, ok := m.(*ast.CallExpr); ok {
						if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok && p.TypesInfo.Uses[id] == yield {
							calls[n] = append(calls[n], call)
						}
					}
					return true
				})
			}
		}
	}

	// (a) return nil before yield.
	reported := map[ast.Node]bool{}
	seen := map[*cfg.Block]bool{f.cfg.Blocks[0]: true}
	work := []*cfg.Block{f.cfg.Blocks[0]}
	for len(work) > 0 {
		b := work[len(work)-1]
		work = work[:len(work)-1]
		stopped := false
		for _, n := range b.Nodes {
			if len(calls[n]) > 0 {
				stopped = true // yielded
				break
			}
			if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 && p.isNil(r.Results[0]) && !reported[r] {
				reported[r] = true
				p.report("generator", r.Pos(), "the generator returns nil without calling yield: Enter and With then fail with scope.ErrNoYield and the block never runs; return the setup's error instead")
			}
		}
		if stopped {
			continue
		}
		for _, s := range b.Succs {
			if !seen[s] {
				seen[s] = true
				work = append(work, s)
			}
		}
	}

	// (b) a yield call reached from a yield call.
	again := map[*ast.CallExpr]bool{}
	for _, b := range f.cfg.Blocks {
		for i, n := range b.Nodes {
			cs := calls[n]
			if len(cs) == 0 {
				continue
			}
			// Later calls in the same node follow in source order.
			for _, c := range cs[1:] {
				again[c] = true
			}
			// Then the rest of the block and whatever follows.
			seen := map[*cfg.Block]bool{}
			rest := b.Nodes[i+1:]
			succs := b.Succs
			for {
				for _, m := range rest {
					for _, c := range calls[m] {
						again[c] = true
					}
				}
				var next []*cfg.Block
				for _, s := range succs {
					if !seen[s] {
						seen[s] = true
						next = append(next, s)
					}
				}
				if len(next) == 0 {
					break
				}
				rest, succs = nil, nil
				for _, s := range next {
					rest = append(rest, s.Nodes...)
					succs = append(succs, s.Succs...)
				}
			}
		}
	}
	f.own(func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && again[call] {
			p.report("generator", call.Pos(), "yield may be called more than once: a second call runs nothing and returns scope.ErrExtraYield, which fails the whole block")
		}
		return true
	})
}

// checkReplace is replace (4.7): scope.Replace returned by a block, a
// function literal passed as the body of scope.With or scope.WithResult, or a
// function that defers Unwind directly.
func (p *pass) checkReplace(f *function) {
	block := false
	if lit, ok := f.node.(*ast.FuncLit); ok && p.withBodies[lit] {
		block = true
	}
	f.own(func(n ast.Node) bool {
		if d, ok := n.(*ast.DeferStmt); ok && isScopeMethod(p.callee(d.Call), "Unwind") {
			block = true
		}
		return !block
	})
	if !block {
		return
	}
	f.own(func(n ast.Node) bool {
		r, ok := n.(*ast.ReturnStmt)
		if !ok {
			return true
		}
		for _, res := range r.Results {
			if call := p.libCall(res, "Replace"); call != nil {
				p.report("replace", call.Pos(), "scope.Replace returned from a block: only an exit may replace the outcome, and the block's outcome becomes an error saying so; use scope.Suppress, or an exit that returns scope.Replace")
			}
		}
		return true
	})
}
