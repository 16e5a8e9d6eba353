package scopecheck_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"go/types"

	"golang.org/x/tools/go/packages"
)

// TestStubMatchesLibrary compares the stub of the library in testdata with
// the real package in the repository root: every exported name, with its
// kind and type, and every exported method of every exported type, must be
// the same, so that the stub cannot drift from the API the analyzer judges.
func TestStubMatchesLibrary(t *testing.T) {
	real := load(t, &packages.Config{Dir: ".."}, "github.com/go-scope/scope")
	stubDir, err := filepath.Abs(filepath.Join("testdata", "src", "github.com", "go-scope", "scope"))
	if err != nil {
		t.Fatal(err)
	}
	gopath, _ := filepath.Abs("testdata")
	stub := load(t, &packages.Config{Dir: stubDir, Env: append(os.Environ(), "GO111MODULE=off", "GOPATH="+gopath)}, ".")

	want, got := api(real), api(stub)
	for name, sig := range want {
		if got[name] != sig {
			t.Errorf("%s: library has\n\t%s\nstub has\n\t%s", name, sig, got[name])
		}
	}
	for name, sig := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: the stub has %s, the library nothing", name, sig)
		}
	}
}

func load(t *testing.T, cfg *packages.Config, pattern string) *types.Package {
	t.Helper()
	cfg.Mode = packages.NeedName | packages.NeedTypes
	pkgs, err := packages.Load(cfg, pattern)
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		t.Fatalf("load %s: %v %v", pattern, err, pkgs)
	}
	return pkgs[0].Types
}

// api returns the exported API of pkg: each exported name (and Type.Method)
// with its kind and type, written relative to pkg.
func api(pkg *types.Package) map[string]string {
	qual := types.RelativeTo(pkg)
	out := map[string]string{}
	sc := pkg.Scope()
	names := sc.Names()
	sort.Strings(names)
	for _, name := range names {
		obj := sc.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch obj := obj.(type) {
		case *types.TypeName:
			out[name] = "type " + underlying(obj.Type().Underlying(), qual)
			if named, ok := obj.Type().(*types.Named); ok {
				if tp := named.TypeParams(); tp != nil {
					out[name] += " params " + tparams(tp, qual)
				}
				mset := types.NewMethodSet(types.NewPointer(named))
				for i := range mset.Len() {
					m := mset.At(i).Obj()
					if m.Exported() {
						out[name+"."+m.Name()] = "method " + types.TypeString(m.Type(), qual)
					}
				}
			}
		case *types.Func:
			out[name] = "func " + types.TypeString(obj.Type(), qual)
		case *types.Var:
			out[name] = "var " + types.TypeString(obj.Type(), qual)
		case *types.Const:
			out[name] = "const " + types.TypeString(obj.Type(), qual)
		}
	}
	return out
}

func tparams(tp *types.TypeParamList, qual types.Qualifier) string {
	s := ""
	for i := range tp.Len() {
		s += tp.At(i).Obj().Name() + " " + types.TypeString(tp.At(i).Constraint(), qual) + ";"
	}
	return s
}

// underlying writes a type's underlying type; of a struct, only the exported
// fields count.
func underlying(u types.Type, qual types.Qualifier) string {
	st, ok := u.(*types.Struct)
	if !ok {
		return types.TypeString(u, qual)
	}
	s := "struct{"
	for i := range st.NumFields() {
		if f := st.Field(i); f.Exported() {
			s += f.Name() + " " + types.TypeString(f.Type(), qual) + ";"
		}
	}
	return s + "}"
}
