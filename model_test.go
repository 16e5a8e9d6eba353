package scope_test

// Model-based testing: bytes decode into a random program over the public API
// (nested With and Scope blocks; Func, Generator, Closing, Suppress and Scope
// managers; Push, Defer, Move; exits that return errors, return the outcome,
// append to it, Replace it, recover a panic into an error, panic, call
// Goexit, or register a further exit while unwinding). The program runs twice:
// for real, and in a small reference model written straight from the rules in
// the package documentation. Their event logs and results must agree exactly.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/multierr"

	"github.com/go-scope/scope"
)

// ---- programs ----

type program struct {
	top    *block // runs in a function with defer s.Unwind(&err)
	atoms  int    // error atoms used, numbered from 0
	panics int    // panic values used
	goexit bool   // the program may call Goexit; then it never panics
}

type block struct {
	steps []step
	end   ending
}

type stepKind int

const (
	stWith  stepKind = iota // With(mgr, inner)
	stEnter                 // Enter(s, mgr), in a scope body
	stPush                  // s.Push(exit)
	stDefer                 // s.Defer(exit), which does not see the outcome
	stMove                  // t := s.Move(); Enter(s, t)
)

type step struct {
	kind  stepKind
	mgr   *mgrSpec
	inner *block
	exit  *exitSpec
	id    int // event id of a Push or Defer exit
}

type mgrKind int

const (
	mFunc mgrKind = iota
	mGen
	mClosing
	mSuppress
	mScope // With only: the inner block is a scope body
)

type mgrSpec struct {
	kind     mgrKind
	id       int
	failAtom int // Enter fails with this atom, if >= 0 (Func, Generator); -2: a Generator that returns nil
	exit     *exitSpec
	suppress []int // Suppress's target atoms
	inScope  bool  // entered into a scope: may register into it
}

type exitKind int

const (
	xNil exitKind = iota
	xErr
	xSame   // return err
	xAppend // return multierr.Append(err, atom)
	xReplaceNil
	xReplaceErr
	xRecover // a panic in the outcome becomes an error; other errors kept
	xPanic
	xGoexit
	xRegister // register nested in the owning scope, return nil
)

type exitSpec struct {
	kind   exitKind
	atom   int
	panic  int // panic value number; kind of value is panic % 3
	nested *exitSpec
	id     int // event id of a registered exit
}

type endKind int

const (
	endNil endKind = iota
	endErr
	endPanic
	endGoexit
)

type ending struct {
	kind  endKind
	atom  int
	panic int
}

// ---- decoding ----

type decoder struct {
	data []byte
	p    *program
	ids  int
}

func (d *decoder) n(k int) int {
	if len(d.data) == 0 {
		return 0
	}
	b := int(d.data[0])
	d.data = d.data[1:]
	return b % k
}

func (d *decoder) atom() int  { d.p.atoms++; return d.p.atoms - 1 }
func (d *decoder) panic() int { d.p.panics++; return d.p.panics - 1 }
func (d *decoder) id() int    { d.ids++; return d.ids }

func decode(data []byte) *program {
	p := &program{}
	d := &decoder{data: data, p: p}
	p.goexit = d.n(4) == 0
	p.top = d.block(true, 0)
	return p
}

func (d *decoder) block(scoped bool, depth int) *block {
	b := &block{}
	for range d.n(5) {
		b.steps = append(b.steps, d.step(scoped, depth))
	}
	switch d.n(6) {
	case 0, 1, 2:
		b.end = ending{kind: endNil}
	case 3:
		b.end = ending{kind: endErr, atom: d.atom()}
	default:
		if d.p.goexit {
			b.end = ending{kind: endGoexit}
		} else {
			b.end = ending{kind: endPanic, panic: d.panic()}
		}
	}
	return b
}

