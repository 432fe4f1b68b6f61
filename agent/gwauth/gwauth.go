package gwauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// Gateway credential states (Status.Gateway.Auth).
const (
	Unknown = "unknown" // not proven yet (or the gateway did not answer)
	OK      = "ok"      // the last probe answered with authenticated data
	Refused = "refused" // the gateway refused the credentials, or its answers did not verify
)

// Status is what /v1/status reports of the gateway's credentials.
type Status struct {
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	// Checked is when the last probe answered.
	Checked time.Time `json:"checked,omitzero"`
}

// probeResult is what one probe found: the credentials' state, and
// whether the channel is sound for order look-ups (a "no such order" can
// be believed): the newest order known paid answered paid, or, with no
// such order, an authenticated EX_RATE_QUERY answered.
type probeResult struct {
	state  string // OK, Refused, or Unknown (no answer)
	reason string
	sound  bool
}

// probeCall is one probe in flight; done closes when res is set.
type probeCall struct {
	start time.Duration // monotonic
	done  chan struct{}
	res   probeResult
}

// Gateway is the (metered) gateway the probes ask.
type Gateway interface {
	QueryOrder(ctx context.Context, orderID string, amount, tip int64) (*gateway.Result, error)
	ExchangeRate(ctx context.Context, currency string) (*gateway.Result, error)
}

// Options configure a Watch.
type Options struct {
	Gateway  Gateway      // required
	HasRate  bool         // the gateway answers EX_RATE_QUERY
	Currency string       // the merchant account's, for EX_RATE_QUERY
	Store    *store.Store // required: the newest order known paid is probed
	Now      func() time.Time
	Mono     func() time.Duration                 // the monotonic reading
	After    func(time.Duration) <-chan time.Time // waits
	// Recheck is how often the credentials are proven again while they
	// are refused, and the least time between two probes an answer asks
	// for (agent.Timing.AuthRecheck).
	Recheck time.Duration
	// OnChange is told when the credentials become refused, or accepted
	// again (refused false), with why and when: the engine journals a
	// gateway.auth event.
	OnChange func(refused bool, reason string, at time.Time)
	Logger   *slog.Logger // nil: discard
}

// Watch keeps the credentials' state and runs the probes, one at a
// time: callers that need a probe started after a moment share it.
// Create with New; Run proves them at start and again when asked.
type Watch struct {
	o       Options
	mu      sync.Mutex
	st      Status
	last    *probeCall // the newest probe, finished or in flight
	wake    chan struct{}
	probes  int
	refusal int
}

// New returns a Watch; nothing is probed until Run (or SoundAfter).
func New(o Options) *Watch {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watch{o: o, st: Status{State: Unknown}, wake: make(chan struct{}, 1)}
}

// Refuse is the error for work that must not be sent while the
// credentials are refused, or nil.
func (a *Watch) Refuse() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.st.State != Refused {
		return nil
	}
	return operr.Errorf(operr.CodeGatewayAuth, "the gateway refuses this terminal's credentials (%s): check gateway.merchant_id and gateway.sign_key, then reload; nothing is sent until a check passes", a.st.Reason)
}

// Status is the credentials' state now.
func (a *Watch) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// Suspect asks for a probe soon (an answer that did not verify, or a
// refusal): the watch loop runs one unless one ran within AuthRecheck.
func (a *Watch) Suspect() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// SoundAfter reports whether a probe started at or after the monotonic
// reading t proved the channel sound, running one if needed.
func (a *Watch) SoundAfter(ctx context.Context, t time.Duration) bool {
	r := a.probeAfter(ctx, t)
	return r.state == OK && r.sound
}

// probeAfter returns the result of a probe started at or after t: the
// one in flight when it qualifies, else a new one.
func (a *Watch) probeAfter(ctx context.Context, t time.Duration) probeResult {
	a.mu.Lock()
	c := a.last
	if c == nil || c.start < t {
		c = &probeCall{start: a.o.Mono(), done: make(chan struct{})}
		a.last = c
		a.mu.Unlock()
		res := a.probe(ctx)
		a.record(c, res)
	} else {
		a.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.res
	case <-ctx.Done():
		return probeResult{state: Unknown, reason: ctx.Err().Error()}
	}
}

// record ends probe c with res and updates the state: an answer without
// proof either way (no answer) leaves the state as it was.
func (a *Watch) record(c *probeCall, res probeResult) {
	a.mu.Lock()
	c.res = res
	close(c.done)
	a.probes++
	now := a.o.Now().UTC()
	prev := a.st.State
	if res.state != Unknown {
		a.st.Checked = now
		if res.state != prev {
			a.st.Since = now
		}
		a.st.State, a.st.Reason = res.state, res.reason
		if res.state == OK {
			a.st.Reason = ""
		}
	}
	if res.state == Refused {
		a.refusal++
	}
	a.mu.Unlock()
	switch {
	case res.state == Refused && prev != Refused:
		a.o.Logger.Error("agent: the gateway refuses this terminal's credentials; payments and refunds are held (gateway_auth)", "reason", res.reason)
		if a.o.OnChange != nil {
			a.o.OnChange(true, res.reason, now)
		}
	case res.state == OK && prev == Refused:
		a.o.Logger.Info("agent: the gateway accepts this terminal's credentials again")
		if a.o.OnChange != nil {
			a.o.OnChange(false, "ok", now)
		}
	}
}

