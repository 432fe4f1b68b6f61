package agent

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// ResolveRequest settles an in-doubt payment by hand
// (POST /v1/payments/{id}/resolve, posagent resolve).
type ResolveRequest struct {
	// Outcome is "paid" (the money was taken: succeeded) or "not_paid"
	// (nothing was taken: failed, or cancelled when the sale was abandoned).
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
	Operator string `json:"operator"`
}

// Resolve settles an in-doubt payment on a manager's word, after they
// checked the merchant portal or the customer's wallet. The decision, its
// reason and who made it stay on the payment and in its history, and a
// payment.resolved event announces it.
//
// A resolution can be contradicted, never ignored: the reconciliation job
// stays and follows the order on its schedule until the gateway confirms
// the decision or says otherwise (checkResolution). A later "paid" for a
// payment resolved not paid is refunded automatically (it becomes
// reversed); a later "not paid" for one resolved paid is flagged.
func (e *Engine) Resolve(id string, r ResolveRequest, ik IdemKey) (*Payment, error) {
	if err := checkDecision(r.Outcome, &r.Reason, r.Operator, "paid", "not_paid", "the merchant portal, the customer's wallet"); err != nil {
		return nil, err
	}
	rec, err := e.mutateOrSame(id, func(tx *store.Tx, p *store.Payment) error {
		old, err := replay(tx, ik)
		if err != nil {
			return err
		}
		if old != nil {
			return errNoChange
		}
		if p.State != InDoubt {
			return errf(operr.CodeInvalidState, "payment %s is %s; only an in_doubt payment can be resolved by hand", id, p.State)
		}
		if p.PaidLate {
			return errf(operr.CodeInvalidState, "payment %s was paid after the sale was abandoned and its automatic refund is under way; it settles by itself", id)
		}
		now := e.now()
		p.Resolution = &store.Resolution{Outcome: r.Outcome, Reason: r.Reason, Operator: r.Operator, At: now}
		if r.Outcome == "paid" {
			p.State, p.Error = Succeeded, nil
			if p.CancelRequested {
				// The sale was abandoned but the money was taken: refund it.
				return e.refunds.Reverse(tx, p)
			}
		} else {
			p.State = Failed
			if p.CancelRequested || p.Mode == "qr" {
				p.State = Cancelled
			}
			p.Error = &store.Error{Code: "resolved_not_paid", Message: "settled by hand as not paid: " + r.Reason}
		}
		// The follow-up: the reconciliation job stays (one is added if
		// there was none), on its schedule.
		if err := e.addQueryJob(tx, p); err != nil {
			return err
		}
		if err := e.remember(tx, ik, id, "", 200); err != nil {
			return err
		}
		return e.resolvedEvent(tx, p, r.Outcome+": "+r.Reason)
	})
	if err != nil {
		return nil, err
	}
	e.kickOutbox()
	e.log.Warn("agent: in-doubt payment resolved by hand", "id", id, "outcome", r.Outcome, "operator", r.Operator, "reason", r.Reason)
	return publicPayment(rec), nil
}

// checkDecision checks a manager's decision by hand: one of the two
// outcomes, a reason (trimmed in place) saying what was checked, and
// bounded lengths.
func checkDecision(outcome string, reason *string, operator, yes, no, checked string) error {
	if outcome != yes && outcome != no {
		return errf(operr.CodeInvalidOutcome, `outcome must be %q or %q, got %q`, yes, no, outcome)
	}
	*reason = strings.TrimSpace(*reason)
	if *reason == "" {
		return errf(operr.CodeReasonRequired, "a reason is required: say what was checked (%s)", checked)
	}
	if len(*reason) > 500 || len(operator) > 64 {
		return errf(operr.CodeInvalidField, "reason is at most 500 characters, operator at most 64")
	}
	return nil
}

// resolvedEvent journals a payment.resolved event for p.
func (e *Engine) resolvedEvent(tx *store.Tx, p *store.Payment, reason string) error {
	now := e.now()
	_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
		return json.Marshal(Event{Seq: seq, Kind: KindPaymentResolved, At: now,
			Reason: reason, Payment: &Payment{ID: p.ID, OrderID: p.OrderID, Amount: p.Amount, State: p.State}})
	})
	return err
}