func (d *decoder) step(scoped bool, depth int) step {
	k := stWith
	if scoped {
		k = stepKind(d.n(5))
	}
	if k == stWith && depth >= 3 {
		k = stPush
		if !scoped {
			return step{kind: stWith, mgr: &mgrSpec{kind: mSuppress, failAtom: -1, suppress: []int{d.n(8)}}, inner: &block{}}
		}
	}
	switch k {
	case stWith:
		m := d.mgr(false)
		return step{kind: stWith, mgr: m, inner: d.block(m.kind == mScope, depth+1)}
	case stEnter:
		m := d.mgr(true)
		return step{kind: stEnter, mgr: m}
	case stPush:
		return step{kind: stPush, exit: d.exit(true, true), id: d.id()}
	case stDefer:
		return step{kind: stDefer, exit: d.exit(false, true), id: d.id()}
	}
	return step{kind: stMove}
}

func (d *decoder) mgr(inScope bool) *mgrSpec {
	m := &mgrSpec{id: d.id(), failAtom: -1, inScope: inScope}
	kinds := []mgrKind{mFunc, mGen, mClosing, mSuppress, mScope}
	if inScope {
		kinds = kinds[:4]
	}
	m.kind = kinds[d.n(len(kinds))]
	switch m.kind {
	case mFunc, mGen:
		if d.n(8) == 0 {
			m.failAtom = d.atom()
			if m.kind == mGen && d.n(2) == 0 {
				m.failAtom = -2
			}
		}
		m.exit = d.exit(true, inScope)
	case mClosing:
		m.exit = d.exit(false, inScope)
	case mSuppress:
		for range 1 + d.n(3) {
			m.suppress = append(m.suppress, d.n(12))
		}
	}
	return m
}

// exit decodes an exit behaviour. seesOutcome is false for Defer and Closing,
// which return without looking at the outcome; canRegister when the exit has
// a scope to register into.
func (d *decoder) exit(seesOutcome, canRegister bool) *exitSpec {
	x := &exitSpec{kind: exitKind(d.n(10))}
	switch x.kind {
	case xErr, xAppend, xReplaceErr, xRecover:
		x.atom = d.atom()
	case xPanic:
		if d.p.goexit {
			x.kind = xNil
		} else {
			x.panic = d.panic()
		}
	case xGoexit:
		if !d.p.goexit {
			x.kind = xErr
			x.atom = d.atom()
		}
	case xRegister:
		if !canRegister {
			x.kind = xNil
			break
		}
		x.id = d.id()
		x.nested = &exitSpec{kind: exitKind(d.n(9))} // no further registration
		switch x.nested.kind {
		case xErr, xAppend, xReplaceErr, xRecover:
			x.nested.atom = d.atom()
		case xPanic:
			if d.p.goexit {
				x.nested.kind = xNil
			} else {
				x.nested.panic = d.panic()
			}
		case xGoexit:
			if !d.p.goexit {
				x.nested.kind = xNil
			}
		}
	}
	if !seesOutcome && (x.kind == xSame || x.kind == xRecover) {
		x.kind = xNil
	}
	return x
}

// ---- the real run ----

var (
	atomErrs  [256]error
	panicErrs [64]error
)

func init() {
	for i := range atomErrs {
		atomErrs[i] = fmt.Errorf("e%d", i)
	}
	for i := range panicErrs {
		panicErrs[i] = fmt.Errorf("panic error %d", i)
	}
}

// panicValue is the value panic number k panics with: a string, an error, or
// nil (which arrives as a *runtime.PanicNilError).
func panicValue(k int) any {
	switch k % 3 {
	case 0:
		return fmt.Sprintf("panic %d", k)
	case 1:
		return panicErrs[k%len(panicErrs)]
	}
	return nil
}

type observation struct {
	returned, panicked bool
	err                error
	value              any
	log                []string
	secondClose        error
}

type runner struct{ log []string }

func (r *runner) add(format string, args ...any) { r.log = append(r.log, fmt.Sprintf(format, args...)) }

