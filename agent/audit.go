package agent

import (
	"encoding/json"
	"time"

	"github.com/posagent/posagent/store"
)

// KindAudit is an audit-trail event: a request that moved money or changed
// a setting, or a refused manager approval.
const KindAudit = store.KindAudit

// Audit is one entry of the audit trail (an api.audit event in the
// journal): who asked what, from where, and what came of it.
type Audit struct {
	Action     string `json:"action"`               // payment.create, payment.refund, cart.set, ...
	Method     string `json:"method"`               // the HTTP request
	Path       string `json:"path"`                 //
	Credential string `json:"credential"`           // the role of the token (pos, manager, ...), or local
	Operator   string `json:"operator,omitempty"`   // the cashier or manager who asked
	Approver   string `json:"approver,omitempty"`   // the manager whose PIN approved it
	Client     string `json:"client"`               // the caller's address, or "unix uid N"
	Payment    string `json:"payment_id,omitempty"` //
	Amount     int64  `json:"amount,omitempty"`     // cents, when the request names an amount
	Tip        int64  `json:"tip,omitempty"`        // cents: the tip set with that amount (payments, the cart)
	Status     int    `json:"status"`               // the HTTP status of the answer
	Result     string `json:"result"`               // ok, or the error code
	Detail     string `json:"detail,omitempty"`     // what else it did (a reload: the keys changed)
}

// AuditEntry is an audit event as GET /v1/audit lists it.
type AuditEntry struct {
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	Audit
}

// AuditTrail returns the audit entries stamped at or after since, oldest
// first, the newest limit of them (limit <= 0: all). It reads the journal's
// audit index: the entries it returns, not every event.
func (e *Engine) AuditTrail(since time.Time, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := e.st.View(func(tx *store.Tx) (err error) {
		out, err = auditTrail(tx, since, limit)
		return err
	})
	return out, err
}

func auditTrail(tx *store.Tx, since time.Time, limit int) ([]AuditEntry, error) {
	out := []AuditEntry{}
	err := tx.AuditEvents(since, limit, func(ev store.Event) error {
		var m Event
		if json.Unmarshal(ev.Data, &m) != nil || m.Kind != KindAudit || m.Audit == nil || m.At.Before(since) {
			return nil
		}
		out = append(out, AuditEntry{Seq: ev.Seq, At: m.At.UTC(), Audit: *m.Audit})
		return nil
	})
	return out, err
}

// RecordAudit journals one audit-trail entry (an api.audit event), stamped
// now, with its entry in the audit index.
func (e *Engine) RecordAudit(a Audit) error {
	at := e.now()
	return e.st.Update(func(tx *store.Tx) error {
		_, err := tx.AppendAudit(at, func(seq uint64) ([]byte, error) {
			return json.Marshal(Event{Seq: seq, Kind: KindAudit, At: at, Audit: &a})
		})
		return err
	})
}
