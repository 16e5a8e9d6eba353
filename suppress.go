package scope

import (
	"errors"
	"reflect"

	"go.uber.org/multierr"
)

// Suppress returns a Manager whose Exit suppresses the outcome when it matches
// one of targets, as errors.Is would: Python's contextlib.suppress.
//
// On a combined outcome (an error with an Unwrap() []error method, such as
// multierr's and errors.Join's, nested or not), Suppress removes the matching
// parts and lets the rest through in their order, as Python 3.12's suppress
// splits exception groups. A combination wrapped in another error (fmt.Errorf
// with %w) cannot be split without losing the wrapper: it is suppressed whole
// when every one of its parts matches, and kept whole otherwise.
//
// Suppress never stops a panic or a Goexit: a [*PanicError] or [ErrGoexit]
// never matches, even when the panic value does. Suppress() with no targets
// suppresses nothing; nil targets are ignored. The Manager holds no state and
// may be used again, nested, and by many goroutines at once.
func Suppress(targets ...error) Manager[struct{}] {
	s := &suppressor{}
	for _, t := range targets {
		if t != nil {
			s.targets = append(s.targets, target{err: t, comparable: reflect.TypeOf(t).Comparable()})
		}
	}
	return s
}

type suppressor struct{ targets []target }

type target struct {
	err        error
	comparable bool
}

func (s *suppressor) Enter() (struct{}, error) { return struct{}{}, nil }

func (s *suppressor) Exit(err error) error {
	if err == nil || len(s.targets) == 0 {
		return nil
	}
	rest, changed := s.filter(err)
	if !changed {
		return nil
	}
	return Replace(rest)
}

// filter returns err without its matching parts, and whether it removed any.
func (s *suppressor) filter(err error) (error, bool) {
	ps := parts(err)
	if ps == nil {
		if s.matches(err) {
			return nil, true
		}
		return err, false
	}
	var (
		kept    []error
		changed bool
	)
	for _, part := range ps {
		if part == nil {
			continue
		}
		rest, c := s.filter(part)
		changed = changed || c
		if rest != nil {
			kept = append(kept, rest)
		}
	}
	if !changed {
		return err, false
	}
	return multierr.Combine(kept...), true
}

// matches reports whether err matches a target at some link of its chain
// before any panic or Goexit, or, when the chain reaches a combination, whether
// every part of it matches. It is errors.Is with those two stops.
func (s *suppressor) matches(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if _, ok := err.(*PanicError); ok || err == ErrGoexit {
			return false
		}
		if s.matchesLink(err) {
			return true
		}
		if ps := parts(err); ps != nil {
			return s.matchesAll(ps)
		}
	}
	return false
}

// matchesLink reports whether err itself, not what it wraps, is a target.
func (s *suppressor) matchesLink(err error) bool {
	for _, t := range s.targets {
		if t.comparable && err == t.err {
			return true
		}
		if x, ok := err.(interface{ Is(error) bool }); ok && x.Is(t.err) {
			return true
		}
	}
	return false
}

// matchesAll reports whether every part of a combination matches, and there
// is one.
func (s *suppressor) matchesAll(ps []error) bool {
	matched := false
	for _, part := range ps {
		if part == nil {
			continue
		}
		if !s.matches(part) {
			return false
		}
		matched = true
	}
	return matched
}