func run(p *program) observation {
	var (
		r   runner
		obs observation
		top scope.Scope
		wg  sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if v := recover(); v != nil {
				obs.panicked, obs.value = true, v
			}
		}()
		obs.err = func() (err error) {
			defer top.Unwind(&err)
			return r.scopeBody(&top, p.top)
		}()
		obs.returned = true
	}()
	wg.Wait()
	n := len(r.log)
	obs.secondClose = top.Close()
	if len(r.log) != n {
		obs.secondClose = fmt.Errorf("second Close ran exits: %v", r.log[n:])
	}
	obs.log = r.log
	return obs
}

func (r *runner) scopeBody(s *scope.Scope, b *block) error {
	for _, st := range b.steps {
		switch st.kind {
		case stWith:
			if err := r.with(st); err != nil {
				return err
			}
		case stEnter:
			var err error
			switch m := r.manager(st.mgr, s).(type) {
			case scope.Manager[int]:
				_, err = scope.Enter(s, m)
			case scope.Manager[*closer]:
				_, err = scope.Enter(s, m)
			case scope.Manager[struct{}]:
				_, err = scope.Enter(s, m)
			}
			if err != nil {
				return err
			}
		case stPush:
			s.Push(r.exitFunc(st.id, st.exit, s))
		case stDefer:
			id, x := st.id, st.exit
			s.Defer(func() error {
				r.add("exit %d", id)
				return r.apply(x, nil, s)
			})
		case stMove:
			_, _ = scope.Enter(s, s.Move())
		}
	}
	return r.end(b.end)
}

func (r *runner) end(e ending) error {
	switch e.kind {
	case endErr:
		return atomErrs[e.atom]
	case endPanic:
		panic(panicValue(e.panic))
	case endGoexit:
		runtime.Goexit()
	}
	return nil
}

func (r *runner) with(st step) error {
	switch m := r.manager(st.mgr, nil).(type) {
	case scope.Manager[int]:
		return scope.With(m, func(int) error { return r.scopeBody(nil, st.inner) })
	case scope.Manager[*closer]:
		return scope.With(m, func(*closer) error { return r.scopeBody(nil, st.inner) })
	case scope.Manager[struct{}]:
		return scope.With(m, func(struct{}) error { return r.scopeBody(nil, st.inner) })
	case scope.Manager[*scope.Scope]:
		return scope.With(m, func(s *scope.Scope) error { return r.scopeBody(s, st.inner) })
	}
	panic("unreachable")
}

func (r *runner) exitFunc(id int, x *exitSpec, owner *scope.Scope) func(error) error {
	return func(err error) error {
		r.add("exit %d", id)
		return r.apply(x, err, owner)
	}
}

type closer struct{ close func() error }

func (c *closer) Close() error { return c.close() }

func (r *runner) manager(m *mgrSpec, owner *scope.Scope) any {
	switch m.kind {
	case mFunc:
		return scope.Func(func() (int, error) {
			if m.failAtom >= 0 {
				r.add("enter %d failed", m.id)
				return 0, atomErrs[m.failAtom]
			}
			r.add("enter %d", m.id)
			return m.id, nil
		}, func(_ int, err error) error {
			r.add("exit %d", m.id)
			return r.apply(m.exit, err, owner)
		})
	case mGen:
		return scope.Generator(func(yield func(int) error) error {
			switch {
			case m.failAtom >= 0:
				r.add("enter %d failed", m.id)
				return atomErrs[m.failAtom]
			case m.failAtom == -2:
				r.add("enter %d failed", m.id)
				return nil
			}
			r.add("enter %d", m.id)
			// Deferred, so that it shows even when a Goexit in the block
			// skips the code after yield (With's callback mode).
			defer r.add("exit %d", m.id)
			err := yield(m.id)
			return r.apply(m.exit, err, owner)
		})
	case mClosing:
		r.add("enter %d", m.id)
		return scope.Closing(&closer{close: func() error {
			r.add("exit %d", m.id)
			return r.apply(m.exit, nil, owner)
		}})
	case mSuppress:
		targets := make([]error, len(m.suppress))
		for i, a := range m.suppress {
			targets[i] = atomErrs[a]
		}
		return scope.Suppress(targets...)
	}
	return new(scope.Scope)
}

