package store_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posagent/posagent/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(filepath.Join(dir, "posagent.db"), store.Options{
		OnCommit: func(evs []store.Event) { fmt.Println("announce event", evs[0].Seq) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	// One transaction: the record, its event and its outbox job.
	err = s.Update(func(tx *store.Tx) error {
		p := &store.Payment{ID: "pay_1", OrderID: "P1", Mode: "scan", Amount: 1250, Currency: "CAD",
			State: store.Succeeded, AuthCode: "134567890123456789", CreatedAt: at, UpdatedAt: at}
		if err := tx.PutPayment(p); err != nil {
			return err
		}
		if err := tx.AddJob(&store.Job{Kind: store.JobReceipt, PaymentID: p.ID, NextAt: at}); err != nil {
			return err
		}
		_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
			return json.Marshal(map[string]any{"seq": seq, "kind": "payment.updated", "at": at})
		})
		return err
	})
	fmt.Println("committed:", err)
	s.View(func(tx *store.Tx) error {
		p, _ := tx.Payment("pay_1")
		fmt.Printf("state %s, code kept: %q\n", p.State, p.AuthCode)
		return nil
	})
	// Output:
	// announce event 1
	// committed: <nil>
	// state succeeded, code kept: ""
}
