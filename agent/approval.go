package agent

import (
	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/store"
)

// RefundLimits bound what may be refunded without a manager's approval
// (RefundBy.Unapproved). They are judged inside the transaction that
// records the refund, against what the journal holds at that moment, so
// that refunds split into small ones, sent at once, or asked as "all"
// cannot pass a limit that one refund could not.
type RefundLimits struct {
	// PerPayment: what one payment may be refunded in all without a
	// manager's approval, this refund included (refunds.approval_above;
	// 0: nothing; negative: no limit).
	PerPayment int64
	// PerShift: what the open shift may refund in all without approval,
	// this refund included (refunds.unapproved_per_shift; 0: no limit).
	PerShift int64
}

// unapprovedRefunds is what payment p was refunded without a manager's
// approval: the refunds asked by hand with no approver, except failed ones
// (automatic refunds of abandoned sales are the engine's own).
func unapprovedRefunds(p *store.Payment) int64 {
	var n int64
	for _, r := range p.Refunds {
		if !r.Auto && r.ApprovedBy == "" && r.State != store.RefundFailed {
			n += r.Amount
		}
	}
	return n
}

// checkUnapproved refuses a refund of amt without approval that would
// take payment p, or the open shift, past its limit (approval_required), and counts an accepted one on the shift. It runs in
// the refund's transaction; by.Unapproved nil: no limit applies (a
// manager's approval was given, or the caller needs none).
func (e *Engine) checkUnapproved(tx *store.Tx, p *store.Payment, amt int64, by RefundBy) error {
	lim := by.Unapproved
	if lim == nil || by.Approver != "" {
		return nil
	}
	before := unapprovedRefunds(p)
	if lim.PerPayment >= 0 && before+amt > lim.PerPayment {
		return errf(operr.CodeApprovalRequired, "a refund of %d would bring what payment %s was refunded without a manager's approval to %d, above the %d a cashier may refund alone: add a manager's approval, \"approval\": {\"operator\": \"<manager id>\", \"pin\": \"...\"}", amt, p.ID, before+amt, lim.PerPayment)
	}
	if lim.PerShift <= 0 {
		return nil
	}
	sh, err := tx.OpenShift()
	if err != nil {
		return err
	}
	if sh == nil {
		no, err := e.shiftNo(tx) // the refund opens the shift it is counted in
		if err != nil {
			return err
		}
		if sh, err = tx.Shift(no); err != nil {
			return err
		}
	}
	if sh.UnapprovedRefunds+amt > lim.PerShift {
		return errf(operr.CodeApprovalRequired, "a refund of %d would bring the refunds of shift %d without a manager's approval to %d, above refunds.unapproved_per_shift (%d): add a manager's approval", amt, sh.No, sh.UnapprovedRefunds+amt, lim.PerShift)
	}
	sh.UnapprovedRefunds += amt
	return tx.PutShift(sh)
}