func (r *runner) apply(x *exitSpec, err error, owner *scope.Scope) error {
	switch x.kind {
	case xErr:
		return atomErrs[x.atom]
	case xSame:
		return err
	case xAppend:
		return multierr.Append(err, atomErrs[x.atom])
	case xReplaceNil:
		return scope.Replace(nil)
	case xReplaceErr:
		return scope.Replace(atomErrs[x.atom])
	case xRecover:
		var (
			kept  []error
			found bool
		)
		for _, e := range multierr.Errors(err) {
			if _, ok := e.(*scope.PanicError); ok {
				found = true
				continue
			}
			kept = append(kept, e)
		}
		if !found {
			return nil
		}
		return scope.Replace(multierr.Combine(append(kept, atomErrs[x.atom])...))
	case xPanic:
		panic(panicValue(x.panic))
	case xGoexit:
		runtime.Goexit()
	case xRegister:
		owner.Push(r.exitFunc(x.id, x.nested, owner))
	}
	return nil
}

// ---- the model ----

type atomKind int

const (
	aErr atomKind = iota
	aPanic
	aGoexit
	aNoYield
)

type atom struct {
	kind atomKind
	n    int // error atom number, or panic value number
	seq  int // for a panic: which occurrence
}

type mentry struct {
	id     int // event id; 0 for Suppress
	exit   *exitSpec
	defers bool // does not see the outcome (Defer, Closing)
	sup    []int
	nested *mscope // a moved scope entered as a manager
	owner  *mscope
}

type mscope struct{ stack []*mentry }

type mresult struct {
	atoms  []atom
	panic  *atom
	goexit bool
}

type model struct {
	log    []string
	panics int
}

func (m *model) add(format string, args ...any) { m.log = append(m.log, fmt.Sprintf(format, args...)) }

func (m *model) newPanic(n int) atom { m.panics++; return atom{kind: aPanic, n: n, seq: m.panics} }

func outcomeOf(r mresult) []atom {
	switch {
	case r.panic != nil:
		return []atom{*r.panic}
	case r.goexit:
		return []atom{{kind: aGoexit}}
	}
	return r.atoms
}

func (m *model) program(p *program) mresult {
	sc := &mscope{}
	body := m.block(p.top, sc)
	final, raised, goexit := m.unwind(sc, outcomeOf(body))
	switch {
	case raised != nil:
		return mresult{panic: raised, goexit: body.goexit}
	case body.panic != nil && slices.Contains(final, *body.panic):
		return body
	case goexit || body.goexit:
		return mresult{goexit: true}
	}
	return mresult{atoms: final}
}

func (m *model) block(b *block, sc *mscope) mresult {
	for _, st := range b.steps {
		switch st.kind {
		case stWith:
			if r := m.with(st); r.panic != nil || r.goexit || len(r.atoms) > 0 {
				return r
			}
		case stEnter:
			if r, ok := m.enterFails(st.mgr); ok {
				return r
			}
			e := &mentry{id: st.mgr.id, exit: st.mgr.exit, owner: sc, sup: st.mgr.suppress}
			if st.mgr.kind == mClosing {
				e.defers = true
			}
			switch st.mgr.kind {
			case mSuppress:
				e.id = 0
			case mFunc, mGen:
				m.add("enter %d", st.mgr.id)
			}
			sc.stack = append(sc.stack, e)
		case stPush:
			sc.stack = append(sc.stack, &mentry{id: st.id, exit: st.exit, owner: sc})
		case stDefer:
			sc.stack = append(sc.stack, &mentry{id: st.id, exit: st.exit, owner: sc, defers: true})
		case stMove:
			moved := &mscope{stack: sc.stack}
			sc.stack = []*mentry{{nested: moved}}
		}
	}
	switch b.end.kind {
	case endErr:
		return mresult{atoms: []atom{{kind: aErr, n: b.end.atom}}}
	case endPanic:
		a := m.newPanic(b.end.panic)
		return mresult{panic: &a}
	case endGoexit:
		return mresult{goexit: true}
	}
	return mresult{}
}

