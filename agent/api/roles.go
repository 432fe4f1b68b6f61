package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/posagent/posagent/agent"
)

// Approval is a manager's approval in a refund request:
// {"approval":{"operator":"m1","pin":"2468"}}. The PIN is checked against
// the operator's hash and then forgotten: it is never stored, logged or
// part of the request's idempotency hash.
type Approval struct {
	Operator string `json:"operator"`
	PIN      string `json:"pin"`
}

// operator resolves the operator a request names ("" the default one).
func (s *Server) operator(id string) (Operator, error) {
	a := &s.accessNow().a
	if id == "" {
		id = a.DefaultOperator
	}
	if id == "" {
		return Operator{}, nil
	}
	for _, op := range a.Operators {
		if op.ID == id {
			return op, nil
		}
	}
	if len(a.Operators) == 0 {
		return Operator{}, errf(400, "unknown_operator", "operator %q: no operators are configured (operators: in the config)", clip(id, 64))
	}
	return Operator{}, errf(400, "unknown_operator", "operator %q is not one of the configured operators", clip(id, 64))
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
// PIN, needed above Access.ApprovalAbove (and by a pos token without a
// limit).
func (d *door) hRefund(w http.ResponseWriter, r *http.Request) {
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
		writeErr(w, errf(400, "invalid_field", `"all" may only be true; to refund part, send {"amount": <cents>}`))
		return
	case req.All != nil && req.Amount != nil:
		writeErr(w, errf(400, "invalid_field", `send either {"amount": <cents>} or {"all": true}, not both`))
		return
	}
	op, err := s.operator(req.Operator)
	if err != nil {
		writeErr(w, err)
		return
	}
	note := noteOf(r)
	note.operator = op.ID
	// The amount the approval is for: what was asked, or all that is left
	// now (it can only shrink before the refund commits).
	id := r.PathValue("id")
	amt, err := s.eng.Refundable(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if req.Amount != nil {
		amt = *req.Amount
	}
	note.amount = amt
	approver, err := d.approve(r, amt, req.Approval)
	if err != nil {
		note.force = true // a refused approval is on the audit trail
		note.approver = ""
		if req.Approval != nil {
			note.approver = clip(req.Approval.Operator, 64)
		}
		writeErr(w, err)
		return
	}
	note.approver = approver
	out, err := s.eng.RefundPayment(r.Context(), id, req.Amount, ik, agent.RefundBy{Operator: op.ID, GatewayOperator: op.GatewayID, Approver: approver})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 201, out)
}

// approve decides whether a refund of amt needs a manager's approval and,
// when one is given, checks its PIN (with lock-out after repeated
// failures). It returns the approving manager's id.
func (d *door) approve(r *http.Request, amt int64, ap *Approval) (string, error) {
	c := callerOf(r)
	limit := d.s.accessNow().a.ApprovalAbove
	if !d.s.accessNow().a.Approval {
		limit = -1
	}
	need := limit >= 0 && amt > limit
	if !c.roles.has(RoleManager) && limit < 0 {
		need = true // a pos token refunds alone only within a configured limit
	}
	if ap == nil {
		if !need {
			return "", nil
		}
		if limit >= 0 {
			return "", errf(403, "approval_required", "a refund of %d is above the %d a cashier may refund alone: add a manager's approval, \"approval\": {\"operator\": \"<manager id>\", \"pin\": \"...\"}", amt, limit)
		}
		return "", errf(403, "approval_required", "the %s credential may refund only with a manager's approval: add \"approval\": {\"operator\": \"<manager id>\", \"pin\": \"...\"}", c.name)
	}
	var mgr *Operator
	for i, op := range d.s.accessNow().a.Operators {
		if op.ID == ap.Operator && op.Role == "manager" && op.PINHash != "" {
			mgr = &d.s.accessNow().a.Operators[i]
		}
	}
	if mgr == nil {
		d.log.Warn("api: refund approval refused: not a manager with a PIN", "client", c.client, "approver", clip(ap.Operator, 64))
		return "", errf(403, "approval_denied", "approval by %q refused: not a manager with a PIN", clip(ap.Operator, 64))
	}
	key := "op:" + mgr.ID
	if left := d.pinFails.blocked(key); left > 0 {
		return "", errf(429, "approval_locked", "manager %s is locked after %d wrong PINs; try again in %s", mgr.ID, d.s.accessNow().a.PINAttempts, left.Round(time.Second))
	}
	err := VerifyPIN(mgr.PINHash, ap.PIN)
	if errors.Is(err, ErrPINMismatch) {
		locked := d.pinFails.fail(key)
		d.log.Warn("api: refund approval refused: wrong PIN", "client", c.client, "approver", mgr.ID, "locked", locked)
		if locked {
			return "", errf(429, "approval_locked", "wrong PIN; manager %s is now locked for %s after %d wrong PINs", mgr.ID, d.s.accessNow().a.PINLockout, d.s.accessNow().a.PINAttempts)
		}
		return "", errf(403, "approval_denied", "wrong PIN for manager %s", mgr.ID)
	}
	if err != nil {
		d.log.Error("api: refund approval: the manager's PIN hash is unusable", "approver", mgr.ID, "err", err)
		return "", errf(403, "approval_denied", "manager %s has an unusable PIN hash: set it again with posagent operator add", mgr.ID)
	}
	d.pinFails.ok(key)
	return mgr.ID, nil
}

// hEvents streams events (Server-Sent Events), except the audit trail
// (GET /v1/audit). A display credential sees what a customer display
// needs, not barcodes.
func (d *door) hEvents(w http.ResponseWriter, r *http.Request) {
	s := d.s
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, errf(500, "internal", "streaming is not supported by this connection"))
		return
	}
	cursor := r.URL.Query().Get("after")
	if cursor == "" {
		cursor = r.Header.Get("Last-Event-ID")
	}
	var after uint64
	last := s.eng.LastSeq()
	if cursor != "" {
		n, err := strconv.ParseUint(cursor, 10, 64)
		if err != nil {
			writeErr(w, errf(400, "invalid_cursor", "after / Last-Event-ID must be an event sequence number, got %q", clip(cursor, 40)))
			return
		}
		if n > last {
			writeErr(w, errf(400, "invalid_cursor", "after %d is beyond the newest event, %d: reconnect without it, or with the last id you received", n, last))
			return
		}
		after = n
	} else {
		after = last // a new client starts with what happens next
	}
	c := callerOf(r)
	release, ok := d.acquireStream(c.name)
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeErr(w, errf(503, "too_many_streams", "too many event streams are open (%d in all, %d per credential); try again later", d.s.accessNow().a.MaxStreams, d.s.accessNow().a.MaxStreamsPerRole))
		return
	}
	defer release()
	displayOnly := c.roles.only(RoleDisplay)
	ch, stop := s.eng.Subscribe(after)
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(200)
	fmt.Fprintf(w, ": posagent events after %d\n\n", after)
	fl.Flush()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if ev.Kind == agent.KindAudit || displayOnly && !forDisplay(ev.Kind) {
				continue // the audit trail is read with GET /v1/audit
			}
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Kind, ev.Data)
			fl.Flush()
		case <-s.eng.Clock().After(s.o.SSEPing):
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		case <-r.Context().Done():
			return
		case <-s.quit(): // the engine stopped: let the server shut down
			return
		}
	}
}

// forDisplay: the event kinds a display credential may see.
func forDisplay(kind string) bool {
	switch kind {
	case agent.KindAudit, agent.KindScanBarcode, agent.KindScanIgnored, agent.KindScanRefused:
		return false
	}
	return true
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