// Run proves the credentials at start, when an answer is suspect (at most
// once per Options.Recheck), and every Recheck while they are refused,
// until ctx ends. Cancellation is not an error.
func (a *Watch) Run(ctx context.Context) error {
	every := a.o.Recheck
	a.probeAfter(ctx, a.o.Mono())
	for {
		var tick <-chan time.Time
		if a.Status().State == Refused {
			tick = a.o.After(every)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		case <-a.wake:
			a.mu.Lock()
			recent := a.last != nil && a.o.Mono()-a.last.start < every
			a.mu.Unlock()
			if recent {
				continue
			}
		}
		a.probeAfter(ctx, a.o.Mono())
	}
}

// probe proves the channel once: STATUS_QUERY of the newest payment known
// paid (authenticated data with the right amount), else EX_RATE_QUERY of
// the merchant's currency (authenticated data). A refusal or an answer
// that does not verify is Refused; no answer is Unknown.
func (a *Watch) probe(ctx context.Context) probeResult {
	ctx, cancel := context.WithTimeout(ctx, gateway.DefaultTimeout)
	defer cancel()
	paid := a.knownPaid()
	if paid != nil {
		_, err := a.o.Gateway.QueryOrder(ctx, paid.OrderID, paid.Amount, paid.Tip)
		r := probeVerdict("STATUS_QUERY of paid order "+paid.OrderID, err)
		switch {
		case r.state == OK:
			r.sound = true
			return r
		case r.state == Unknown && r.reason != errNotPaid.Error():
			return r // no answer: nothing proven
		case r.state == Refused && errors.Is(err, gateway.ErrUnverified):
			return r // an answer under another key
		}
		// A bare refusal: the credentials, or an order this gateway does
		// not know (another environment behind gateway.url, or a gateway
		// that lost it). EX_RATE_QUERY tells the credentials; order
		// look-ups stay unproven either way.
		a.o.Logger.Warn("agent: the gateway does not confirm an order it reported paid; \"no such order\" answers are not believed", "order_id", paid.OrderID, "err", err)
	}
	if a.o.HasRate {
		_, err := a.o.Gateway.ExchangeRate(ctx, a.o.Currency)
		r := probeVerdict("EX_RATE_QUERY", err)
		r.sound = r.state == OK && paid == nil
		return r
	}
	return probeResult{state: Unknown, reason: "no paid order to query and no exchange-rate query"}
}

// errNotPaid: a known paid order answered with authenticated data that it
// is not (yet) paid: no proof either way.
var errNotPaid = errors.New("agent: the probe's order is not reported paid")

// probeVerdict reads a probe's error by structure.
func probeVerdict(what string, err error) probeResult {
	if err == nil {
		return probeResult{state: OK}
	}
	var ge *gateway.Error
	switch {
	case errors.Is(err, gateway.ErrNotSent):
		return probeResult{state: Unknown, reason: err.Error()}
	case errors.Is(err, gateway.ErrUnverified) && errors.As(err, &ge) && ge.Code != "":
		// An answer arrived but its data did not verify: another key or
		// another merchant answered.
		return probeResult{state: Refused, reason: fmt.Sprintf("%s: the answer does not verify (%v)", what, errors.Unwrap(err))}
	case errors.As(err, &ge) && ge.Code != "" && gateway.Classify(gateway.ActionExRateQuery, ge.Code, "") == gateway.Failed:
		return probeResult{state: Refused, reason: fmt.Sprintf("%s refused: %s %s", what, ge.Code, ge.Message)}
	case errors.As(err, &ge) && ge.Code == gateway.CodeSuccess:
		return probeResult{state: Unknown, reason: errNotPaid.Error()}
	}
	return probeResult{state: Unknown, reason: err.Error()}
}

// knownPaid is the newest succeeded payment the gateway answered for
// (not one settled by hand), or nil.
func (a *Watch) knownPaid() *store.Payment {
	var out *store.Payment
	a.o.Store.View(func(tx *store.Tx) error {
		n := 0
		return tx.PaymentsIn(store.Succeeded, true, "", func(p *store.Payment) (bool, error) {
			n++
			if p.Resolution == nil && p.Answer != nil && p.Answer.Answered && p.OrderID != "" && p.Amount > 0 {
				out = p
				return false, nil
			}
			return n < 20, nil
		})
	})
	return out
}

// CredentialsRefused reads, by structure, the error of a harmless request
// (EX_RATE_QUERY) made to test the gateway's credentials: refused is true
// when the gateway refused them or its answer did not verify (another
// key or merchant), with why; false when it answered, or did not answer
// at all (a network matter, not the credentials). posagent doctor uses it.
func CredentialsRefused(err error) (refused bool, why string) {
	r := probeVerdict("EX_RATE_QUERY", err)
	return r.state == Refused, r.reason
}
