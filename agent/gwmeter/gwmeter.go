package gwmeter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posagent/posagent/agent/gwauth"
	"github.com/posagent/posagent/agent/rate"
	"github.com/posagent/posagent/gateway"
)

// Gateway is what the engine needs of the OTTPay client (agent.Gateway);
// *gateway.Client satisfies it.
type Gateway interface {
	PassivePay(ctx context.Context, r gateway.PayRequest) (*gateway.Result, error)
	ActivePay(ctx context.Context, r gateway.QRRequest) (*gateway.Result, error)
	QueryOrder(ctx context.Context, orderID string, amount, tip int64) (*gateway.Result, error)
	Refund(ctx context.Context, r gateway.RefundRequest) (*gateway.Result, error)
}

// Meter wraps a Gateway and records latency, errors and reachability.
// It is a Gateway itself, and a prometheus.Collector.
type Meter struct {
	g       Gateway
	now     func() time.Time
	latency *prometheus.HistogramVec // action
	errs    *prometheus.CounterVec   // action, outcome
	up      *prometheus.Desc
	// mu guards everything below.
	mu          sync.Mutex
	reachable   bool
	everTried   bool
	lastContact time.Time
	lastError   string
	// suspect, when set, is told of an answer that refused the request or
	// did not verify (the credentials may be wrong: agent/gwauth).
	suspect func()
	auth    func() gwauth.Status
}

// latencyBuckets are posagent_gateway_request_duration_seconds' buckets;
// the dashboard's quantiles read them.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30}

// meterActions and meterOutcomes are the error counter's label values: every
// pair is exported from the start (at 0), so alerts see the series before
// the first error.
var (
	meterActions  = []string{"qr", "query", "rate", "refund", "scan"}
	meterOutcomes = []string{"failed", "not_sent", "unknown"}
)

// New returns a Meter of g, timed by now (the engine's wall clock).
func New(g Gateway, now func() time.Time) *Meter {
	m := &Meter{g: g, now: now,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "posagent_gateway_request_duration_seconds", Help: "Gateway call latency by action.",
			Buckets: latencyBuckets,
		}, []string{"action"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posagent_gateway_errors_total", Help: "Gateway calls that did not end Paid, by action and outcome.",
		}, []string{"action", "outcome"}),
		up: prometheus.NewDesc("posagent_gateway_reachable", "1 when the last gateway call got an answer.", nil, nil),
	}
	for _, a := range meterActions {
		for _, o := range meterOutcomes {
			m.errs.WithLabelValues(a, o)
		}
	}
	return m
}

func (m *Meter) record(action string, t0 time.Time, err error) {
	d := m.now().Sub(t0).Seconds()
	m.latency.WithLabelValues(action).Observe(d)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.everTried = true
	if err == nil {
		m.reachable, m.lastContact = true, m.now()
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	var ge *gateway.Error
	answered := errors.As(err, &ge) && ge.Code != ""
	if answered && m.suspect != nil && (errors.Is(err, gateway.ErrUnverified) || ge.Outcome == gateway.Failed ||
		gateway.Classify(gateway.ActionExRateQuery, ge.Code, "") == gateway.Failed) {
		defer m.suspect()
	}
	out := gateway.OutcomeOf(err).String()
	if errors.Is(err, gateway.ErrNotSent) {
		out = "not_sent"
	}
	m.errs.WithLabelValues(action, out).Inc()
	// A verified SUCCESS whose order is still open (notpay) is an answer,
	// not a gateway error: it is counted, but not shown as the last error.
	if !answered || ge.Code != gateway.CodeSuccess {
		m.lastError = err.Error()
	}
	if answered {
		m.reachable, m.lastContact = true, m.now()
	} else {
		m.reachable = false
	}
}

func (m *Meter) PassivePay(ctx context.Context, r gateway.PayRequest) (*gateway.Result, error) {
	t0 := m.now()
	res, err := m.g.PassivePay(ctx, r)
	m.record("scan", t0, err)
	return res, err
}

func (m *Meter) ActivePay(ctx context.Context, r gateway.QRRequest) (*gateway.Result, error) {
	t0 := m.now()
	res, err := m.g.ActivePay(ctx, r)
	m.record("qr", t0, err)
	return res, err
}

func (m *Meter) QueryOrder(ctx context.Context, orderID string, amount, tip int64) (*gateway.Result, error) {
	t0 := m.now()
	res, err := m.g.QueryOrder(ctx, orderID, amount, tip)
	m.record("query", t0, err)
	return res, err
}

func (m *Meter) Refund(ctx context.Context, r gateway.RefundRequest) (*gateway.Result, error) {
	t0 := m.now()
	res, err := m.g.Refund(ctx, r)
	m.record("refund", t0, err)
	return res, err
}

// ExchangeRate is EX_RATE_QUERY, when the wrapped gateway has it.
func (m *Meter) ExchangeRate(ctx context.Context, currency string) (*gateway.Result, error) {
	g, ok := m.g.(rate.Fetcher)
	if !ok {
		return nil, &gateway.Error{Action: gateway.ActionExRateQuery, Outcome: gateway.Unknown, Err: fmt.Errorf("%w: this gateway has no exchange-rate query", gateway.ErrNotSent)}
	}
	t0 := m.now()
	res, err := g.ExchangeRate(ctx, currency)
	m.record("rate", t0, err)
	return res, err
}

// Watch tells the credentials' watch of an answer that refused a request
// or did not verify (suspect), and takes the credentials' state for Status
// from it (auth). Call it once, before the first call.
func (m *Meter) Watch(suspect func(), auth func() gwauth.Status) { m.suspect, m.auth = suspect, auth }

// HasRate reports whether the wrapped gateway answers EX_RATE_QUERY.
func (m *Meter) HasRate() bool { _, ok := m.g.(rate.Fetcher); return ok }

// Status is the gateway part of /v1/status.
type Status struct {
	Reachable   bool       `json:"reachable"`
	LastContact *time.Time `json:"last_contact,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	// Auth is whether the gateway accepts this terminal's credentials.
	Auth gwauth.Status `json:"auth"`
}

// Status is whether the gateway answers, when it last did, its last error
// and the credentials' state.
func (m *Meter) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Status{Reachable: m.reachable || !m.everTried, LastError: m.lastError}
	if m.auth != nil {
		s.Auth = m.auth()
	}
	if !m.lastContact.IsZero() {
		t := m.lastContact.UTC()
		s.LastContact = &t
	}
	return s
}

// Describe and Collect make the meter a prometheus.Collector: the
// histogram and the error counter as kept, reachability as it is now.
func (m *Meter) Describe(ch chan<- *prometheus.Desc) {
	m.latency.Describe(ch)
	m.errs.Describe(ch)
	ch <- m.up
}

func (m *Meter) Collect(ch chan<- prometheus.Metric) {
	m.latency.Collect(ch)
	m.errs.Collect(ch)
	m.mu.Lock()
	up := m.reachable || !m.everTried
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.up, prometheus.GaugeValue, boolGauge(up))
}

// boolGauge is a gauge of a condition: 1 for true, 0 for false.
func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
