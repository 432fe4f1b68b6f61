package agent

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/store"
)

// KindAudit is an audit-trail event: a request that moved money or changed
// a setting, or a refused manager approval.
const KindAudit = store.KindAudit

// Audit is one entry of the audit trail, as an api.audit event carries it
// (agent/view reads the trail back: Reader.AuditTrail).
type Audit = view.Audit

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

// RecordEvent journals an event that is about the agent rather than a
// payment (config.reloaded) and announces it like any other: on
// GET /v1/events and to Subscribe. fields go into the event's JSON beside
// seq, kind and at; they must not hold a secret. It returns the event's seq.
func (e *Engine) RecordEvent(kind string, fields map[string]any) (uint64, error) {
	var seq uint64
	err := e.st.Update(func(tx *store.Tx) error {
		var err error
		seq, err = tx.AppendEvent(func(seq uint64) ([]byte, error) {
			m := maps.Clone(fields)
			if m == nil {
				m = map[string]any{}
			}
			m["seq"], m["kind"], m["at"] = seq, kind, e.now()
			return json.Marshal(m)
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("agent: record %s: %w", kind, err)
	}
	return seq, nil
}
