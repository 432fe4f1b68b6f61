package stacktest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
)

// manualClock is a Clock that moves only when the test advances it. Its
// wall clock can also jump (Jump) without the monotonic clock moving.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	mono    time.Duration
	waiters []manualWaiter
}

// Mono implements MonoClock.
func (c *manualClock) Mono() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

// Jump moves the wall clock by d (either way); timers and the monotonic
// clock do not move.
func (c *manualClock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type manualWaiter struct {
	at time.Duration // monotonic
	ch chan time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, manualWaiter{c.mono + d, ch})
	return ch
}

// run advances the clock by step every real millisecond until the test
// ends: compressed time that still only moves forward.
func (c *manualClock) run(t testing.TB, step time.Duration) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				c.Advance(step)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.mono += d
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at <= c.mono {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// The offline window runs on the engine's clock, with the real defaults
// (60 s validity, retry every 3 s): a scan payment stays queued while the
// gateway is unreachable and expires when its code's minute is over,
// whatever the wall clock does.
func TestOfflineWindowFollowsTheClock(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close() // connection refused: nothing is ever sent
	gw, hc := newGatewayClient(t, dead)
	defer hc.CloseIdleConnections()
	clk := &manualClock{now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	a := startAgent(t, "", gw, agent.Options{Clock: clk, Timing: timingWith(func(t *agent.Timing) { t.APIWait = time.Nanosecond })})
	id := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: wechatCode(500)}).ID
	a.waitUntil(id, "queued", func(p *agent.Payment) bool { return p.State == agent.Queued })
	for s := 0; s < 59; s++ {
		clk.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	if p := a.payment(id); p.State != agent.Queued && p.State != agent.Processing {
		t.Fatalf("59 s after the code: %s (history %v)", p.State, p.History)
	}
	clk.Advance(2 * time.Second)
	for i := 0; i < 100 && a.payment(id).State != agent.Expired; i++ {
		clk.Advance(time.Second) // wake whichever wait is pending
		time.Sleep(5 * time.Millisecond)
	}
	p := a.payment(id)
	if p.State != agent.Expired || p.Error == nil || p.Error.Code != "code_expired" {
		t.Fatalf("after the code's minute: %s %v", p.State, p.Error)
	}
	if at := p.History[len(p.History)-1].At; at.Sub(p.CreatedAt) < 60*time.Second {
		t.Errorf("expired at %v, %v after creation (clock time)", at, at.Sub(p.CreatedAt))
	}
	// One entry per state change: the retries are counted on the one
	// queued entry, not recorded as a processing/queued pair each.
	retries, queued, processing := 0, 0, 0
	for _, h := range p.History {
		switch h.State {
		case "queued":
			queued++
			retries = h.Retries
		case "processing":
			processing++
		}
	}
	if queued != 1 || processing > 2 {
		t.Errorf("history has %d queued and %d processing entries, want one queued entry (and at most the first send and the last retry): %v", queued, processing, p.History)
	}
	// Every 3 s of clock time would be 20 attempts; a busy machine may let
	// the test's clock run ahead of the driver between steps, so ask only
	// that it kept retrying across the window rather than giving up.
	if retries < 3 {
		t.Errorf("only %d retries in the 60 s window (retry every 3 s): %v", retries, p.History)
	}
}
