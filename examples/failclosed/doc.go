// Package failclosed runs every shape of unwinding that the scopecheck
// analyzer reports (a deferred closure, a helper, defer s.Close()) over a
// real SQLite transaction, and checks that none commits for a function that
// failed: the library fails closed where the analyzer warns. It misuses the
// API on purpose, so CI leaves it out of the analyzer's run over the
// examples.
package failclosed
