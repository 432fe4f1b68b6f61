package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// The gateway's credentials (sign key, merchant id) are proven, not
// assumed. A bare FAIL carries no data, so nothing in it is
// authenticated: with a wrong sign key the gateway answers FAIL to every
// request, and a FAIL to STATUS_QUERY would read as "no such order". So:
//
//   - a "no such order" counts only when a probe that started after it
//     proved the channel sound: a STATUS_QUERY of a known paid order
//     answered with authenticated data and the right amount, or else an
//     EX_RATE_QUERY answered with authenticated data (soundAfter);
//   - a probe the gateway refuses (a refusal code, or data that does not
//     verify: another key, another merchant) marks the credentials
//     refused (gateway_auth): payments and refunds are held with
//     gateway_auth (unavailable) instead of being sent and declined, /v1/status,
//     /metrics and the alert PosagentGatewayAuth say so, and the probe
//     runs again every AuthRecheck until it passes (or a reload brings
//     new credentials);
//   - a probe with no answer says nothing (the gateway is unreachable,
//     which is another matter).

// Gateway credential states (Status.Gateway.Auth).
const (
	AuthUnknown = "unknown" // not proven yet (or the gateway did not answer)
	AuthOK      = "ok"      // the last probe answered with authenticated data
	AuthRefused = "refused" // the gateway refused the credentials, or its answers did not verify
)

// AuthStatus is what /v1/status reports of the gateway's credentials.
type AuthStatus struct {
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
	state  string // AuthOK, AuthRefused, or AuthUnknown (no answer)
	reason string
	sound  bool
}

// probeCall is one probe in flight; done closes when res is set.
type probeCall struct {
	start time.Duration // monotonic
	done  chan struct{}
	res   probeResult
}

// authWatch keeps the credentials' state and runs the probes, one at a
// time: callers that need a probe started after a moment share it.
type authWatch struct {
	e       *Engine
	mu      sync.Mutex
	st      AuthStatus
	last    *probeCall // the newest probe, finished or in flight
	wake    chan struct{}
	probes  int
	refusal int
}

func newAuthWatch(e *Engine) *authWatch {
	return &authWatch{e: e, st: AuthStatus{State: AuthUnknown}, wake: make(chan struct{}, 1)}
}

// refuse is the error for work that must not be sent while the
// credentials are refused, or nil.
func (a *authWatch) refuse() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.st.State != AuthRefused {
		return nil
	}
	return errf(CodeGatewayAuth, "the gateway refuses this terminal's credentials (%s): check gateway.merchant_id and gateway.sign_key, then reload; nothing is sent until a check passes", a.st.Reason)
}

// status is the credentials' state now.
func (a *authWatch) status() AuthStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// suspect asks for a probe soon (an answer that did not verify, or a
// refusal): the watch loop runs one unless one ran within AuthRecheck.
func (a *authWatch) suspect() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// soundAfter reports whether a probe started at or after the monotonic
// reading t proved the channel sound, running one if needed.
func (a *authWatch) soundAfter(ctx context.Context, t time.Duration) bool {
	r := a.probeAfter(ctx, t)
	return r.state == AuthOK && r.sound
}

// probeAfter returns the result of a probe started at or after t: the
// one in flight when it qualifies, else a new one.
func (a *authWatch) probeAfter(ctx context.Context, t time.Duration) probeResult {
	a.mu.Lock()
	c := a.last
	if c == nil || c.start < t {
		c = &probeCall{start: a.e.mono(), done: make(chan struct{})}
		a.last = c
		a.mu.Unlock()
		res := a.e.probe(ctx)
		a.record(c, res)
	} else {
		a.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.res
	case <-ctx.Done():
		return probeResult{state: AuthUnknown, reason: ctx.Err().Error()}
	}
}

// record ends probe c with res and updates the state: an answer without
// proof either way (no answer) leaves the state as it was.
func (a *authWatch) record(c *probeCall, res probeResult) {
	a.mu.Lock()
	c.res = res
	close(c.done)
	a.probes++
	now := a.e.now()
	prev := a.st.State
	if res.state != AuthUnknown {
		a.st.Checked = now
		if res.state != prev {
			a.st.Since = now
		}
		a.st.State, a.st.Reason = res.state, res.reason
		if res.state == AuthOK {
			a.st.Reason = ""
		}
	}
	if res.state == AuthRefused {
		a.refusal++
	}
	a.mu.Unlock()
	switch {
	case res.state == AuthRefused && prev != AuthRefused:
		a.e.log.Error("agent: the gateway refuses this terminal's credentials; payments and refunds are held (gateway_auth)", "reason", res.reason)
		a.e.appendEvent(Event{Kind: KindGatewayAuth, At: now, Reason: res.reason})
	case res.state == AuthOK && prev == AuthRefused:
		a.e.log.Info("agent: the gateway accepts this terminal's credentials again")
		a.e.appendEvent(Event{Kind: KindGatewayAuth, At: now, Reason: "ok"})
		a.e.kickOutbox()
	}
}

