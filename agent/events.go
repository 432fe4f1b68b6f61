package agent

import (
	"encoding/json"

	"github.com/posagent/posagent/agent/events"
	"github.com/posagent/posagent/store"
)

func decodeEvent(e store.Event) (Event, bool) {
	var ev Event
	if err := json.Unmarshal(e.Data, &ev); err != nil {
		return ev, false
	}
	ev.Seq = e.Seq
	ev.Data = e.Data
	return ev, true
}

// Subscribe streams events with seq > after: first those already in the
// journal, then live ones, with no gap and no duplicate. Call the returned
// function to stop; the channel is also closed if the subscriber falls
// more than events.MaxQueue events behind (reconnect with the last seq seen).
func (e *Engine) Subscribe(after uint64) (<-chan Event, func()) {
	return events.Subscribe(e.bus, after, decodeEvent)
}

// LastSeq is the sequence number of the last event committed.
func (e *Engine) LastSeq() uint64 { return e.bus.Last() }
