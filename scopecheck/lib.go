package scopecheck

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"
)

// This file recognises the library's functions, methods and types by their
// type-checked objects: an import alias, explicit type arguments, a method
// promoted from an embedded Scope and a type alias all resolve to them, and a
// look-alike package of another path never does.

// callee returns the function or method that call calls statically, its
// generic origin for an instantiation, or nil.
func (p *pass) callee(call *ast.CallExpr) *types.Func {
	fn := typeutil.StaticCallee(p.TypesInfo, call)
	if fn == nil {
		return nil
	}
	return fn.Origin()
}

// isLibFunc reports whether fn is the library's package-level function of one
// of names.
func isLibFunc(fn *types.Func, names ...string) bool {
	if fn == nil || fn.Pkg() == nil || fn.Pkg().Path() != libPath {
		return false
	}
	if fn.Type().(*types.Signature).Recv() != nil {
		return false
	}
	for _, n := range names {
		if fn.Name() == n {
			return true
		}
	}
	return false
}

// isScopeMethod reports whether fn is a method of the library's Scope of one
// of names.
func isScopeMethod(fn *types.Func, names ...string) bool {
	if fn == nil || fn.Pkg() == nil || fn.Pkg().Path() != libPath {
		return false
	}
	recv := fn.Type().(*types.Signature).Recv()
	if recv == nil || !isScopeType(deref(recv.Type())) {
		return false
	}
	for _, n := range names {
		if fn.Name() == n {
			return true
		}
	}
	return false
}

// isScopeType reports whether t is the library's Scope type.
func isScopeType(t types.Type) bool {
	named, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := named.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == libPath && obj.Name() == "Scope"
}

// isScopePtr reports whether t is *scope.Scope.
func isScopePtr(t types.Type) bool {
	ptr, ok := types.Unalias(t).(*types.Pointer)
	return ok && isScopeType(ptr.Elem())
}

func deref(t types.Type) types.Type {
	if ptr, ok := types.Unalias(t).(*types.Pointer); ok {
		return ptr.Elem()
	}
	return t
}

// libCall returns call's callee when it is a direct call (parentheses
// allowed) of the library's function of one of names, or nil.
func (p *pass) libCall(e ast.Expr, names ...string) *ast.CallExpr {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || !isLibFunc(p.callee(call), names...) {
		return nil
	}
	return call
}

// receiver returns the receiver expression of a method call.
func receiver(call *ast.CallExpr) ast.Expr {
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		return sel.X
	}
	return nil
}

// infallible reports whether m, the manager given to scope.Enter or
// scope.With, cannot fail to enter: a *scope.Scope, or a direct call of a
// manager whose Enter never returns an error.
func (p *pass) infallible(m ast.Expr, names ...string) bool {
	m = ast.Unparen(m)
	if tv, ok := p.TypesInfo.Types[m]; ok && isScopePtr(tv.Type) {
		return true
	}
	return p.libCall(m, names...) != nil
}

// cannotFail are the managers whose Enter never returns an error.
var cannotFail = []string{"Lock", "RLock", "Value", "Closing", "Swap", "Suppress"}

// isNil reports whether e is the predeclared nil.
func (p *pass) isNil(e ast.Expr) bool {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return false
	}
	_, isNil := p.TypesInfo.Uses[id].(*types.Nil)
	return isNil
}

// varOf returns the variable that e (an identifier, parentheses allowed)
// denotes, or nil.
func (p *pass) varOf(e ast.Expr) *types.Var {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return nil
	}
	if v, ok := p.TypesInfo.Uses[id].(*types.Var); ok {
		return v
	}
	if v, ok := p.TypesInfo.Defs[id].(*types.Var); ok {
		return v
	}
	return nil
}

// addrOf returns v when e is &v, parentheses allowed.
func (p *pass) addrOf(e ast.Expr) *types.Var {
	u, ok := ast.Unparen(e).(*ast.UnaryExpr)
	if !ok || u.Op.String() != "&" {
		return nil
	}
	return p.varOf(u.X)
}
