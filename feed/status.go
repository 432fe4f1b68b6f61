package feed

import (
	"encoding/json"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// States of Status.State.
const (
	StateStarting     = "starting"     // no round has begun yet
	StateDisconnected = "disconnected" // no connection to a NATS server
	StateCaughtUp     = "caught_up"    // every event is acknowledged
	StateBehind       = "behind"       // events wait, for less than StuckAfter
	StateStuck        = "stuck"        // the oldest waiting event waited StuckAfter or more
	StateStopped      = "stopped"
)

// Status is the feed's part of /v1/status and `posagent status`.
type Status struct {
	State string `json:"state"`
	// Subject is the lane's subject prefix; Stream the stream's name.
	Subject string `json:"subject"`
	Stream  string `json:"stream"`
	// Server is the server connected to (no credentials), "" none.
	Server string `json:"server,omitempty"`
	// ID is the id the message ids start with; Epoch > 0 once the feed
	// had to take a new one (a restored journal).
	ID    string `json:"id"`
	Epoch int    `json:"epoch,omitempty"`
	// Acked is the last event acknowledged by the stream, LastSeq the
	// journal's last; LagEvents their difference and LagSeconds the age of
	// the oldest event not acknowledged (0 when none).
	Acked      uint64    `json:"acked_seq"`
	AckedAt    time.Time `json:"acked_at,omitzero"`
	LastSeq    uint64    `json:"last_seq"`
	LagEvents  uint64    `json:"lag_events"`
	LagSeconds float64   `json:"lag_seconds"`
	// Published counts the PubAcks since start, Duplicates those the
	// stream answered as duplicates (sent again after a timeout or a
	// restart), Errors the failed rounds.
	Published  uint64    `json:"published"`
	Duplicates uint64    `json:"duplicates"`
	Errors     uint64    `json:"errors"`
	LastError  string    `json:"last_error,omitempty"`
	LastErrAt  time.Time `json:"last_error_at,omitzero"`
}

// Status reads the feed's state and the journal's lag.
func (f *Feed) Status() Status {
	f.mu.Lock()
	c := f.s
	f.mu.Unlock()
	st := Status{Subject: f.o.Identity.Prefix(), Stream: f.o.Stream, ID: c.id, Epoch: c.epoch,
		Acked: c.acked, AckedAt: c.ackedAt, Published: c.published, Duplicates: c.dups,
		Errors: c.errors, LastError: c.lastErr, LastErrAt: c.lastErrAt, LastSeq: f.j.LastSeq()}
	if c.sessions == 0 {
		// Not started yet: what the journal says.
		if fs, err := f.j.FeedState(); err == nil {
			st.ID, st.Epoch, st.Acked, st.AckedAt = fs.ID, fs.Epoch, fs.Acked, fs.AckedAt
		}
	}
	if st.LastSeq > st.Acked {
		st.LagEvents = st.LastSeq - st.Acked
		if at, ok := f.eventAt(st.Acked); ok {
			st.LagSeconds = max(0, f.o.Clock().Sub(at).Seconds())
		}
	}
	if f.nc != nil && f.nc.IsConnected() {
		st.Server = f.nc.ConnectedUrlRedacted()
	}
	switch {
	case !c.running && c.sessions > 0:
		st.State = StateStopped
	case st.LagSeconds >= f.o.StuckAfter.Seconds():
		st.State = StateStuck
	case f.nc == nil || !f.nc.IsConnected():
		st.State = StateDisconnected
	case c.sessions == 0:
		st.State = StateStarting
	case st.LagEvents == 0:
		st.State = StateCaughtUp
	default:
		st.State = StateBehind
	}
	return st
}

// eventAt is the time of the first event after seq (cached by sequence).
func (f *Feed) eventAt(after uint64) (time.Time, bool) {
	f.mu.Lock()
	if f.s.oldestSeq == after+1 {
		at := f.s.oldestAt
		f.mu.Unlock()
		return at, true
	}
	f.mu.Unlock()
	evs, err := f.j.Events(after, 1)
	if err != nil || len(evs) == 0 {
		return time.Time{}, false
	}
	var h eventHead
	if json.Unmarshal(evs[0].Data, &h) != nil || h.At.IsZero() {
		return time.Time{}, false
	}
	f.mu.Lock()
	f.s.oldestSeq, f.s.oldestAt = evs[0].Seq, h.At
	f.mu.Unlock()
	return h.At, true
}

var (
	descLagEvents  = prometheus.NewDesc("posagent_feed_lag_events", "Journal events not yet acknowledged by the feed's JetStream stream.", nil, nil)
	descLagSeconds = prometheus.NewDesc("posagent_feed_lag_seconds", "Age of the oldest journal event not yet acknowledged by the stream; 0 when caught up.", nil, nil)
	descAcked      = prometheus.NewDesc("posagent_feed_acked_seq", "Last journal event sequence acknowledged by the stream.", nil, nil)
	descConnected  = prometheus.NewDesc("posagent_feed_connected", "1 while the feed is connected to a NATS server.", nil, nil)
	descPublished  = prometheus.NewDesc("posagent_feed_published_total", "Events acknowledged by the stream since start.", nil, nil)
	descDuplicates = prometheus.NewDesc("posagent_feed_duplicates_total", "Publishes the stream answered as duplicates (sent again).", nil, nil)
	descErrors     = prometheus.NewDesc("posagent_feed_errors_total", "Failed publishing rounds (each retried after a pause).", nil, nil)
)

// Collector is the feed's metrics, read at scrape time.
func (f *Feed) Collector() prometheus.Collector { return collector{f} }

type collector struct{ f *Feed }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLagEvents, descLagSeconds, descAcked, descConnected, descPublished, descDuplicates, descErrors} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.f.Status()
	conn := 0.0
	if s.Server != "" {
		conn = 1
	}
	for _, m := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v float64
	}{
		{descLagEvents, prometheus.GaugeValue, float64(s.LagEvents)},
		{descLagSeconds, prometheus.GaugeValue, s.LagSeconds},
		{descAcked, prometheus.GaugeValue, float64(s.Acked)},
		{descConnected, prometheus.GaugeValue, conn},
		{descPublished, prometheus.CounterValue, float64(s.Published)},
		{descDuplicates, prometheus.CounterValue, float64(s.Duplicates)},
		{descErrors, prometheus.CounterValue, float64(s.Errors)},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v)
	}
}