// run proves the credentials at start, when an answer is suspect (at most
// once per AuthRecheck), and every AuthRecheck while they are refused.
func (a *authWatch) run(ctx context.Context) {
	every := a.e.o.AuthRecheck
	a.probeAfter(ctx, a.e.mono())
	for {
		var tick <-chan time.Time
		if a.status().State == AuthRefused {
			tick = a.e.clock.After(every)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-a.wake:
			a.mu.Lock()
			recent := a.last != nil && a.e.mono()-a.last.start < every
			a.mu.Unlock()
			if recent {
				continue
			}
		}
		a.probeAfter(ctx, a.e.mono())
	}
}

// probe proves the channel once: STATUS_QUERY of the newest payment known
// paid (authenticated data with the right amount), else EX_RATE_QUERY of
// the merchant's currency (authenticated data). A refusal or an answer
// that does not verify is AuthRefused; no answer is AuthUnknown.
func (e *Engine) probe(ctx context.Context) probeResult {
	ctx, cancel := context.WithTimeout(ctx, gateway.DefaultTimeout)
	defer cancel()
	paid := e.knownPaid()
	if paid != nil {
		_, err := e.gw.QueryOrder(ctx, paid.OrderID, paid.Amount, paid.Tip)
		r := probeVerdict("STATUS_QUERY of paid order "+paid.OrderID, err)
		switch {
		case r.state == AuthOK:
			r.sound = true
			return r
		case r.state == AuthUnknown && r.reason != errNotPaid.Error():
			return r // no answer: nothing proven
		case r.state == AuthRefused && errors.Is(err, gateway.ErrUnverified):
			return r // an answer under another key
		}
		// A bare refusal: the credentials, or an order this gateway does
		// not know (another environment behind gateway.url, or a gateway
		// that lost it). EX_RATE_QUERY tells the credentials; order
		// look-ups stay unproven either way.
		e.log.Warn("agent: the gateway does not confirm an order it reported paid; \"no such order\" answers are not believed", "order_id", paid.OrderID, "err", err)
	}
	if e.gw.hasRate() {
		_, err := e.gw.ExchangeRate(ctx, e.o.Currency)
		r := probeVerdict("EX_RATE_QUERY", err)
		r.sound = r.state == AuthOK && paid == nil
		return r
	}
	return probeResult{state: AuthUnknown, reason: "no paid order to query and no exchange-rate query"}
}

// errNotPaid: a known paid order answered with authenticated data that it
// is not (yet) paid: no proof either way.
var errNotPaid = errors.New("agent: the probe's order is not reported paid")

// probeVerdict reads a probe's error by structure.
func probeVerdict(what string, err error) probeResult {
	if err == nil {
		return probeResult{state: AuthOK}
	}
	var ge *gateway.Error
	switch {
	case errors.Is(err, gateway.ErrNotSent):
		return probeResult{state: AuthUnknown, reason: err.Error()}
	case errors.Is(err, gateway.ErrUnverified) && errors.As(err, &ge) && ge.Code != "":
		// An answer arrived but its data did not verify: another key or
		// another merchant answered.
		return probeResult{state: AuthRefused, reason: fmt.Sprintf("%s: the answer does not verify (%v)", what, errors.Unwrap(err))}
	case errors.As(err, &ge) && ge.Code != "" && gateway.Classify(gateway.ActionExRateQuery, ge.Code, "") == gateway.Failed:
		return probeResult{state: AuthRefused, reason: fmt.Sprintf("%s refused: %s %s", what, ge.Code, ge.Message)}
	case errors.As(err, &ge) && ge.Code == gateway.CodeSuccess:
		return probeResult{state: AuthUnknown, reason: errNotPaid.Error()}
	}
	return probeResult{state: AuthUnknown, reason: err.Error()}
}

// knownPaid is the newest succeeded payment the gateway answered for
// (not one settled by hand), or nil.
func (e *Engine) knownPaid() *store.Payment {
	var out *store.Payment
	e.st.View(func(tx *store.Tx) error {
		n := 0
		return tx.PaymentsIn(Succeeded, true, "", func(p *store.Payment) (bool, error) {
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
	return r.state == AuthRefused, r.reason
}
