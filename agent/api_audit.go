package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/posagent/posagent/store"
)

// KindAudit is an audit-trail event: a request that moved money or changed
// a setting, or a refused manager approval.
const KindAudit = "api.audit"

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
	Status     int    `json:"status"`               // the HTTP status of the answer
	Result     string `json:"result"`               // ok, or the error code
}

// auditNote is what a handler adds to its request's audit entry.
type auditNote struct {
	operator, approver string
	amount             int64
	force              bool // journal it even though it failed (a refused approval)
}

func noteOf(r *http.Request) *auditNote {
	if n, ok := r.Context().Value(auditKey).(*auditNote); ok {
		return n
	}
	return &auditNote{} // not audited: notes go nowhere
}

// serveAudited runs an audited route and journals what came of it: every
// request that succeeded, and refused approvals. Requests refused before
// they could change anything (bad input, wrong state) are only answered:
// they leave the journal as it was.
func (d *door) serveAudited(w http.ResponseWriter, r *http.Request, rt route, c caller) {
	note := &auditNote{}
	rec := &recorder{ResponseWriter: w}
	rt.h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), auditKey, note)))
	if rec.status == 0 {
		rec.status = 200
	}
	if rec.status >= 400 && !note.force {
		return
	}
	result, p := rec.result()
	a := Audit{Action: rt.audit, Method: r.Method, Path: clip(r.URL.Path, 200), Credential: c.name, Operator: note.operator,
		Approver: note.approver, Client: c.client, Amount: note.amount, Status: rec.status, Result: result}
	if id := r.PathValue("id"); id != "" {
		a.Payment = clip(id, 64)
	} else if p != nil {
		a.Payment = p.ID
	}
	if a.Amount == 0 && p != nil && rt.audit == "payment.create" {
		a.Amount = p.Amount
	}
	if err := d.e.appendEvent(Event{Kind: KindAudit, At: d.e.now(), Audit: &a}); err != nil {
		d.log.Error("api: audit trail: journal the entry", "action", a.Action, "err", err)
	}
}

// AuditEntry is an audit event as GET /v1/audit lists it.
type AuditEntry struct {
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	Audit
}

// AuditTrail returns the audit entries at or after since, oldest first,
// the newest limit of them (limit <= 0: all).
func (e *Engine) AuditTrail(since time.Time, limit int) ([]AuditEntry, error) {
	out := []AuditEntry{}
	err := e.st.View(func(tx *store.Tx) error {
		evs, err := tx.Events(0, 0, 0)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			var m Event
			if json.Unmarshal(ev.Data, &m) != nil || m.Kind != KindAudit || m.Audit == nil || m.At.Before(since) {
				continue
			}
			out = append(out, AuditEntry{Seq: ev.Seq, At: m.At.UTC(), Audit: *m.Audit})
		}
		return nil
	})
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, err
}

// hAudit: GET /v1/audit?since=T&limit=N (manager).
func (e *Engine) hAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t, err = time.Parse("2006-01-02", v)
		}
		if err != nil {
			writeErr(w, errf(400, "invalid_since", "since must be an RFC 3339 time or a date YYYY-MM-DD, got %q", clip(v, 40)))
			return
		}
		since = t
	}
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			writeErr(w, errf(400, "invalid_limit", "limit must be an integer from 1 to 100000, got %q", clip(v, 20)))
			return
		}
		limit = n
	}
	entries, err := e.AuditTrail(since, limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"audit": entries})
}