func (m *model) enterFails(g *mgrSpec) (mresult, bool) {
	if g.kind == mClosing {
		m.add("enter %d", g.id) // Closing's value is made before Enter
		return mresult{}, false
	}
	if g.kind != mFunc && g.kind != mGen {
		return mresult{}, false
	}
	switch {
	case g.failAtom >= 0:
		m.add("enter %d failed", g.id)
		return mresult{atoms: []atom{{kind: aErr, n: g.failAtom}}}, true
	case g.failAtom == -2:
		m.add("enter %d failed", g.id)
		return mresult{atoms: []atom{{kind: aNoYield}}}, true
	}
	return mresult{}, false
}

func (m *model) with(st step) mresult {
	g := st.mgr
	if r, ok := m.enterFails(g); ok {
		return r
	}
	if g.kind == mFunc || g.kind == mGen {
		m.add("enter %d", g.id)
	}
	var (
		body  mresult
		final []atom
	)
	if g.kind == mScope {
		sc := &mscope{}
		body = m.block(st.inner, sc)
		f, raised, goexit := m.unwind(sc, outcomeOf(body))
		switch {
		case raised != nil:
			return mresult{panic: raised, goexit: body.goexit}
		case goexit:
			return mresult{goexit: true}
		}
		final = f // a Scope's final outcome replaces the block's as is
	} else {
		body = m.block(st.inner, nil)
		if g.kind == mGen && body.goexit {
			// Callback mode: Goexit unwinds through gen; only its
			// deferred calls run.
			m.add("exit %d", g.id)
			return mresult{goexit: true}
		}
		e := &mentry{id: g.id, exit: g.exit, sup: g.suppress, defers: g.kind == mClosing}
		if g.kind == mSuppress {
			e.id = 0
		}
		f, raised, goexit := m.exit(e, outcomeOf(body))
		switch {
		case raised != nil:
			return mresult{panic: raised, goexit: body.goexit}
		case goexit:
			return mresult{goexit: true}
		}
		final = f
	}
	switch {
	case body.panic != nil && slices.Contains(final, *body.panic):
		return body
	case body.goexit:
		return mresult{goexit: true}
	}
	return mresult{atoms: final}
}

// exit runs one exit with outcome and returns the new outcome, or the panic
// or Goexit the exit raised.
func (m *model) exit(e *mentry, outcome []atom) (next []atom, raised *atom, goexit bool) {
	if e.id != 0 {
		m.add("exit %d", e.id)
	}
	if e.sup != nil {
		return suppress(outcome, e.sup), nil, false
	}
	in := outcome
	if e.defers {
		in = nil
	}
	x := e.exit
	var (
		r       []atom
		replace bool
	)
	switch x.kind {
	case xNil:
		return outcome, nil, false
	case xErr:
		r = []atom{{kind: aErr, n: x.atom}}
	case xSame:
		r = in
	case xAppend:
		r = append(slices.Clone(in), atom{kind: aErr, n: x.atom})
	case xReplaceNil:
		return nil, nil, false
	case xReplaceErr:
		return []atom{{kind: aErr, n: x.atom}}, nil, false
	case xRecover:
		kept := slices.DeleteFunc(slices.Clone(in), func(a atom) bool { return a.kind == aPanic })
		if len(kept) == len(in) {
			return outcome, nil, false
		}
		r, replace = append(kept, atom{kind: aErr, n: x.atom}), true
	case xPanic:
		a := m.newPanic(x.panic)
		return append(slices.Clone(outcome), a), &a, false
	case xGoexit:
		return append(slices.Clone(outcome), atom{kind: aGoexit}), nil, true
	case xRegister:
		e.owner.stack = append(e.owner.stack, &mentry{id: x.id, exit: x.nested, owner: e.owner})
		return outcome, nil, false
	}
	// The rules.
	switch {
	case len(r) == 0:
		return outcome, nil, false
	case replace:
		return r, nil, false
	case len(outcome) > 0 && containsAll(r, outcome):
		return r, nil, false
	}
	return append(slices.Clone(outcome), r...), nil, false
}

