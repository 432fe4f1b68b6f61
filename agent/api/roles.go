package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/agent/refund"
)

// Approval is a manager's approval in a refund request:
// {"approval":{"operator":"m1","pin":"2468"}}. The PIN is checked against
// the operator's hash and then forgotten: it is never stored, logged or
// part of the request's idempotency hash.
type Approval struct {
	Operator string `json:"operator"`
	PIN      string `json:"pin"`
}

// operator resolves the operator a request names ("" the default one)
// and checks it against the credential: a manager may be named only by a
// credential with the manager role, so that a pos token cannot record
// what it does as a manager's.
func (s *Server) operator(c caller, id string) (Operator, error) {
	a := &s.accessNow().a
	if id == "" {
		id = a.DefaultOperator
	}
	if id == "" {
		return Operator{}, nil
	}
	for _, op := range a.Operators {
		if op.ID == id {
			if op.Role == "manager" && !c.roles.has(RoleManager) {
				return Operator{}, errf(CodeOperatorNotAllowed, "operator %q is a manager: the %s credential may not act as one (name a cashier, or use the manager's token)", clip(id, 64), c.name)
			}
			return op, nil
		}
	}
	if len(a.Operators) == 0 {
		return Operator{}, errf(CodeUnknownOperator, "operator %q: no operators are configured (operators: in the config)", clip(id, 64))
	}
	return Operator{}, errf(CodeUnknownOperator, "operator %q is not one of the configured operators", clip(id, 64))
}

func (s *Server) apiStatus() APIStatus {
	acc := s.accessNow()
	a := acc.a
	st := APIStatus{Roles: []Role{}, TLSFingerprint: a.TLSFingerprint, Socket: a.Socket, Open: acc.open}
	for _, r := range Roles {
		if a.Tokens[r] != "" {
			st.Roles = append(st.Roles, r)
		}
	}
	return st
}

// hRefund: {"amount": N} refunds N cents; everything left is refunded only
// when asked explicitly, by {"all": true} or a body without an amount key
// ({} or none). A null amount is refused, never read as "everything".
// "operator" names the cashier who asks; "approval" carries a manager's
// PIN. Whether one is needed is decided by the engine's refund desk in the
// transaction that records the refund (refund.Limits), against everything the
// payment (and the shift) was refunded without one: a refund split into
// small ones, or raced, needs the approval one refund would.
func (d *frontDoor) hRefund(w http.ResponseWriter, r *http.Request) {
	s := d.s
	var req struct {
		Amount   *int64    `json:"amount"`
		All      *bool     `json:"all"`
		Operator string    `json:"operator"`
		Approval *Approval `json:"approval"`
	}
	ik, err := moneyRequest(w, r, &req, true)
	if err != nil {
		writeErr(w, err)
		return
	}
	switch {
	case req.All != nil && !*req.All:
		writeErr(w, errf(operr.CodeInvalidField, `"all" may only be true; to refund part, send {"amount": <cents>}`))
		return
	case req.All != nil && req.Amount != nil:
		writeErr(w, errf(operr.CodeInvalidField, `send either {"amount": <cents>} or {"all": true}, not both`))
		return
	}
	c := callerOf(r)
	note := noteOf(r)
	op, err := s.operator(c, req.Operator)
	if err != nil {
		note.force = codeOf(err) == CodeOperatorNotAllowed // an attempt to act as a manager is on the trail
		note.operator = clip(req.Operator, 64)
		writeErr(w, err)
		return
	}
	note.operator = op.ID
	id := r.PathValue("id")
	if req.Amount != nil {
		note.amount = *req.Amount
	} else if left, err := s.eng.Refundable(id); err == nil {
		note.amount = left // for the audit trail; the engine decides on what is left when it commits
	}
	by := refund.By{Operator: op.ID, GatewayOperator: op.GatewayID}
	by.Approver, by.Unapproved, err = d.approve(r, req.Approval)
	if err == nil {
		var out *agent.Payment
		out, err = s.eng.RefundPayment(r.Context(), id, req.Amount, ik, by)
		if err == nil {
			writeJSON(w, 201, out)
			return
		}
	}
	if code := codeOf(err); code == operr.CodeApprovalRequired || code == CodeApprovalDenied || code == CodeApprovalLocked {
		note.force = true // a refused approval is on the audit trail
		note.approver = ""
		if req.Approval != nil {
			note.approver = clip(req.Approval.Operator, 64)
		}
	}
	writeErr(w, err)
}

