package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

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
func (e *Engine) reconcileLater(no uint64, spread bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running || e.o.ReconcileRate < 0 {
		return
	}
	ctx := e.runCtx
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if spread && e.o.ReconcileSpread > 0 {
			select {
			case <-ctx.Done():
				return
			case <-e.clock.After(rand.N(e.o.ReconcileSpread)):
			}
		}
		if _, err := e.Reconcile(ctx, no); err != nil && ctx.Err() == nil {
			e.log.Warn("agent: reconciliation with the gateway failed", "z", no, "err", err)
		}
	}()
}

// Reconcile queries every order of Z report no's shift at the gateway,
// paced at Options.ReconcileRate a second with jitter, stores the result
// (the latest per Z report) and announces it (report.reconciled). An
// in-doubt payment found paid is left to the reconciler, which refunds it
// (its query is made due now).
func (e *Engine) Reconcile(ctx context.Context, no uint64) (*Reconciliation, error) {
	rep, _, err := e.ZReport(no)
	if err != nil {
		return nil, err
	}
	var pays []*store.Payment
	err = e.st.View(func(tx *store.Tx) error {
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
	rc := &Reconciliation{Z: no, Shift: rep.Shift.No, StartedAt: e.now().In(e.Location()), Mismatches: []Mismatch{}}
	rate := e.o.ReconcileRate
	if rate <= 0 {
		rate = 5
	}
	every := time.Duration(float64(time.Second) / rate)
	first := true
	for _, p := range pays {
		if !sent(p) || p.State == AwaitingCode || p.State == Processing || p.State == Queued {
			rc.Skipped++
			continue
		}
		if !first {
			select { // paced, with jitter: between half and one and a half intervals
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-e.clock.After(every/2 + rand.N(every+1)):
			}
		}
		first = false
		res, qerr := e.gw.QueryOrder(ctx, p.OrderID, p.Amount, p.Tip)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rc.Checked++
		m, ok := e.compare(p, res, qerr)
		switch {
		case !ok:
			rc.Unanswered++
		case m == nil:
			rc.Matched++
		default:
			rc.Mismatches = append(rc.Mismatches, *m)
		}
	}
	rc.FinishedAt = e.now().In(e.Location())
	data, err := json.Marshal(rc)
	if err != nil {
		return nil, err
	}
	err = e.st.Update(func(tx *store.Tx) error {
		if err := tx.PutReconciliation(no, data); err != nil {
			return err
		}
		_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
			return json.Marshal(map[string]any{"seq": seq, "kind": KindReportReconcile, "at": e.now(), "z": no, "shift": rc.Shift,
				"checked": rc.Checked, "mismatches": len(rc.Mismatches), "unanswered": rc.Unanswered})
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("agent: reconcile Z %d: %w", no, err)
	}
	if len(rc.Mismatches) > 0 {
		e.log.Warn("agent: the gateway disagrees with the journal", "z", no, "mismatches", len(rc.Mismatches))
	}
	return rc, nil
}

// sent reports whether a payment's order may have reached the gateway.
func sent(p *store.Payment) bool {
	return p.Attempts > 0 || p.Mode == "qr" || p.Answer != nil
}

// LastReconciliation returns the reconciliation of Z report no (not_found when
// it has not run yet).
func (e *Engine) LastReconciliation(no uint64) (*Reconciliation, error) {
	var data []byte
	err := e.st.View(func(tx *store.Tx) (err error) {
		data, err = tx.Reconciliation(no)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeNotFound, "Z report %d has not been reconciled yet", no)
	}
	if err != nil {
		return nil, err
	}
	var rc Reconciliation
	return &rc, json.Unmarshal(data, &rc)
}

// compare judges one payment against its STATUS_QUERY answer; ok is false
// when there is no believable answer.
func (e *Engine) compare(p *store.Payment, res *gateway.Result, err error) (m *Mismatch, ok bool) {
	var ge *gateway.Error
	notFound := errors.As(err, &ge) && ge.Code == gateway.CodeFail
	status, gwRefunded := "", int64(0)
	if res != nil {
		status = res.OrderStatus
		if res.HasRefunded {
			gwRefunded = res.Refunded
		}
	}
	outcome := queryOutcome(err)
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
	case p.State == InDoubt && paid:
		// The reconciler's rules: a late success is refunded automatically.
		e.st.Update(func(tx *store.Tx) error { _, err := e.dueNow(tx, p.ID); return err })
		e.kickOutbox()
		return mk("late_success", "paid at the gateway while in doubt: the reconciler refunds it automatically (it becomes reversed); nothing to do")
	case !taken(p) && p.State.Final() && paid:
		return mk("late_success", "the customer was charged for a payment the journal shows "+string(p.State)+": refund the order in the OTTPay merchant portal")
	}
	return nil, true
}

// collectReports adds the Z report and reconciliation metrics, read from
// the journal.
func (e *Engine) collectReports(gauge, counter metricFunc) {
	var lastZ, reconZ uint64
	var rc Reconciliation
	e.st.View(func(tx *store.Tx) error {
		lastZ = tx.LastZ()
		var data []byte
		if reconZ, data = tx.LastReconciliation(); data != nil {
			json.Unmarshal(data, &rc)
		}
		return nil
	})
	counter(descZReports, float64(lastZ))
	z := strconv.FormatUint(reconZ, 10)
	gauge(descReconMismatch, float64(len(rc.Mismatches)), z)
	gauge(descReconUnanswer, float64(rc.Unanswered), z)
}
