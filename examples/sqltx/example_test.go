package sqltx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	_ "modernc.org/sqlite"

	"github.com/go-scope/scope"
)

// Example shows scope.Tx: the transaction commits when the block returns nil
// and rolls back on an error, a panic or a Goexit.
func Example() {
	db, _ := sql.Open("sqlite", ":memory:")
	defer db.Close()
	db.SetMaxOpenConns(1) // one in-memory database
	_, _ = db.Exec(`CREATE TABLE accounts (name TEXT, balance INT)`)
	_, _ = db.Exec(`INSERT INTO accounts VALUES ('alice', 100), ('bob', 0)`)

	transfer := func(amount int) error {
		return scope.With(scope.Tx(context.Background(), db, nil), func(tx *sql.Tx) error {
			if _, err := tx.Exec(`UPDATE accounts SET balance = balance - ? WHERE name = 'alice'`, amount); err != nil {
				return err
			}
			var left int
			if err := tx.QueryRow(`SELECT balance FROM accounts WHERE name = 'alice'`).Scan(&left); err != nil {
				return err
			}
			if left < 0 {
				return errors.New("insufficient funds") // rolls back the debit
			}
			_, err := tx.Exec(`UPDATE accounts SET balance = balance + ? WHERE name = 'bob'`, amount)
			return err
		})
	}
	fmt.Println(transfer(30))
	fmt.Println(transfer(500))
	var alice, bob int
	_ = db.QueryRow(`SELECT (SELECT balance FROM accounts WHERE name = 'alice'), (SELECT balance FROM accounts WHERE name = 'bob')`).Scan(&alice, &bob)
	fmt.Println(alice, bob)
	// Output:
	// <nil>
	// insufficient funds
	// 70 30
}
