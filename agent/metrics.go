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
	// The journal's counters, kept with every commit: no payment is read.
	var counts map[State]int
	e.st.View(func(tx *store.Tx) error { counts = tx.Counts(); return nil })
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
	e.writeJournalMetrics(&b)
	e.writeDeviceMetrics(&b)
	e.writeReportMetrics(&b) // reconcile.go
	fmt.Fprintln(&b, "# HELP posagent_uptime_seconds Seconds since the engine was created.")
	fmt.Fprintln(&b, "# TYPE posagent_uptime_seconds gauge")
	fmt.Fprintf(&b, "posagent_uptime_seconds %g\n", e.mono().Seconds())
	e.mu.Lock()
	jumps, storeErrs := e.jumps, e.storeErrs
	e.mu.Unlock()
	plausible := 0
	if e.clockProblem() == "" {
		plausible = 1
	}
	fmt.Fprintln(&b, "# HELP posagent_payments_in_doubt Payments whose outcome is not known yet (reconciling, or to resolve by hand).")
	fmt.Fprintln(&b, "# TYPE posagent_payments_in_doubt gauge")
	fmt.Fprintf(&b, "posagent_payments_in_doubt %d\n", counts[InDoubt])
	fmt.Fprintln(&b, "# HELP posagent_clock_plausible 1 while the wall clock is believed (not before the build or the newest journal record).")
	fmt.Fprintln(&b, "# TYPE posagent_clock_plausible gauge")
	fmt.Fprintf(&b, "posagent_clock_plausible %d\n", plausible)
	fmt.Fprintln(&b, "# HELP posagent_clock_jumps_total Wall-clock jumps against the monotonic clock since start.")
	fmt.Fprintln(&b, "# TYPE posagent_clock_jumps_total counter")
	fmt.Fprintf(&b, "posagent_clock_jumps_total %d\n", jumps)
	fmt.Fprintln(&b, "# HELP posagent_store_errors_total Journal errors in background steps (each logged and retried).")
	fmt.Fprintln(&b, "# TYPE posagent_store_errors_total counter")
	fmt.Fprintf(&b, "posagent_store_errors_total %d\n", storeErrs)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}