// approve decides what a refund without a manager's approval is bound by
// and, when an approval is given, checks its PIN. It returns the approving
// manager's id, or the limits the engine applies to a refund without one
// (nil: none). Who may refund without a PIN:
//   - refunds.approval_above >= 0: anyone with a refund role, within the
//     limit counted per payment (and per shift);
//   - refunds.approval_above -1: the manager role alone (within the
//     per-shift limit, when set); a pos credential needs a PIN for every
//     refund.
func (d *frontDoor) approve(r *http.Request, ap *Approval) (string, *refund.Limits, error) {
	c := callerOf(r)
	a := &d.s.accessNow().a
	if ap != nil {
		mgr, err := d.checkPIN(r, ap)
		return mgr, nil, err
	}
	if !a.Approval && !c.roles.has(RoleManager) {
		return "", nil, errf(operr.CodeApprovalRequired, "the %s credential may refund only with a manager's approval (refunds.approval_above is -1): add \"approval\": {\"operator\": \"<manager id>\", \"pin\": \"...\"}", c.name)
	}
	lim := &refund.Limits{PerPayment: -1, PerShift: a.UnapprovedPerShift}
	if a.Approval {
		lim.PerPayment = a.ApprovalAbove
	}
	if lim.PerPayment < 0 && lim.PerShift <= 0 {
		return "", nil, nil
	}
	return "", lim, nil
}

// checkPIN checks a manager's approval. Each attempt is counted in the
// journal before the PIN is compared, and one check per manager runs at a
// time, so that neither concurrent guesses nor a restart get more tries
// than Access.PINAttempts; the lock-out is kept in the journal (it
// survives a restart and a reload).
func (d *frontDoor) checkPIN(r *http.Request, ap *Approval) (string, error) {
	c := callerOf(r)
	a := &d.s.accessNow().a
	var mgr *Operator
	for i, op := range a.Operators {
		if op.ID == ap.Operator && op.Role == "manager" && op.PINHash != "" {
			mgr = &a.Operators[i]
		}
	}
	if mgr == nil {
		d.log.Warn("api: refund approval refused: not a manager with a PIN", "client", c.client, "approver", clip(ap.Operator, 64))
		return "", errf(CodeApprovalDenied, "approval by %q refused: not a manager with a PIN", clip(ap.Operator, 64))
	}
	unlock, err := d.pinGate(r.Context(), mgr.ID)
	if err != nil {
		return "", err
	}
	defer unlock()
	left, last, err := d.s.eng.PINAttempt(mgr.ID, a.PINAttempts, a.PINLockout)
	if err != nil {
		return "", err
	}
	if left > 0 {
		return "", errf(CodeApprovalLocked, "manager %s is locked after %d wrong PINs; try again in %s", mgr.ID, a.PINAttempts, left.Round(time.Second))
	}
	err = VerifyPIN(mgr.PINHash, ap.PIN)
	if errors.Is(err, ErrPINMismatch) {
		d.log.Warn("api: refund approval refused: wrong PIN", "client", c.client, "approver", mgr.ID, "locked", last)
		if last {
			return "", errf(CodeApprovalLocked, "wrong PIN; manager %s is now locked for %s after %d wrong PINs", mgr.ID, a.PINLockout, a.PINAttempts)
		}
		return "", errf(CodeApprovalDenied, "wrong PIN for manager %s", mgr.ID)
	}
	if err != nil {
		d.log.Error("api: refund approval: the manager's PIN hash is unusable", "approver", mgr.ID, "err", err)
		return "", errf(CodeApprovalDenied, "manager %s has an unusable PIN hash: set it again with posagent operator add", mgr.ID)
	}
	if err := d.s.eng.PINAccepted(mgr.ID); err != nil {
		return "", err
	}
	return mgr.ID, nil
}

// pinGate lets one PIN check per operator run at a time; the others wait
// for it (or for their request to end).
func (d *frontDoor) pinGate(ctx context.Context, op string) (func(), error) {
	d.mu.Lock()
	g := d.pinGates[op]
	if g == nil {
		g = make(chan struct{}, 1)
		d.pinGates[op] = g
	}
	d.mu.Unlock()
	select {
	case g <- struct{}{}:
		return func() { <-g }, nil
	case <-ctx.Done():
		return nil, errf(CodeRequestTimeout, "the request ended while another approval by %s was being checked", op)
	}
}

// APIStatus is the api part of /v1/status.
type APIStatus struct {
	// Open: no tokens are configured; loopback callers have every role.
	Open bool `json:"open"`
	// Roles lists the roles that have a token.
	Roles []Role `json:"roles"`
	// TLSFingerprint is the SHA-256 fingerprint of the API's certificate,
	// for a POS to pin ("" without TLS).
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
	Socket         string `json:"socket,omitempty"`
}
