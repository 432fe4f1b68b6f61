package books

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// Reconciliation is the comparison of a Z report's shift with the
// gateway: every order of the shift that reached the gateway is queried
// again (STATUS_QUERY) and each difference is one line with a suggested
// action.
type Reconciliation struct {
	Z          uint64     `json:"z"`
	Shift      uint64     `json:"shift"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt time.Time  `json:"finished_at"`
	Checked    int        `json:"checked"`    // orders queried
	Matched    int        `json:"matched"`    // the gateway agreed
	Skipped    int        `json:"skipped"`    // never sent (nothing to ask) or still followed by the engine
	Unanswered int        `json:"unanswered"` // no believable answer: asked again next time
	Mismatches []Mismatch `json:"mismatches"`
}

// Mismatch is one difference between the journal and the gateway.
type Mismatch struct {
	PaymentID string `json:"payment_id"`
	OrderID   string `json:"order_id"`
	Amount    int64  `json:"amount"`
	// Kind: gateway_refunded (the gateway has more refunded than the
	// journal), refund_missing (less), gateway_not_paid (the journal says
	// paid, the gateway not), late_success (the journal says not paid, the
	// gateway paid), unknown_order (the gateway has no such order).
	Kind     string `json:"kind"`
	Local    string `json:"local"`   // the journal: state and refunded
	Gateway  string `json:"gateway"` // the gateway: order_status and refunded
	Action   string `json:"action"`  // what to do
	Refunded int64  `json:"gateway_refunded,omitempty"`
}

// reconcileLater runs Reconcile for Z report no in the background, owned
// by Run (it ends with it), after a random delay up to ReconcileSpread when
// spread is set.
func (b *Books) reconcileLater(no uint64, spread bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.running || b.o.ReconcileRate <= 0 {
		return
	}
	ctx := b.runCtx
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if spread && b.o.ReconcileSpread > 0 {
			select {
			case <-ctx.Done():
				return
			case <-b.clock.After(rand.N(b.o.ReconcileSpread)):
			}
		}
		if _, err := b.Reconcile(ctx, no); err != nil && ctx.Err() == nil {
			b.log.Warn("agent: reconciliation with the gateway failed", "z", no, "err", err)
		}
	}()
}

// Reconcile queries every order of Z report no's shift at the gateway,
// paced at Options.ReconcileRate a second with jitter, stores the result
// (the latest per Z report) and announces it (report.reconciled). An
// in-doubt payment found paid is left to the reconciler, which refunds it
// (its query is made due now).
func (b *Books) Reconcile(ctx context.Context, no uint64) (*Reconciliation, error) {
	rep, _, err := b.ZReport(no)
	if err != nil {
		return nil, err
	}
	var pays []*store.Payment
	err = b.st.View(func(tx *store.Tx) error {
		return tx.ForEachPayment(false, "", func(p *store.Payment) (bool, error) {
			if p.Shift == rep.Shift.No {
				pays = append(pays, p)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("agent: reconcile Z %d: %w", no, err)
	}
	rc := &Reconciliation{Z: no, Shift: rep.Shift.No, StartedAt: b.now().In(b.Location()), Mismatches: []Mismatch{}}
	rate := b.o.ReconcileRate
	if rate <= 0 {
		rate = 5
	}
	every := time.Duration(float64(time.Second) / rate)
	first := true
	for _, p := range pays {
		if !sent(p) || p.State == store.AwaitingCode || p.State == store.Processing || p.State == store.Queued {
			rc.Skipped++
			continue
		}
		if !first {
			select { // paced, with jitter: between half and one and a half intervals
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-b.clock.After(every/2 + rand.N(every+1)):
			}
		}
		first = false
		res, qerr := b.eng.QueryOrder(ctx, p.OrderID, p.Amount, p.Tip)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rc.Checked++
		m, ok := b.compare(p, res, qerr)
		switch {
		case !ok:
			rc.Unanswered++
		case m == nil:
			rc.Matched++
		default:
			rc.Mismatches = append(rc.Mismatches, *m)
		}
	}
	rc.FinishedAt = b.now().In(b.Location())
	data, err := json.Marshal(rc)
	if err != nil {
		return nil, err
	}
	err = b.st.Update(func(tx *store.Tx) error {
		if err := tx.PutReconciliation(no, data); err != nil {
			return err
		}
		_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
			return json.Marshal(map[string]any{"seq": seq, "kind": KindReportReconcile, "at": b.now(), "z": no, "shift": rc.Shift,
				"checked": rc.Checked, "mismatches": len(rc.Mismatches), "unanswered": rc.Unanswered})
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("agent: reconcile Z %d: %w", no, err)
	}
	if len(rc.Mismatches) > 0 {
		b.log.Warn("agent: the gateway disagrees with the journal", "z", no, "mismatches", len(rc.Mismatches))
	}
	return rc, nil
}

// sent reports whether a payment's order may have reached the gateway.
func sent(p *store.Payment) bool {
	return p.Attempts > 0 || p.Mode == "qr" || p.Answer != nil
}

// LastReconciliation returns the reconciliation of Z report no (not_found when
// it has not run yet).
func (b *Books) LastReconciliation(no uint64) (*Reconciliation, error) {
	var data []byte
	err := b.st.View(func(tx *store.Tx) (err error) {
		data, err = tx.Reconciliation(no)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(operr.CodeNotFound, "Z report %d has not been reconciled yet", no)
	}
	if err != nil {
		return nil, err
	}
	var rc Reconciliation
	return &rc, json.Unmarshal(data, &rc)
}

// compare judges one payment against its STATUS_QUERY answer; ok is false
// when there is no believable answer.
func (b *Books) compare(p *store.Payment, res *gateway.Result, err error) (m *Mismatch, ok bool) {
	var ge *gateway.Error
	notFound := errors.As(err, &ge) && ge.Code == gateway.CodeFail
	status, gwRefunded := "", int64(0)
	if res != nil {
		status = res.OrderStatus
		if res.HasRefunded {
			gwRefunded = res.Refunded
		}
	}
	outcome := gateway.OutcomeOf(err)
	if errors.Is(err, gateway.ErrNotSent) {
		outcome = gateway.Unknown // a query that was not sent says nothing about the order
	}
	if err != nil && !notFound && outcome == gateway.Unknown {
		return nil, false
	}
	local := fmt.Sprintf("%s, refunded %d", p.State, p.Refunded())
	gw := fmt.Sprintf("%s, refunded %d", status, gwRefunded)
	mk := func(kind, action string) (*Mismatch, bool) {
		return &Mismatch{PaymentID: p.ID, OrderID: p.OrderID, Amount: p.Amount, Kind: kind, Local: local, Gateway: gw,
			Action: action, Refunded: gwRefunded}, true
	}
	paid := outcome == gateway.Paid
	switch {
	case notFound && taken(p):
		gw = "no such order"
		return mk("unknown_order", "the gateway has no record of this order, which the journal shows paid: check the OTTPay merchant portal before the money is counted")
	case notFound:
		return nil, true // never charged: the gateway agrees
	case taken(p) && !paid:
		return mk("gateway_not_paid", "the journal shows the order paid but the gateway does not: check the OTTPay merchant portal; if it was not paid, the sale was not")
	case taken(p) && gwRefunded > p.Refunded():
		return mk("gateway_refunded", fmt.Sprintf("%d was refunded at the gateway without posagent (the merchant portal?): find out who refunded it; the shift's net is %d lower", gwRefunded-p.Refunded(), gwRefunded-p.Refunded()))
	case taken(p) && gwRefunded < p.Refunded():
		return mk("refund_missing", "a refund the journal shows succeeded is not on the order at the gateway: check the OTTPay merchant portal, and refund again if the customer has not been refunded")
	case p.State == store.InDoubt && paid:
		// The reconciler's rules: a late success is refunded automatically.
		if err := b.eng.Recheck(p.ID); err != nil {
			b.eng.StoreError("reconcile: recheck a late success", err)
		}
		return mk("late_success", "paid at the gateway while in doubt: the reconciler refunds it automatically (it becomes reversed); nothing to do")
	case !taken(p) && p.State.Final() && paid:
		return mk("late_success", "the customer was charged for a payment the journal shows "+string(p.State)+": refund the order in the OTTPay merchant portal")
	}
	return nil, true
}
