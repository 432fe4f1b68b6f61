package agent

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/posagent/posagent/store"
)

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
