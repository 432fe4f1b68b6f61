package display

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a Sink keeping what it was shown.
type recorder struct {
	mu    sync.Mutex
	shown []Screen
	err   error
}

func (r *recorder) Show(s Screen) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shown = append(r.shown, s)
	return r.err
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []string
	for _, s := range r.shown {
		ks = append(ks, s.Kind)
	}
	return ks
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ev builds an event in the agent's SSE data format.
func ev(seq int, kind, payload string) (string, json.RawMessage) {
	field := "payment"
	if kind == EventCartUpdated {
		field = "cart"
	}
	return kind, json.RawMessage(fmt.Sprintf(`{"seq":%d,"kind":%q,"at":"2026-11-25T18:30:00Z",%q:%s}`, seq, kind, field, payload))
}

func pay(id, mode, state string, extra string) string {
	return fmt.Sprintf(`{"id":%q,"mode":%q,"wallet":"wechat","amount":1250,"currency":"CAD","state":%q,"error":null%s}`,
		id, mode, state, extra)
}

func TestControllerSequences(t *testing.T) {
	type step struct {
		advance time.Duration
		kind    string
		payload string
		want    string // Kind of Current() after the step
	}
	qr := `,"code_url":"https://sim/pay/O1","qr_expires_at":"2026-11-25T18:35:00Z"`
	tests := []struct {
		name  string
		steps []step
	}{
		{"scan paid then hold to idle", []step{
			{0, EventPaymentUpdated, pay("a", "scan", "awaiting_code", ""), KindScanPrompt},
			{time.Second, EventPaymentUpdated, pay("a", "scan", "processing", ""), KindScanPrompt},
			{time.Second, EventPaymentUpdated, pay("a", "scan", "succeeded", ""), KindPaid},
			{7 * time.Second, "", "", KindPaid},
			{time.Second, "", "", KindIdle},
		}},
		{"qr then expired qr", []step{
			{0, EventPaymentUpdated, pay("a", "qr", "processing", qr), KindQR},
			{5 * time.Minute, EventPaymentUpdated, pay("a", "qr", "processing", qr), KindAmountDue},
			{time.Second, EventPaymentUpdated, pay("a", "qr", "cancelled", qr), KindCancelled},
		}},
		{"cart then payment then cart waits", []step{
			{0, EventCartUpdated, `{"amount":1250,"currency":"CAD","reference":"R"}`, KindAmountDue},
			{0, EventPaymentUpdated, pay("a", "scan", "awaiting_code", ""), KindScanPrompt},
			{0, EventCartUpdated, `{"amount":900,"currency":"CAD"}`, KindScanPrompt},
			{0, EventPaymentUpdated, pay("a", "scan", "failed", `,"error":{"code":"declined","message":""}`), KindFailed},
			{time.Second, EventCartUpdated, `{"amount":900,"currency":"CAD"}`, KindAmountDue},
			{0, EventCartUpdated, `{"amount":0,"currency":"CAD"}`, KindIdle},
		}},
		{"cart cleared does not hide a final screen", []step{
			{0, EventPaymentUpdated, pay("a", "scan", "processing", ""), KindScanPrompt},
			{0, EventPaymentUpdated, pay("a", "scan", "succeeded", ""), KindPaid},
			{0, EventCartUpdated, `{"amount":0}`, KindPaid},
		}},
		{"background reconcile does not cover the sale", []step{
			{0, EventPaymentUpdated, pay("b", "scan", "awaiting_code", ""), KindScanPrompt},
			{0, EventPaymentUpdated, pay("old", "scan", "succeeded", ""), KindScanPrompt},
			{0, EventPaymentUpdated, pay("old", "scan", "in_doubt", ""), KindScanPrompt},
		}},
		{"a new payment replaces an in-doubt one", []step{
			{0, EventPaymentUpdated, pay("a", "scan", "in_doubt", ""), KindAmountDue},
			{0, EventPaymentUpdated, pay("b", "qr", "processing", qr), KindQR},
		}},
		{"old final update while idle is ignored", []step{
			{0, EventPaymentUpdated, pay("old", "scan", "succeeded", `,"updated_at":"2026-11-25T18:00:00Z"`), KindIdle},
			{0, EventPaymentUpdated, pay("new", "scan", "succeeded", `,"updated_at":"2026-11-25T18:29:58Z"`), KindPaid},
		}},
		{"in-doubt resolves to paid", []step{
			{0, EventPaymentUpdated, pay("a", "scan", "in_doubt", ""), KindAmountDue},
			{time.Minute, EventPaymentUpdated, pay("a", "scan", "succeeded", `,"updated_at":"2026-11-25T18:31:00Z"`), KindPaid},
		}},
		{"other kinds ignored", []step{
			{0, "scan.barcode", `{"code":"123"}`, KindIdle},
			{0, "device.changed", `{"kind":"scanner"}`, KindIdle},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: t0}
			rec := &recorder{}
			c := NewController(ControllerOptions{Now: clk.Now, Sinks: []Sink{rec}})
			for i, st := range tt.steps {
				clk.Add(st.advance)
				if st.kind != "" {
					k, data := ev(i+1, st.kind, st.payload)
					if err := c.Apply(k, data); err != nil {
						t.Fatalf("step %d: Apply: %v", i, err)
					}
				}
				if got := c.Current().Kind; got != st.want {
					t.Fatalf("step %d (%s): Current().Kind = %q, want %q", i, st.kind, got, st.want)
				}
			}
		})
	}
}

