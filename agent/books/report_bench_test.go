package books

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// BenchmarkZReport10k builds and stores a Z report (read every payment,
// sum, checksum, commit with fsync) over a shift of 10,000 payments.
func BenchmarkZReport10k(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "posagent.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	err = st.Update(func(tx *store.Tx) error {
		return tx.NewShift(&store.Shift{Lane: "LANE1", OpenedAt: now})
	})
	if err != nil {
		b.Fatal(err)
	}
	wallets, states := []string{"wechat", "alipay", "unionpay"}, []store.State{store.Succeeded, store.Succeeded, store.Succeeded, store.Failed, store.Reversed, store.Cancelled}
	for batch := 0; batch < 20; batch++ {
		err := st.Update(func(tx *store.Tx) error {
			for i := batch * 500; i < (batch+1)*500; i++ {
				p := &store.Payment{ID: fmt.Sprintf("pay_%08d", i), OrderID: fmt.Sprintf("P%019d", i), Mode: []string{"scan", "qr"}[i%2],
					Wallet: wallets[i%3], Amount: int64(1000 + i), Currency: "CAD", State: states[i%len(states)], CreatedAt: now, UpdatedAt: now,
					Operator: []string{"alice", "bob"}[i%2], Shift: 1, Refunds: []store.Refund{}}
				if i%10 == 0 && p.State == store.Succeeded {
					p.Refunds = append(p.Refunds, store.Refund{ID: fmt.Sprintf("ref_%08d", i), OrderID: fmt.Sprintf("R%019d", i), Amount: 500,
						State: store.RefundSucceeded, CreatedAt: now, UpdatedAt: now, Shift: 1})
				}
				if err := tx.PutPayment(p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	e, err := New(Options{Store: st, Engine: noEngine{}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := st.Update(func(tx *store.Tx) error {
			sh, err := tx.Shift(1)
			if err != nil {
				return err
			}
			rep, err := e.buildReport(tx, sh, "z", now)
			if err != nil {
				return err
			}
			if rep.Payments.Count != 10000 {
				return fmt.Errorf("%d payments", rep.Payments.Count)
			}
			_, err = tx.AddZ(1, now, func(no uint64) ([]byte, error) { rep.Z = no; return json.Marshal(rep) })
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// noEngine is an Engine for what does not reach the engine (building a
// report reads the journal only): any call fails the benchmark.
type noEngine struct{}

func (noEngine) QueryOrder(context.Context, string, int64, int64) (*gateway.Result, error) {
	panic("books: a report reached the engine")
}
func (noEngine) Recheck(string) error     { panic("books: a report reached the engine") }
func (noEngine) StoreError(string, error) { panic("books: a report reached the engine") }
