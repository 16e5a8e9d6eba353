// Package sqltx holds the tests of scope.Tx against a real SQLite database
// (modernc.org/sqlite, pure Go). They live in the examples module so that the
// library's own go.mod stays free of database drivers.
package sqltx
