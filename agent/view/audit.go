package view

import (
	"encoding/json"
	"time"

	"github.com/posagent/posagent/store"
)

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
func (r *Reader) AuditTrail(since time.Time, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := r.st.View(func(tx *store.Tx) (err error) {
		out, err = auditTrail(tx, since, limit)
		return err
	})
	return out, err
}

// auditEvent is the part of a journaled event (agent.Event) an audit
// entry is read from.
type auditEvent struct {
	Kind  string    `json:"kind"`
	At    time.Time `json:"at"`
	Audit *Audit    `json:"audit"`
}

func auditTrail(tx *store.Tx, since time.Time, limit int) ([]AuditEntry, error) {
	out := []AuditEntry{}
	err := tx.AuditEvents(since, limit, func(ev store.Event) error {
		var m auditEvent
		if json.Unmarshal(ev.Data, &m) != nil || m.Kind != store.KindAudit || m.Audit == nil || m.At.Before(since) {
			return nil
		}
		out = append(out, AuditEntry{Seq: ev.Seq, At: m.At.UTC(), Audit: *m.Audit})
		return nil
	})
	return out, err
}
