package scope

import (
	"errors"
	"fmt"
)

// ErrGoexit is the outcome an exit sees when the block called [runtime.Goexit],
// for example through t.FailNow or t.SkipNow. Goexit cannot be stopped: after
// the exits have run, the goroutine goes on exiting whatever they returned.
var ErrGoexit = errors.New("scope: block called runtime.Goexit")

// ErrNoYield is returned by Enter (and so by [With]) when a [Generator]'s
// function returned nil without calling yield.
var ErrNoYield = errors.New("scope: generator returned without calling yield")

// ErrExtraYield is returned by a [Generator]'s yield when it is called more than
// once; the final outcome of the block then includes it.
var ErrExtraYield = errors.New("scope: generator called yield more than once")

// PanicError is the outcome an exit sees when the block panicked.
//
// Exits receive it as their error argument; [With] and [Scope.Unwind] panic
// again with Value itself (never the PanicError) unless an exit replaced the
// outcome with [Replace].
type PanicError struct {
	Value any    // the value the block panicked with
	Stack []byte // the panicking goroutine's stack, taken when the panic was recovered
}

// Error returns "panic: " followed by the panic value.
func (p *PanicError) Error() string {
	return fmt.Sprintf("panic: %v", p.Value)
}

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As reach it (panic(nil) arrives as a *runtime.PanicNilError), and nil
// otherwise.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Replace returns an exit result that replaces the block's outcome with err; a
// nil err suppresses the outcome. It is the only way for an exit to suppress or
// substitute an error, like __exit__ returning True in Python.
//
// The result means something only when an exit (a [Manager]'s Exit, a [Func]
// exit, a [Generator]'s function, or an exit in a [Scope]) returns it as is. A
// block that returns it gets an error saying so; see [With].
func Replace(err error) error {
	if err == nil {
		return suppressAll
	}
	return &replacement{err: err}
}

// suppressAll is Replace(nil), allocated once: Suppress returns it on every
// match.
var suppressAll = &replacement{}

// replacement is the marker made by Replace.
type replacement struct{ err error }

// Error says the marker escaped from where it means something; an exit's
// result that reaches the rules is never shown to users.
func (r *replacement) Error() string {
	return describe("scope: Replace(nil) used outside an exit's result", "scope: Replace used outside an exit's result: ", r.err)
}

func (r *replacement) Unwrap() error { return r.err }

// misplaced is the outcome of a block that returned a Replace marker: a clear
// error that still reaches the replacement error through Unwrap, and that no
// exit can mistake for a marker of its own.
type misplaced struct{ err error }

func (m *misplaced) Error() string {
	return describe("scope: block returned Replace(nil); only an exit may replace the outcome",
		"scope: block returned Replace(err); only an exit may replace the outcome: ", m.err)
}

// describe is ifNil when err is nil, and prefix followed by err's text
// otherwise.
func describe(ifNil, prefix string, err error) string {
	if err == nil {
		return ifNil
	}
	return prefix + err.Error()
}

func (m *misplaced) Unwrap() error { return m.err }