func containsAll(r, outcome []atom) bool {
	for _, a := range outcome {
		if !slices.Contains(r, a) {
			return false
		}
	}
	return true
}

func suppress(outcome []atom, targets []int) []atom {
	return slices.DeleteFunc(slices.Clone(outcome), func(a atom) bool {
		return a.kind == aErr && slices.Contains(targets, a.n)
	})
}

// unwind runs a scope's exits, newest first, and returns the final outcome,
// the panic it resumes (the earliest panic in the final outcome, if one of its
// own exits raised it), and whether an exit called Goexit.
func (m *model) unwind(sc *mscope, outcome []atom) (final []atom, resumed *atom, goexit bool) {
	var raised []atom
	for len(sc.stack) > 0 {
		e := sc.stack[len(sc.stack)-1]
		sc.stack = sc.stack[:len(sc.stack)-1]
		if e.nested != nil {
			f, p, g := m.unwind(e.nested, outcome)
			if g {
				outcome, goexit = append(outcome, atom{kind: aGoexit}), true
				continue
			}
			if p != nil {
				raised = append(raised, *p)
			}
			outcome = f
			continue
		}
		next, p, g := m.exit(e, outcome)
		if p != nil {
			raised = append(raised, *p)
		}
		outcome, goexit = next, goexit || g
	}
	for _, a := range outcome {
		if a.kind == aPanic {
			if slices.Contains(raised, a) {
				return outcome, &a, goexit
			}
			break
		}
	}
	return outcome, nil, goexit
}

// ---- comparing ----

// atomsOf maps the real final outcome back to atoms, with the panic values
// it holds in order, or says why it cannot.
func atomsOf(err error) ([]atom, []any, error) {
	var (
		out    []atom
		values []any
	)
	for _, e := range multierr.Errors(err) {
		if pe, ok := e.(*scope.PanicError); ok {
			out = append(out, atom{kind: aPanic})
			values = append(values, pe.Value)
			continue
		}
		switch i := slices.Index(atomErrs[:], e); {
		case e == scope.ErrGoexit:
			out = append(out, atom{kind: aGoexit})
		case e == scope.ErrNoYield:
			out = append(out, atom{kind: aNoYield})
		case i >= 0:
			out = append(out, atom{kind: aErr, n: i})
		default:
			return nil, nil, fmt.Errorf("unknown error %#v in outcome", e)
		}
	}
	return out, values, nil
}

// sameAtoms reports whether the real outcome got, with its panic values,
// is the model's want.
func sameAtoms(got []atom, values []any, want []atom) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.kind != w.kind || (g.kind == aErr && g.n != w.n) {
			return false
		}
		if g.kind == aPanic {
			if !samePanic(values[0], w) {
				return false
			}
			values = values[1:]
		}
	}
	return true
}

func samePanic(v any, a atom) bool {
	want := panicValue(a.n)
	if want == nil {
		var pn *runtime.PanicNilError
		err, ok := v.(error)
		return ok && errors.As(err, &pn)
	}
	return v == want
}

