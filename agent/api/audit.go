package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/posagent/posagent/agent"
)

// auditNote is what a handler adds to its request's audit entry.
type auditNote struct {
	operator, approver, detail string
	amount                     int64
	force                      bool // journal it even though it failed (a refused approval)

	tip int64 // the tip set with amount (payments, the cart)
}

func noteOf(r *http.Request) *auditNote {
	if n, ok := r.Context().Value(auditKey).(*auditNote); ok {
		return n
	}
	return &auditNote{} // not audited: notes go nowhere
}

// AuditDetail adds detail to the audit-trail entry of r, for a handler
// mounted behind the front door (Options.Mount): a reload names the keys
// it changed. Never a secret: keys, not values.
func AuditDetail(r *http.Request, detail string) {
	noteOf(r).detail = clip(detail, 1000)
}

// serveAudited runs an audited route and journals what came of it: every
// request that succeeded, and refused approvals. Requests refused before
// they could change anything (bad input, wrong state) are only answered:
// they leave the journal as it was.
func (d *frontDoor) serveAudited(w http.ResponseWriter, r *http.Request, rt route, c caller) {
	note := &auditNote{}
	rec := &recorder{ResponseWriter: w}
	rt.h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), auditKey, note)))
	if rec.status == 0 {
		rec.status = 200
	}
	if rec.status >= 400 && !note.force && rt.audit != "config.reload" {
		return
	}
	result, p := rec.result()
	a := agent.Audit{Action: rt.audit, Method: r.Method, Path: clip(r.URL.Path, 200), Credential: c.name, Operator: note.operator,
		Approver: note.approver, Client: c.client, Amount: note.amount, Status: rec.status, Result: result, Detail: note.detail}
	a.Tip = note.tip
	if id := r.PathValue("id"); id != "" {
		a.Payment = clip(id, 64)
	} else if p != nil {
		a.Payment = p.ID
	}
	if a.Amount == 0 && p != nil && rt.audit == "payment.create" {
		a.Amount, a.Tip = p.Amount, p.Tip
	}
	if err := d.s.eng.RecordAudit(a); err != nil {
		d.log.Error("api: audit trail: journal the entry", "action", a.Action, "err", err)
	}
}

// hAudit: GET /v1/audit?since=T&limit=N (manager).
func (s *Server) hAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t, err = time.Parse("2006-01-02", v)
		}
		if err != nil {
			writeErr(w, errf(CodeInvalidSince, "since must be an RFC 3339 time or a date YYYY-MM-DD, got %q", clip(v, 40)))
			return
		}
		since = t
	}
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			writeErr(w, errf(CodeInvalidLimit, "limit must be an integer from 1 to 100000, got %q", clip(v, 20)))
			return
		}
		limit = n
	}
	entries, err := s.view.AuditTrail(since, limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"audit": entries})
}
