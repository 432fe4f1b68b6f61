package refund

import (
	"fmt"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// The decisions of the desk, pure: from a payment's record (and a gateway
// answer) to what is to be done. The desk runs them inside the
// transaction that records their result.

// total is what the customer was charged for p: amount and tip.
func total(p *store.Payment) int64 { return p.Amount + p.Tip }

// head is the refund of p that goes to the gateway now, or nil: the
// first that is not final.
func head(p *store.Payment) *store.Refund {
	for i := range p.Refunds {
		if !p.Refunds[i].State.Final() {
			return &p.Refunds[i]
		}
	}
	return nil
}

// behind is the refund a new refund of p waits behind, or "".
func behind(p *store.Payment) string {
	if h := head(p); h != nil {
		return h.ID
	}
	return ""
}

// canTransition: pending -> in_doubt|succeeded|failed; in_doubt ->
// succeeded|failed|in_doubt.
func canTransition(from, to store.RefundState) bool {
	if from.Final() {
		return false
	}
	if from == to {
		return true
	}
	switch from {
	case store.RefundPending:
		return to == store.RefundInDoubt || to == store.RefundSucceeded || to == store.RefundFailed
	case store.RefundInDoubt:
		return to == store.RefundSucceeded || to == store.RefundFailed
	}
	return false
}

// refundedTotal reads what the gateway says was refunded of an order.
func refundedTotal(p *store.Payment, res *gateway.Result) (int64, bool) {
	if res.HasRefunded {
		return res.Refunded, true
	}
	switch res.OrderStatus {
	case gateway.StatusFullyRefunded:
		return total(p), true
	case gateway.StatusSuccess:
		return 0, true
	}
	return 0, false
}

// verdict is what the original order's refunded total says of a
// payment's in-doubt refunds.
type verdict struct {
	gwTotal, known int64
	made, notMade  []string // refund ids settled succeeded / failed (not made)
	ambiguous      string   // why nothing can be settled without a guess
	wasAmbiguous   bool     // the refund was marked ambiguous before
}

func (v verdict) changes() bool {
	return v.made != nil || v.notMade != nil || (v.ambiguous != "") != v.wasAmbiguous
}

// judge compares the gateway's refunded total with p's refunds, for the
// in-doubt refund rid: with known the succeeded refunds and U those in
// doubt, a total of known + sum(U) means every one of U was made, known
// means none was (once each has had RefundSettle: settled, asked of each
// in-doubt refund only then), anything else cannot be attributed.
func judge(p *store.Payment, rid string, gwTotal int64, settled func(*store.Refund) bool) verdict {
	v := verdict{gwTotal: gwTotal, known: p.Refunded()}
	var inDoubt []*store.Refund
	var sum int64
	for i := range p.Refunds {
		if r := &p.Refunds[i]; r.State == store.RefundInDoubt {
			inDoubt = append(inDoubt, r)
			sum += r.Amount
		}
	}
	if r := p.Refund(rid); r == nil || r.State != store.RefundInDoubt {
		return v
	} else {
		v.wasAmbiguous = r.Ambiguous != ""
	}
	extra := gwTotal - v.known
	switch {
	case extra == sum && extra > 0:
		for _, r := range inDoubt {
			v.made = append(v.made, r.ID)
		}
	case extra == 0:
		for _, r := range inDoubt {
			if settled(r) {
				v.notMade = append(v.notMade, r.ID)
			}
		}
	case extra < 0:
		v.ambiguous = fmt.Sprintf("the gateway shows %d refunded, less than the %d of the refunds known to have succeeded", gwTotal, v.known)
	default:
		v.ambiguous = fmt.Sprintf("the gateway shows %d refunded: %d beyond the refunds known to have succeeded, which does not match the %d in doubt (%d refunds); it may include a refund made elsewhere (the merchant portal)", gwTotal, extra, sum, len(inDoubt))
	}
	return v
}

// unapproved is what payment p was refunded without a manager's
// approval: the refunds asked by hand with no approver, except failed
// ones (automatic refunds of abandoned sales are the engine's own).
func unapproved(p *store.Payment) int64 {
	var n int64
	for _, r := range p.Refunds {
		if !r.Auto && r.ApprovedBy == "" && r.State != store.RefundFailed {
			n += r.Amount
		}
	}
	return n
}

// checkPayment refuses a refund of amt without approval that would take
// payment p past lim.PerPayment (approval_required).
func (lim *Limits) checkPayment(p *store.Payment, amt int64) error {
	before := unapproved(p)
	if lim.PerPayment >= 0 && before+amt > lim.PerPayment {
		return operr.Errorf(operr.CodeApprovalRequired, "a refund of %d would bring what payment %s was refunded without a manager's approval to %d, above the %d a cashier may refund alone: add a manager's approval, \"approval\": {\"operator\": \"<manager id>\", \"pin\": \"...\"}", amt, p.ID, before+amt, lim.PerPayment)
	}
	return nil
}

// checkShift refuses a refund of amt without approval that would take
// shift sh past lim.PerShift (approval_required); lim.PerShift > 0.
func (lim *Limits) checkShift(sh *store.Shift, amt int64) error {
	if sh.UnapprovedRefunds+amt > lim.PerShift {
		return operr.Errorf(operr.CodeApprovalRequired, "a refund of %d would bring the refunds of shift %d without a manager's approval to %d, above refunds.unapproved_per_shift (%d): add a manager's approval", amt, sh.No, sh.UnapprovedRefunds+amt, lim.PerShift)
	}
	return nil
}