// check runs p both ways and returns a description of the first
// disagreement, or "".
func check(p *program) string {
	obs := run(p)
	var m model
	want := m.program(p)
	if !slices.Equal(obs.log, m.log) {
		return fmt.Sprintf("event logs differ:\n real:  %v\n model: %v", obs.log, m.log)
	}
	if obs.secondClose != nil {
		return fmt.Sprintf("second Close = %v; want nil", obs.secondClose)
	}
	if msg := checkNesting(obs.log); msg != "" {
		return msg
	}
	switch {
	case want.panic != nil:
		if !obs.panicked || !samePanic(obs.value, *want.panic) {
			return fmt.Sprintf("want panic %v; got returned=%v panicked=%v value=%v err=%v",
				panicValue(want.panic.n), obs.returned, obs.panicked, obs.value, obs.err)
		}
	case want.goexit:
		if obs.returned || obs.panicked {
			return fmt.Sprintf("want Goexit; got returned=%v panicked=%v (%v)", obs.returned, obs.panicked, obs.value)
		}
	default:
		if !obs.returned {
			return fmt.Sprintf("want return of %v; got panicked=%v value=%v", want.atoms, obs.panicked, obs.value)
		}
		got, values, err := atomsOf(obs.err)
		if err != nil {
			return err.Error()
		}
		if !sameAtoms(got, values, want.atoms) {
			return fmt.Sprintf("final outcome %q = %v; model says %v", obs.err, got, want.atoms)
		}
		for _, a := range want.atoms {
			if a.kind == aErr && count(obs.err, atomErrs[a.n]) != 1 {
				return fmt.Sprintf("%v occurs %d times in %q", atomErrs[a.n], count(obs.err, atomErrs[a.n]), obs.err)
			}
		}
	}
	return ""
}

// checkNesting checks the invariants that hold whatever the model says: every
// manager entered is exited exactly once, in last-in-first-out order.
func checkNesting(log []string) string {
	var open []string
	for _, ev := range log {
		id, ok := strings.CutPrefix(ev, "enter ")
		if ok && !strings.HasSuffix(id, " failed") {
			open = append(open, id)
			continue
		}
		id, ok = strings.CutPrefix(ev, "exit ")
		if !ok {
			continue
		}
		if i := slices.Index(open, id); i >= 0 {
			if i != len(open)-1 {
				return fmt.Sprintf("exit %s before exit %s: not LIFO (%v)", id, open[len(open)-1], log)
			}
			open = open[:i]
		}
	}
	if len(open) > 0 {
		return fmt.Sprintf("entered and never exited: %v (%v)", open, log)
	}
	return ""
}

func (p *program) String() string {
	var b strings.Builder
	var blk func(*block, string)
	blk = func(bl *block, indent string) {
		for _, st := range bl.steps {
			switch st.kind {
			case stWith:
				fmt.Fprintf(&b, "%sWith %+v {\n", indent, *st.mgr)
				blk(st.inner, indent+"  ")
				fmt.Fprintf(&b, "%s}\n", indent)
			case stEnter:
				fmt.Fprintf(&b, "%sEnter %+v exit=%+v\n", indent, *st.mgr, st.mgr.exit)
			case stPush, stDefer:
				fmt.Fprintf(&b, "%s%v %d %+v nested=%+v\n", indent, map[stepKind]string{stPush: "Push", stDefer: "Defer"}[st.kind], st.id, *st.exit, st.exit.nested)
			case stMove:
				fmt.Fprintf(&b, "%sMove\n", indent)
			}
		}
		fmt.Fprintf(&b, "%send %+v\n", indent, bl.end)
	}
	blk(p.top, "")
	return b.String()
}

// ---- tests ----

// TestModel runs programs generated from a fixed seed, the same ones on every
// run: enough to cover every combination of the grammar many times over.
func TestModel(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64)
	for i := range n {
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		p := decode(buf)
		if msg := check(p); msg != "" {
			t.Fatalf("program %d (input %x):\n%s\n%s", i, buf, p, msg)
		}
		var m model
		switch r := m.program(decode(buf)); {
		case r.panic != nil:
			tally.panicked++
		case r.goexit:
			tally.goexited++
		case len(r.atoms) > 0:
			tally.failed++
		default:
			tally.succeeded++
		}
		tally.events += len(m.log)
	}
	t.Logf("%d programs: %d returned nil, %d returned errors, %d panicked, %d called Goexit; %d enter and exit events",
		n, tally.succeeded, tally.failed, tally.panicked, tally.goexited, tally.events)
}

var tally struct{ succeeded, failed, panicked, goexited, events int }

func FuzzModel(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := decode(data)
		if msg := check(p); msg != "" {
			t.Fatalf("%s\n%s", p, msg)
		}
	})
}
