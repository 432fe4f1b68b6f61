package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/posagent/posagent/gateway"
)

// meter wraps the Gateway and records latency, errors and reachability.
type meter struct {
	g     Gateway
	clock Clock
	// mu guards everything below.
	mu          sync.Mutex
	hist        map[string]*histogram
	errs        map[[2]string]uint64 // action, outcome
	reachable   bool
	everTried   bool
	lastContact time.Time
	lastError   string
}

var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30}

type histogram struct {
	counts []uint64 // per bucket, cumulative at render time
	sum    float64
	n      uint64
}

func newMeter(g Gateway, c Clock) *meter {
	return &meter{g: g, clock: c, hist: map[string]*histogram{}, errs: map[[2]string]uint64{}}
}

func (m *meter) record(action string, t0 time.Time, err error) {
	d := m.clock.Now().Sub(t0).Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.hist[action]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets))}
		m.hist[action] = h
	}
	for i, b := range latencyBuckets {
		if d <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += d
	h.n++
	m.everTried = true
	if err == nil {
		m.reachable, m.lastContact = true, m.clock.Now()
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	var ge *gateway.Error
	answered := errors.As(err, &ge) && ge.Code != ""
	out := gateway.OutcomeOf(err).String()
	if errors.Is(err, gateway.ErrNotSent) {
		out = "not_sent"
	}
	m.errs[[2]string{action, out}]++
	// A verified SUCCESS whose order is still open (notpay) is an answer,
	// not a gateway error: it is counted, but not shown as the last error.
	if !answered || ge.Code != gateway.CodeSuccess {
		m.lastError = err.Error()
	}
	if answered {
		m.reachable, m.lastContact = true, m.clock.Now()
	} else {
		m.reachable = false
	}
}

func (m *meter) PassivePay(ctx context.Context, r gateway.PayRequest) (*gateway.Result, error) {
	t0 := m.clock.Now()
	res, err := m.g.PassivePay(ctx, r)
	m.record("scan", t0, err)
	return res, err
}

func (m *meter) ActivePay(ctx context.Context, r gateway.QRRequest) (*gateway.Result, error) {
	t0 := m.clock.Now()
	res, err := m.g.ActivePay(ctx, r)
	m.record("qr", t0, err)
	return res, err
}

func (m *meter) QueryOrder(ctx context.Context, orderID string, amount int64) (*gateway.Result, error) {
	t0 := m.clock.Now()
	res, err := m.g.QueryOrder(ctx, orderID, amount)
	m.record("query", t0, err)
	return res, err
}

func (m *meter) Refund(ctx context.Context, r gateway.RefundRequest) (*gateway.Result, error) {
	t0 := m.clock.Now()
	res, err := m.g.Refund(ctx, r)
	m.record("refund", t0, err)
	return res, err
}

// GatewayStatus is the gateway part of /v1/status.
type GatewayStatus struct {
	Reachable   bool       `json:"reachable"`
	LastContact *time.Time `json:"last_contact,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

func (m *meter) status() GatewayStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := GatewayStatus{Reachable: m.reachable || !m.everTried, LastError: m.lastError}
	if !m.lastContact.IsZero() {
		t := m.lastContact.UTC()
		s.LastContact = &t
	}
	return s
}

func (m *meter) writeMetrics(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP posagent_gateway_request_duration_seconds Gateway call latency by action.")
	fmt.Fprintln(w, "# TYPE posagent_gateway_request_duration_seconds histogram")
	actions := make([]string, 0, len(m.hist))
	for a := range m.hist {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		h := m.hist[a]
		var cum uint64
		for i, b := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "posagent_gateway_request_duration_seconds_bucket{action=%q,le=\"%g\"} %d\n", a, b, cum)
		}
		fmt.Fprintf(w, "posagent_gateway_request_duration_seconds_bucket{action=%q,le=\"+Inf\"} %d\n", a, h.n)
		fmt.Fprintf(w, "posagent_gateway_request_duration_seconds_sum{action=%q} %g\n", a, h.sum)
		fmt.Fprintf(w, "posagent_gateway_request_duration_seconds_count{action=%q} %d\n", a, h.n)
	}
	fmt.Fprintln(w, "# HELP posagent_gateway_errors_total Gateway calls that did not end Paid, by action and outcome.")
	fmt.Fprintln(w, "# TYPE posagent_gateway_errors_total counter")
	keys := make([][2]string, 0, len(m.errs))
	for k := range m.errs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	for _, k := range keys {
		fmt.Fprintf(w, "posagent_gateway_errors_total{action=%q,outcome=%q} %d\n", k[0], k[1], m.errs[k])
	}
	up := 0
	if m.reachable || !m.everTried {
		up = 1
	}
	fmt.Fprintln(w, "# HELP posagent_gateway_reachable 1 when the last gateway call got an answer.")
	fmt.Fprintln(w, "# TYPE posagent_gateway_reachable gauge")
	fmt.Fprintf(w, "posagent_gateway_reachable %d\n", up)
}
