package unwindresult

import (
	"context"
	"database/sql"
	"errors"
	"log"
	"os"

	"github.com/go-scope/scope"
)

var ctx = context.Background()

func save(db *sql.DB) error {
	var err error
	var s scope.Scope
	defer s.Unwind(&err) // want "Unwind must be given the address of the function's named error result"
	tx, err := scope.Enter(&s, scope.Tx(ctx, db, nil))
	if err != nil {
		return err
	}
	_ = tx
	return errors.New("invalid")
}

func all(names []string) (err error) {
	for _, name := range names {
		var s scope.Scope
		f, err := scope.Enter(&s, scope.Open(name))
		defer s.Unwind(&err) // want "Unwind must be given the address of the function's named error result"
		if err != nil {
			return err
		}
		_ = f
	}
	return nil
}

func nilArg() {
	var s scope.Scope
	defer s.Unwind(nil) // want "Unwind must be given the address of the function's named error result"
}

func param(err error) error {
	var s scope.Scope
	defer s.Unwind(&err) // want "Unwind must be given the address of the function's named error result"
	return nil
}

// Not reported.

func named() (n int, retErr error) {
	var s scope.Scope
	defer s.Unwind(&retErr)
	return 0, nil
}

func pointer(errp *error) {
	var s scope.Scope
	defer s.Unwind(errp)
}

type job struct {
	res *scope.Scope
	err error
}

func (j *job) run() {
	defer j.res.Unwind(&j.err)
}

var pkgErr error

func pkgLevel() {
	var s scope.Scope
	defer s.Unwind(&pkgErr)
}

func enclosing() (err error) {
	func() {
		var s scope.Scope
		defer s.Unwind(&err)
	}()
	return err
}

func readByClosure() {
	var err error
	var s scope.Scope
	defer func() {
		if err != nil {
			log.Fatal(err)
		}
	}()
	defer s.Unwind(&err)
	_, err = scope.Enter(&s, scope.Open(os.Args[0]))
}

func unnamedResultNamedLater() (_ int, err error) {
	var s scope.Scope
	defer s.Unwind(&err)
	return 0, nil
}
