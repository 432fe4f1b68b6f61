package api

import (
	"net/http"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
)

// Tips by role: the display answers a cart's tip prompt with one of the
// suggestions or no tip, once; a tip of any other amount is the POS's
// (pos or manager), at most tips.max_percent of the amount unless the
// request carries a manager's approval (the engine checks the cap, the
// API the PIN). The audit entry of each carries the amount and the tip.

// tipApprover checks the manager's approval a request carries for its tip
// and returns the manager's id ("" when it carries none). A refused
// approval is answered and put on the audit trail, as for refunds.
func (d *frontDoor) tipApprover(r *http.Request, ap *Approval) (string, error) {
	if ap == nil {
		return "", nil
	}
	note := noteOf(r)
	// checkPIN counts the attempt before the compare (the lock-out).
	id, err := d.checkPIN(r, ap)
	if err != nil {
		note.force, note.approver = true, clip(ap.Operator, 64)
		return "", err
	}
	note.approver = id
	return id, nil
}

// hCartTip: POST /v1/cart/tip, the answer to the cart's tip prompt:
// {"percent": 15} or {"tip": 0} from the display's touch screen; the POS
// may also send {"tip": <cents>} (with "approval" above tips.max_percent)
// and change an answer.
func (d *frontDoor) hCartTip(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Percent  *int      `json:"percent"`
		Tip      *int64    `json:"tip"`
		Approval *Approval `json:"approval"`
	}
	if _, err := request(w, r, &req, false); err != nil {
		writeErr(w, err)
		return
	}
	c := callerOf(r)
	ch := agent.TipChoice{Percent: req.Percent, Tip: req.Tip, Cashier: c.roles.has(RolePOS) || c.roles.has(RoleManager)}
	if !ch.Cashier && req.Approval != nil {
		writeErr(w, errf(operr.CodeTipNotOffered, "the display answers with one of the suggestions or no tip; an approved tip is the cashier's"))
		return
	}
	if cur := d.s.eng.Intake().CurrentCart(); cur != nil && req.Tip != nil { // what a refused approval was for
		noteOf(r).amount, noteOf(r).tip = cur.Amount, *req.Tip
	}
	var err error
	if ch.Approver, err = d.tipApprover(r, req.Approval); err != nil {
		writeErr(w, err)
		return
	}
	out, err := d.s.eng.Intake().ChooseTip(ch)
	if err != nil {
		if code := codeOf(err); !ch.Cashier && (code == operr.CodeTipNotOffered || code == operr.CodeTipAlreadyChosen) {
			d.log.Warn("api: a tip from the display refused", "client", c.client, "credential", c.name, "code", code)
		}
		writeErr(w, err)
		return
	}
	noteOf(r).amount, noteOf(r).tip = out.Amount, out.Tip
	writeJSON(w, 200, out)
}
