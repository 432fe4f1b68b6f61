package agent

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"

	"github.com/posagent/posagent/store"
)

// hMetrics writes Prometheus text format by hand.
func (e *Engine) hMetrics(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	counts := map[State]int{}
	e.st.View(func(tx *store.Tx) error {
		return tx.ForEachPayment(false, "", func(p *store.Payment) (bool, error) {
			counts[p.State]++
			return true, nil
		})
	})
	fmt.Fprintln(&b, "# HELP posagent_payments Payments in the journal by state.")
	fmt.Fprintln(&b, "# TYPE posagent_payments gauge")
	states := []State{AwaitingCode, Processing, Queued, InDoubt, Succeeded, Failed, Cancelled, Expired, Reversed}
	sort.Slice(states, func(i, j int) bool { return states[i] < states[j] })
	for _, s := range states {
		fmt.Fprintf(&b, "posagent_payments{state=%q} %d\n", s, counts[s])
	}
	e.gw.writeMetrics(&b)
	now := e.now()
	ob := e.outboxStatus(now)
	fmt.Fprintln(&b, "# HELP posagent_outbox_depth Jobs waiting in the outbox.")
	fmt.Fprintln(&b, "# TYPE posagent_outbox_depth gauge")
	fmt.Fprintf(&b, "posagent_outbox_depth %d\n", ob.Depth)
	fmt.Fprintln(&b, "# HELP posagent_outbox_oldest_age_seconds Age of the oldest outbox job.")
	fmt.Fprintln(&b, "# TYPE posagent_outbox_oldest_age_seconds gauge")
	fmt.Fprintf(&b, "posagent_outbox_oldest_age_seconds %g\n", ob.OldestAgeSeconds)
	fmt.Fprintln(&b, "# HELP posagent_events_seq Sequence of the last journal event.")
	fmt.Fprintln(&b, "# TYPE posagent_events_seq counter")
	fmt.Fprintf(&b, "posagent_events_seq %d\n", e.bus.lastSeq())
	fmt.Fprintln(&b, "# HELP posagent_uptime_seconds Seconds since the engine was created.")
	fmt.Fprintln(&b, "# TYPE posagent_uptime_seconds gauge")
	fmt.Fprintf(&b, "posagent_uptime_seconds %g\n", now.Sub(e.start).Seconds())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}
