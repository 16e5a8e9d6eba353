// Package scopecheck defines an analyzer that reports the uses of
// github.com/go-scope/scope that compile but lose an error, a panic, a
// teardown or a resource at run time.
//
// The checks, each a diagnostic category:
//
//   - unwinddefer: Scope.Unwind is not called directly by a defer statement;
//   - unwindresult: a deferred Unwind is not given the function's named
//     error result;
//   - entererror: the error of scope.Enter is not checked;
//   - discarded: the outcome of scope.With, scope.WithResult or a Scope's
//     Close, Exit, CloseContext, CloseTimeout, ExitContext or Move is thrown
//     away;
//   - leak: a Scope made in a function is not closed, moved, returned or
//     stored on every path;
//   - generator: a generator returns nil without calling yield, or may call
//     yield twice;
//   - replace: a block returns scope.Replace.
//
// The analyzer recognises the library by its import path, whatever name it is
// imported under, and reports nothing in packages that do not import it. Its
// false-positive policy: any use it does not understand counts as handling,
// and it reports only what it can show wrong.
//
// Run it standalone (scopecheck ./...), as go vet -vettool=$(which scopecheck),
// or as a golangci-lint module plugin (package plugin).
package scopecheck

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/ctrlflow"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/cfg"
)

// Analyzer reports the misuses of github.com/go-scope/scope that fail open.
var Analyzer = &analysis.Analyzer{
	Name: "scopecheck",
	Doc: `check uses of github.com/go-scope/scope that lose an error, a panic, a teardown or a resource

scopecheck reports: Unwind not called directly by a defer statement
(unwinddefer) or not given the function's named error result (unwindresult);
an unchecked error of scope.Enter (entererror); a discarded outcome of
scope.With, scope.WithResult or a Scope's Close, Exit, CloseContext,
CloseTimeout, ExitContext or Move (discarded); a Scope not closed on every
path (leak); a generator that returns nil before yield or may yield twice
(generator); and scope.Replace returned from a block (replace).`,
	URL:      "https://pkg.go.dev/github.com/go-scope/scope/scopecheck",
	Requires: []*analysis.Analyzer{inspect.Analyzer, ctrlflow.Analyzer},
	Run:      run,
}

// libPath is the import path of the library.
const libPath = "github.com/go-scope/scope"

// pass is one run of the analyzer over a package, with what every check
// needs.
type pass struct {
	*analysis.Pass
	cfgs *ctrlflow.CFGs
	// tagged holds the case expressions of switch statements with a tag:
	// they compare with the tag, so they tell nothing about nil.
	tagged map[ast.Expr]bool
	// deferOf maps a function literal to the defer statement that calls it
	// with no arguments: defer func() { ... }().
	deferOf map[*ast.FuncLit]*ast.DeferStmt
	// generatorLits are the function literals passed directly to
	// scope.Generator; withBodies those passed as the body of scope.With or
	// scope.WithResult.
	generatorLits, withBodies map[*ast.FuncLit]bool
}

func run(p *analysis.Pass) (any, error) {
	if p.Pkg.Path() == libPath || !importsLibrary(p.Pkg) {
		return nil, nil
	}
	ps := &pass{
		Pass:          p,
		cfgs:          p.ResultOf[ctrlflow.Analyzer].(*ctrlflow.CFGs),
		tagged:        map[ast.Expr]bool{},
		deferOf:       map[*ast.FuncLit]*ast.DeferStmt{},
		generatorLits: map[*ast.FuncLit]bool{},
		withBodies:    map[*ast.FuncLit]bool{},
	}
	ins := p.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	ins.Preorder([]ast.Node{(*ast.SwitchStmt)(nil), (*ast.DeferStmt)(nil), (*ast.CallExpr)(nil)}, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.CallExpr:
			fn := ps.callee(n)
			switch {
			case isLibFunc(fn, "Generator") && len(n.Args) == 1:
				if lit, ok := ast.Unparen(n.Args[0]).(*ast.FuncLit); ok {
					ps.generatorLits[lit] = true
				}
			case isLibFunc(fn, "With", "WithResult") && len(n.Args) == 2:
				if lit, ok := ast.Unparen(n.Args[1]).(*ast.FuncLit); ok {
					ps.withBodies[lit] = true
				}
			}
		case *ast.SwitchStmt:
			if n.Tag == nil {
				return
			}
			for _, c := range n.Body.List {
				for _, e := range c.(*ast.CaseClause).List {
					ps.tagged[e] = true
				}
			}
		case *ast.DeferStmt:
			if lit, ok := ast.Unparen(n.Call.Fun).(*ast.FuncLit); ok && len(n.Call.Args) == 0 {
				ps.deferOf[lit] = n
			}
		}
	})
	ins.Preorder([]ast.Node{(*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)}, func(n ast.Node) {
		var f *function
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Body == nil {
				return
			}
			f = ps.newFunction(n, n.Type, n.Body, ps.cfgs.FuncDecl(n))
		case *ast.FuncLit:
			f = ps.newFunction(n, n.Type, n.Body, ps.cfgs.FuncLit(n))
		}
		ps.checkUnwind(f)
		ps.checkEnter(f)
		ps.checkDiscarded(f)
		ps.checkLeak(f)
		ps.checkGenerator(f)
		ps.checkReplace(f)
	})
	return nil, nil
}

