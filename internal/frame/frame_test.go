package frame

import (
	"runtime"
	"sync"
	"testing"
)

// probe stands for the library's methods: walk for Unwind, direct for Close.
// Like them it is never inlined, and it records what the package said.
type probe struct{ got []Ending }

//go:noinline
func (p *probe) walk(errp *error) {
	_ = recover() // as Unwind does; a recovered panic is not resumed here
	p.got = append(p.got, Walk())
}

//go:noinline
func (p *probe) direct() error {
	_ = recover()
	p.got = append(p.got, Direct())
	return nil
}

// in runs fn on a goroutine of its own, recovering a panic that gets out.
func in(fn func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() { _ = recover() }()
		fn()
	}()
	wg.Wait()
}

type ending int

const (
	ret ending = iota
	pan
	gox
)

// end ends a function the way e says.
func end(e ending) {
	switch e {
	case pan:
		panic("boom")
	case gox:
		runtime.Goexit()
	}
}

var want = map[ending]Ending{ret: Returned, pan: Panicking, gox: Goexiting}

func helper(p *probe, errp *error) { p.walk(errp) }

type job struct{ p *probe }

func (j job) finishValue(errp *error) { j.p.walk(errp) }
func (j *job) finish(errp *error)     { j.p.walk(errp) }

func generic[T any](p *probe, e ending) (err error) {
	defer p.walk(&err)
	end(e)
	return nil
}

func recursive(p *probe, depth int, e ending) (err error) {
	if depth > 0 {
		return recursive(p, depth-1, e)
	}
	defer p.walk(&err)
	end(e)
	return nil
}

// TestWalk runs the shapes of Unwind's table with each ending.
func TestWalk(t *testing.T) {
	shapes := []struct {
		name string
		run  func(p *probe, e ending)
	}{
		{"deferred directly", func(p *probe, e ending) {
			var err error
			defer p.walk(&err)
			end(e)
		}},
		{"deferred in a loop (not open-coded)", func(p *probe, e ending) {
			var err error
			for range 1 {
				defer p.walk(&err)
			}
			end(e)
		}},
		{"more than 8 defers", func(p *probe, e ending) {
			var err error
			defer p.walk(&err)
			for range 9 {
				defer func() {}()
			}
			end(e)
		}},
		{"method value", func(p *probe, e ending) {
			var err error
			w := p.walk
			defer w(&err)
			end(e)
		}},
		{"generic function", func(p *probe, e ending) { _ = generic[int](p, e) }},
		{"recursive function", func(p *probe, e ending) { _ = recursive(p, 3, e) }},
		{"closure", func(p *probe, e ending) {
			var err error
			defer func() { p.walk(&err) }()
			end(e)
		}},
		{"closure in a closure", func(p *probe, e ending) {
			var err error
			defer func() { func() { p.walk(&err) }() }()
			end(e)
		}},
		{"helper function", func(p *probe, e ending) {
			var err error
			defer helper(p, &err)
			end(e)
		}},
		{"helper method, value receiver", func(p *probe, e ending) {
			var err error
			defer job{p}.finishValue(&err)
			end(e)
		}},
		{"helper method, pointer receiver", func(p *probe, e ending) {
			var err error
			j := &job{p}
			defer j.finish(&err)
			end(e)
		}},
		{"helper called from a closure", func(p *probe, e ending) {
			var err error
			defer func() { helper(p, &err) }()
			end(e)
		}},
	}
	for _, shape := range shapes {
		for _, e := range []ending{ret, pan, gox} {
			t.Run(shape.name+"/"+want[e].String(), func(t *testing.T) {
				p := &probe{}
				in(func() { shape.run(p, e) })
				if len(p.got) != 1 || p.got[0] != want[e] {
					t.Errorf("got %v; want [%v]", p.got, want[e])
				}
			})
		}
	}
}

// framePointers says whether this architecture has the frame-pointer walk.
const framePointers = runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64"