// checkResolution compares a decisive answer (paid, or not paid: failed,
// closed, never reached) with a manager's decision on p, in the
// transaction that records the result. Agreement confirms it. A payment
// resolved not paid that the gateway reports paid is refunded
// automatically, as an abandoned sale paid late (in_doubt, then
// reversed); one resolved paid that the gateway reports not paid keeps
// its state (only the merchant portal can tell where the money is) and is
// flagged. Both are announced: a payment.resolution_contradicted event, an
// audit entry, the metric posagent_resolutions_contradicted_total and the
// alert PosagentResolutionContradicted.
func (e *Engine) checkResolution(tx *store.Tx, p *store.Payment, outcome gateway.Outcome, res *gateway.Result, a *store.Answer) error {
	rs := p.Resolution
	rs.CheckedAt = e.now()
	paid := outcome == gateway.Paid
	if paid == (rs.Outcome == "paid") {
		rs.Confirmed = true
		return nil
	}
	said := "not paid"
	if res != nil && res.OrderStatus != "" {
		said = "not paid (" + res.OrderStatus + ")"
	}
	if paid {
		said = "paid"
	}
	rs.Contradicted = "the gateway reports the order " + said
	if paid {
		// Resolved not paid, but the money was taken: refund it, as for a
		// sale paid after it was abandoned.
		p.Answer, p.CancelRequested = a, true
		if err := e.refunds.Reverse(tx, p); err != nil {
			return err
		}
		p.Error = &store.Error{Code: "resolution_contradicted", Message: "settled by hand as not paid, but the gateway reports it paid: refunding automatically"}
	} else {
		p.Error = &store.Error{Code: "resolution_contradicted", Message: "settled by hand as paid, but " + rs.Contradicted + ": check the OTTPay merchant portal; the sale may not have been paid"}
		if p.State == InDoubt && p.PaidLate {
			// Settled paid for a sale that had been abandoned, so an
			// automatic refund was under way: there is nothing to give
			// back. It is not made again (agent/refund: finish), and the sale
			// ends as it began: cancelled.
			p.State = Cancelled
		}
	}
	e.mu.Lock()
	e.contradicted++
	e.mu.Unlock()
	e.log.Error("agent: the gateway contradicts a resolution by hand", "id", p.ID, "order_id", p.OrderID, "resolved", rs.Outcome, "gateway", said)
	now := e.now()
	if _, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
		return json.Marshal(Event{Seq: seq, Kind: KindResolutionContradicted, At: now, Reason: "resolved " + rs.Outcome + "; " + rs.Contradicted,
			Payment: &Payment{ID: p.ID, OrderID: p.OrderID, Amount: p.Amount, State: p.State}})
	}); err != nil {
		return err
	}
	_, err := tx.AppendAudit(now, func(seq uint64) ([]byte, error) {
		return json.Marshal(Event{Seq: seq, Kind: KindAudit, At: now, Audit: &Audit{Action: "payment.resolution_contradicted",
			Credential: "gateway", Operator: rs.Operator, Client: "reconciler", Payment: p.ID, Amount: total(p), Result: rs.Contradicted}})
	})
	return err
}

// contradicts reports whether p's move from a final state is the one a
// contradicted resolution makes: resolved not paid, then found paid, it
// goes back to in_doubt while its automatic refund is made.
func contradicts(from State, p *store.Payment) bool {
	return (from == Failed || from == Cancelled) && p.State == InDoubt && p.PaidLate &&
		p.Resolution != nil && p.Resolution.Outcome == "not_paid" && p.Resolution.Contradicted != ""
}

// endFollowUp ends the follow-up of a resolution by hand that the gateway
// never answered decisively on the reconcile schedule.
func (e *Engine) endFollowUp(j *store.Job, why string) {
	_, err := e.mutate(j.PaymentID, func(tx *store.Tx, p *store.Payment) error {
		if err := tx.DeleteJob(j.Seq); err != nil {
			return err
		}
		if !p.Resolution.Open() || p.State == InDoubt {
			return errNoChange
		}
		p.Resolution.Unanswered, p.Resolution.CheckedAt = true, e.now()
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		e.storeError("resolution follow-up", err)
		return
	}
	if errors.Is(err, errNoChange) {
		e.dropJob(j)
	}
	e.log.Info("agent: the follow-up of a resolution by hand ended: "+why, "id", j.PaymentID)
}
