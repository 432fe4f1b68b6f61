package view

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/posagent/posagent/agent/gwauth"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/store"
)

// Collector is the engine's metrics: the gateway meter's histogram and
// counters (Options.Meter, kept as calls end) and the engine's gauges and
// counters, read from the journal's counters and the engine's Live state
// at scrape time (the books' are books.Books.Collector). Names, labels and
// buckets are the dashboard's and the alert rules' contract (deploy/;
// cmd/posagent/deploy_test.go checks it on a real scrape).
func (r *Reader) Collector() prometheus.Collector { return collectorPair{r.meter, collector{r}} }

// collectorPair is two collectors as one.
type collectorPair [2]prometheus.Collector

func (c collectorPair) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c {
		x.Describe(ch)
	}
}

func (c collectorPair) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c {
		x.Collect(ch)
	}
}

// The engine's gauges and counters read at scrape time.
var (
	descPayments       = prometheus.NewDesc("posagent_payments", "Payments in the journal by state.", []string{"state"}, nil)
	descInDoubt        = prometheus.NewDesc("posagent_payments_in_doubt", "Payments whose outcome is not known yet (reconciling, or to resolve by hand).", nil, nil)
	descOutboxDepth    = prometheus.NewDesc("posagent_outbox_depth", "Jobs waiting in the outbox.", nil, nil)
	descOutboxOldest   = prometheus.NewDesc("posagent_outbox_oldest_age_seconds", "Age of the oldest outbox job.", nil, nil)
	descEventsSeq      = prometheus.NewDesc("posagent_events_seq", "Sequence of the last journal event.", nil, nil)
	descUptime         = prometheus.NewDesc("posagent_uptime_seconds", "Seconds since the engine was created.", nil, nil)
	descClockOK        = prometheus.NewDesc("posagent_clock_plausible", "1 while the wall clock is believed (not before the build or the newest journal record).", nil, nil)
	descClockJumps     = prometheus.NewDesc("posagent_clock_jumps_total", "Wall-clock jumps against the monotonic clock since start.", nil, nil)
	descStoreErrs      = prometheus.NewDesc("posagent_store_errors_total", "Journal errors in background steps (each logged and retried).", nil, nil)
	descBackupAge      = prometheus.NewDesc("posagent_journal_backup_age_seconds", "Age of the newest verified journal backup; -1 when there is none.", nil, nil)
	descJournalSize    = prometheus.NewDesc("posagent_journal_size_bytes", "Size of the journal file.", nil, nil)
	descJournalDamaged = prometheus.NewDesc("posagent_journal_damaged", "1 once the check of the journal while the agent runs found damage (new payments are refused).", nil, nil)
	descDeviceUp       = prometheus.NewDesc("posagent_device_up", "1 while a device (scanner, printer, display, bridge) can do its job.", []string{"kind", "name"}, nil)
	descDeviceState    = prometheus.NewDesc("posagent_device_state", "The state of each device as a label (printer: ok, paper_out, paper_near_end, cover_open, offline, unreachable, ...; scanner: connected, disconnected, ...); always 1.", []string{"kind", "name", "state"}, nil)
	descAuthRefused    = prometheus.NewDesc("posagent_gateway_auth_refused", "1 while the gateway refuses this terminal's credentials (sign key, merchant id): payments are refused with gateway_auth.", nil, nil)
	descContradicted   = prometheus.NewDesc("posagent_resolutions_contradicted_total", "Resolutions by hand that the gateway later contradicted (since start).", nil, nil)
	descRefundsDoubt   = prometheus.NewDesc("posagent_refunds_in_doubt", "Refunds whose outcome is not known yet; ambiguous: they need a manager (the gateway's total cannot be attributed).", []string{"ambiguous"}, nil)
	descReversalStuck  = prometheus.NewDesc("posagent_reversals_stuck", "Automatic refunds of sales paid after they were abandoned that have not been made for an hour (they go on).", nil, nil)
)