func importsLibrary(pkg *types.Package) bool {
	for _, imp := range pkg.Imports() {
		if imp.Path() == libPath {
			return true
		}
	}
	return false
}

// function is a function declaration or literal with a body: the unit every
// check works on.
type function struct {
	node ast.Node // *ast.FuncDecl or *ast.FuncLit
	typ  *ast.FuncType
	body *ast.BlockStmt
	cfg  *cfg.CFG
	sig  *types.Signature
	// lits are the function literals inside the function, at any depth.
	lits []*ast.FuncLit
}

func (p *pass) newFunction(node ast.Node, typ *ast.FuncType, body *ast.BlockStmt, g *cfg.CFG) *function {
	f := &function{node: node, typ: typ, body: body, cfg: g}
	switch n := node.(type) {
	case *ast.FuncDecl:
		if obj, ok := p.TypesInfo.Defs[n.Name].(*types.Func); ok {
			f.sig = obj.Type().(*types.Signature)
		}
	case *ast.FuncLit:
		if tv, ok := p.TypesInfo.Types[n]; ok {
			f.sig, _ = tv.Type.(*types.Signature)
		}
	}
	ast.Inspect(body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.FuncLit); ok {
			f.lits = append(f.lits, lit)
		}
		return true
	})
	return f
}

// own calls fn for each node of f's own statements, not those of the
// function literals inside f; fn returns whether to look inside n.
func (f *function) own(fn func(n ast.Node) bool) {
	ast.Inspect(f.body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		return n != nil && fn(n)
	})
}

// declares reports whether v is declared in f itself: in its parameters,
// results or body, and not in a function literal inside it.
func (f *function) declares(v *types.Var) bool {
	pos := v.Pos()
	if pos < f.typ.Pos() || pos >= f.body.End() {
		return false
	}
	for _, lit := range f.lits {
		if pos >= lit.Pos() && pos < lit.End() {
			return false
		}
	}
	return true
}

// isResult reports whether v is one of f's results.
func (f *function) isResult(v *types.Var) bool {
	if f.sig == nil {
		return false
	}
	for i := range f.sig.Results().Len() {
		if f.sig.Results().At(i) == v {
			return true
		}
	}
	return false
}

// referredByLit reports whether a function literal inside f refers to v.
func (p *pass) referredByLit(f *function, v types.Object) bool {
	for _, lit := range f.lits {
		found := false
		ast.Inspect(lit.Body, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && p.TypesInfo.Uses[id] == v {
				found = true
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

// report reports a finding of check at pos.
func (p *pass) report(check string, pos token.Pos, msg string, fixes ...analysis.SuggestedFix) {
	p.Report(analysis.Diagnostic{Pos: pos, Category: check, Message: msg, SuggestedFixes: fixes})
}

// text returns the source text of n.
func (p *pass) text(n ast.Node) string {
	file := p.Fset.File(n.Pos())
	for _, f := range p.Files {
		if p.Fset.File(f.Pos()) == file {
			src, err := p.ReadFile(file.Name())
			if err == nil {
				return string(src[file.Offset(n.Pos()):file.Offset(n.End())])
			}
		}
	}
	return types.ExprString(n.(ast.Expr))
}