// TestWalkNested: a function that defers the call directly and returns
// normally while it runs as a deferred call of a panicking or Goexiting
// function returned, whatever goes on around it. Without frame pointers the
// package cannot see the wrapper and fails closed: it reports the panic or
// Goexit around.
func TestWalkNested(t *testing.T) {
	for _, e := range []ending{pan, gox} {
		t.Run(want[e].String(), func(t *testing.T) {
			w := Returned
			if !framePointers {
				w = want[e]
			}
			p := &probe{}
			in(func() {
				defer func() {
					_ = recover()
					var err error
					defer p.walk(&err)
				}()
				end(e)
			})
			if len(p.got) != 1 || p.got[0] != w {
				t.Errorf("got %v; want [%v]", p.got, w)
			}
		})
	}
}

// TestWalkPlainCall: not deferred at all.
func TestWalkPlainCall(t *testing.T) {
	p := &probe{}
	var err error
	p.walk(&err)
	if len(p.got) != 1 || p.got[0] != Returned {
		t.Errorf("got %v; want [Returned]", p.got)
	}
}

func TestDirect(t *testing.T) {
	shapes := []struct {
		name string
		run  func(p *probe, e ending)
		want func(e ending) Ending
	}{
		{"deferred directly", func(p *probe, e ending) {
			defer p.direct()
			end(e)
		}, func(e ending) Ending { return want[e] }},
		{"deferred method value", func(p *probe, e ending) {
			d := p.direct
			defer d()
			end(e)
		}, func(e ending) Ending { return want[e] }},
		{"called from a deferred closure", func(p *probe, e ending) {
			defer func() { _ = p.direct() }()
			end(e)
		}, func(ending) Ending { return Returned }},
		{"plain call", func(p *probe, e ending) {
			_ = p.direct()
			end(e)
		}, func(ending) Ending { return Returned }},
	}
	for _, shape := range shapes {
		for _, e := range []ending{ret, pan, gox} {
			t.Run(shape.name+"/"+want[e].String(), func(t *testing.T) {
				p := &probe{}
				in(func() { shape.run(p, e) })
				if w := shape.want(e); len(p.got) != 1 || p.got[0] != w {
					t.Errorf("got %v; want [%v]", p.got, w)
				}
			})
		}
	}
}

// TestWalkDeepStack: a deferred call found further up than one batch.
func TestWalkDeepStack(t *testing.T) {
	p := &probe{}
	var deep func(n int, errp *error)
	deep = func(n int, errp *error) {
		if n == 0 {
			p.walk(errp)
			return
		}
		deep(n-1, errp)
	}
	in(func() {
		var err error
		defer func() { deep(200, &err) }()
		panic("boom")
	})
	if len(p.got) != 1 || p.got[0] != Panicking {
		t.Errorf("got %v; want [Panicking]", p.got)
	}
}

// TestNoFallback pins that on amd64 and arm64 the shapes above are read from
// the frame-pointer chain: if a Go release changes the wrappers' names or who
// calls deferred functions, this fails.
func TestNoFallback(t *testing.T) {
	if !framePointers {
		t.Skipf("%s has no frame-pointer walk: the package always falls back", runtime.GOARCH)
	}
	before := Fallbacks()
	TestWalk(t)
	TestWalkNested(t)
	TestDirect(t)
	TestWalkDeepStack(t)
	if n := Fallbacks() - before; n != 0 {
		t.Errorf("fell back to runtime.Callers %d times", n)
	}
}

func TestIsDeferwrap(t *testing.T) {
	for name, want := range map[string]bool{
		"main.f.deferwrap1":          true,
		"pkg/x.(*T).M.deferwrap12":   true,
		"pkg.f.func2.deferwrap1":     true,
		"pkg.f.deferwrap":            false,
		"pkg.f.func1":                false,
		"pkg.deferwrap1x":            false,
		"pkg.(*Scope).Unwind":        false,
		"deferwrap1":                 false,
		"pkg.f[...].deferwrap3":      true,
		"pkg.f.gowrap1":              false,
		"runtime.deferreturn":        false,
		"pkg.(*Scope).Close-fm":      false,
		"pkg.T.deferwrap1.deferwrap": false,
	} {
		if got := isDeferwrap(name); got != want {
			t.Errorf("isDeferwrap(%q) = %v; want %v", name, got, want)
		}
	}
}