// collector is the engine's state as a prometheus.Collector. The
// journal's counts are kept with every commit, so a scrape reads no payment.
type collector struct{ r *Reader }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPayments, descInDoubt, descOutboxDepth, descOutboxOldest,
		descEventsSeq, descUptime, descClockOK, descClockJumps, descStoreErrs, descBackupAge,
		descJournalSize, descJournalDamaged, descDeviceUp, descDeviceState,
		descAuthRefused, descContradicted, descRefundsDoubt, descReversalStuck} {
		ch <- d
	}
}

// stateOrder is the order the payment gauges are given in.
var stateOrder = []store.State{store.AwaitingCode, store.Processing, store.Queued, store.InDoubt, store.Succeeded,
	store.Failed, store.Cancelled, store.Expired, store.Reversed}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	r := c.r
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	l := r.live()
	var counts map[store.State]int
	r.st.View(func(tx *store.Tx) error { counts = tx.Counts(); return nil })
	for _, s := range stateOrder {
		gauge(descPayments, float64(counts[s]), string(s))
	}
	gauge(descInDoubt, float64(counts[store.InDoubt]))
	ob := r.outboxStatus(l.Now)
	gauge(descOutboxDepth, float64(ob.Depth))
	gauge(descOutboxOldest, ob.OldestAgeSeconds)
	counter(descEventsSeq, float64(l.LastSeq))
	gauge(descUptime, l.Uptime.Seconds())
	gauge(descClockOK, boolGauge(l.ClockProblem == ""))
	counter(descClockJumps, float64(l.ClockJumps))
	counter(descStoreErrs, float64(l.StoreErrors))
	r.collectMoney(l, gauge, counter, ob.ByKind[store.JobRefund])
	r.collectJournal(gauge)
	collectDevices(l.Devices, gauge)
}

// metricFunc adds one sample of d with the label values given.
type metricFunc func(d *prometheus.Desc, v float64, labels ...string)

// collectMoney adds what a manager must look at: refused credentials,
// contradicted resolutions, refunds in doubt and stuck reversals.
// It reads the in-doubt payments and the refund jobs only, not the whole
// status.
func (r *Reader) collectMoney(l Live, gauge, counter metricFunc, refundJobs int) {
	gauge(descAuthRefused, boolGauge(l.Gateway.Auth.State == gwauth.Refused))
	counter(descContradicted, float64(l.Contradicted))
	n := countDoubts(r.refundsInDoubt(l.Now, refundJobs), r.inDoubt(l.Now, l.InDoubt))
	gauge(descRefundsDoubt, float64(n.refunds), "false")
	gauge(descRefundsDoubt, float64(n.ambiguous), "true")
	gauge(descReversalStuck, float64(n.stuck))
}

// doubts are the money gauges' counts: refunds in doubt a follow-up will
// settle, those a manager must (ambiguous), and stuck reversals.
type doubts struct{ refunds, ambiguous, stuck int }

// countDoubts counts the refunds in doubt (not those only waiting behind
// one) and the payments whose reversal is stuck.
func countDoubts(refunds []InDoubtRefund, payments []InDoubtPayment) doubts {
	var n doubts
	for _, rf := range refunds {
		switch {
		case rf.State != string(store.RefundInDoubt):
		case rf.Ambiguous != "":
			n.ambiguous++
		default:
			n.refunds++
		}
	}
	for _, p := range payments {
		if p.Stuck {
			n.stuck++
		}
	}
	return n
}

// collectJournal adds the journal's gauges.
func (r *Reader) collectJournal(gauge metricFunc) {
	gauge(descBackupAge, r.st.BackupStatus().AgeSeconds)
	gauge(descJournalSize, float64(r.st.Size()))
	gauge(descJournalDamaged, boolGauge(r.st.Damage() != nil))
}

// collectDevices adds each device's state: the alerts of
// deploy/prometheus/alerts.yml read them (printer out of paper or offline,
// scanner gone).
func collectDevices(list []devices.Status, gauge metricFunc) {
	for _, d := range list {
		gauge(descDeviceUp, boolGauge(devices.Working(d.State)), d.Kind, d.Name)
		gauge(descDeviceState, 1, d.Kind, d.Name, d.State)
	}
}

// boolGauge is a gauge of a condition: 1 for true, 0 for false.
func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