func TestControllerBarePayload(t *testing.T) {
	c := NewController(ControllerOptions{Now: func() time.Time { return t0 }})
	if err := c.Apply(EventPaymentUpdated, json.RawMessage(pay("a", "scan", "processing", ""))); err != nil {
		t.Fatal(err)
	}
	if s := c.Current(); s.Kind != KindScanPrompt || s.Amount != 1250 || s.PaymentID != "a" {
		t.Errorf("Current = %+v", s)
	}
	if err := c.Apply(EventCartUpdated, json.RawMessage(`{"seq":7,"cart":{"amount":1}}`)); err != nil {
		t.Fatal(err)
	}
	if c.Seq() != 7 {
		t.Errorf("Seq = %d, want 7", c.Seq())
	}
}

func TestControllerBadEvents(t *testing.T) {
	c := NewController(ControllerOptions{})
	bad := []struct{ kind, data string }{
		{EventPaymentUpdated, `not json`},
		{EventPaymentUpdated, `{"payment":{"id":"a"}}`},
		{EventPaymentUpdated, `{"payment":{"state":"processing"}}`},
		{EventPaymentUpdated, `{"payment":{"id":"a","state":"processing","amount":"1"}}`},
		{EventCartUpdated, `{"cart":{"amount":-5}}`},
		{EventCartUpdated, `{"cart":{"amount":"x"}}`},
	}
	for _, b := range bad {
		err := c.Apply(b.kind, json.RawMessage(b.data))
		if !errors.Is(err, ErrBadEvent) {
			t.Errorf("Apply(%s, %s) = %v, want ErrBadEvent", b.kind, b.data, err)
		}
	}
	if c.Current().Kind != KindIdle {
		t.Errorf("bad events changed the screen: %+v", c.Current())
	}
}

func TestControllerSinksOnChangeOnly(t *testing.T) {
	rec := &recorder{}
	failing := &recorder{err: errors.New("unplugged")}
	c := NewController(ControllerOptions{Now: func() time.Time { return t0 }, Sinks: []Sink{failing, rec}})
	for _, state := range []string{"awaiting_code", "awaiting_code", "processing", "succeeded", "succeeded"} {
		k, d := ev(1, EventPaymentUpdated, pay("a", "scan", state, ""))
		if err := c.Apply(k, d); err != nil {
			t.Fatal(err)
		}
	}
	got := fmt.Sprint(rec.kinds())
	if want := "[scan_prompt paid]"; got != want {
		t.Errorf("sink saw %s, want %s", got, want)
	}
	if fmt.Sprint(failing.kinds()) != got {
		t.Errorf("a failing sink must still be called: %v", failing.kinds())
	}
}

// TestControllerRun checks that Run returns a final screen to idle after the
// hold and tells the sinks, in compressed (synctest) time.
func TestControllerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		c := NewController(ControllerOptions{Hold: 3 * time.Second, Sinks: []Sink{rec}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()

		k, d := ev(1, EventPaymentUpdated, pay("a", "scan", "succeeded", ""))
		if err := c.Apply(k, d); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := fmt.Sprint(rec.kinds()); got != "[paid]" {
			t.Fatalf("after 2s sinks saw %s", got)
		}
		// A second final screen restarts the hold.
		k, d = ev(2, EventPaymentUpdated, pay("b", "scan", "processing", ""))
		c.Apply(k, d)
		k, d = ev(3, EventPaymentUpdated, pay("b", "scan", "cancelled", ""))
		c.Apply(k, d)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := fmt.Sprint(rec.kinds()); got != "[paid scan_prompt cancelled]" {
			t.Fatalf("sinks saw %s", got)
		}
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		if got := fmt.Sprint(rec.kinds()); got != "[paid scan_prompt cancelled idle]" {
			t.Fatalf("sinks saw %s", got)
		}
		if c.Current().Kind != KindIdle {
			t.Fatalf("Current = %+v", c.Current())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run returned %v after cancel, want nil", err)
		}
	})
}

// FuzzApply: any event data leaves the controller on a valid screen.
func FuzzApply(f *testing.F) {
	f.Add(EventPaymentUpdated, []byte(`{"seq":1,"payment":{"id":"a","mode":"qr","state":"processing","code_url":"u"}}`))
	f.Add(EventCartUpdated, []byte(`{"cart":{"amount":5}}`))
	f.Add(EventPaymentUpdated, []byte(`{"id":"a","state":"succeeded","updated_at":"2026-11-25T18:30:00Z"}`))
	f.Add("x", []byte(`{`))
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		c := NewController(ControllerOptions{Now: func() time.Time { return t0 }})
		err := c.Apply(kind, json.RawMessage(data))
		s := c.Current()
		if err != nil && s.Kind != KindIdle {
			t.Fatalf("failed Apply changed the screen to %+v", s)
		}
		switch s.Kind {
		case KindIdle, KindAmountDue, KindScanPrompt, KindQR, KindPaid, KindFailed, KindCancelled:
		default:
			t.Fatalf("kind %q", s.Kind)
		}
	})
}
