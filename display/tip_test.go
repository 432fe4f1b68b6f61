package display_test

import (
	"testing"
	"time"

	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/internal/displaytest"
)

func TestScreenForTip(t *testing.T) {
	s := display.ScreenFor(display.Payment{ID: "p1", Mode: "scan", State: "processing", Amount: 1250, Tip: 200, Currency: "CAD"}, time.Now())
	if s.Amount != 1250 || s.Tip != 200 || display.TipLine(s) != "12.50 + tip 2.00" {
		t.Fatalf("screen %+v, tip line %q", s, display.TipLine(s))
	}
	if display.TipLine(display.Screen{Amount: 100}) != "" {
		t.Fatal("a screen without a tip has a tip line")
	}
}

// The page shows the total in large type and the amount and tip under it,
// for a cart and for a payment, in real Chromium.
func TestPageShowsTip(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	s := newStand(t, "en", 2*time.Second)
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	s.publish(display.EventCartUpdated, map[string]any{"amount": 1250, "tip": 200, "currency": "CAD", "reference": "INV-1001"})
	must(t, displaytest.WaitScreen(ctx, display.KindAmountDue))
	if a, l := text(t, ctx, "amount"), text(t, ctx, "tipline"); a != "CAD 14.50" || l != "CAD 12.50 + tip CAD 2.00" {
		t.Errorf("cart: amount %q, tip line %q", a, l)
	}
	p := s.payment("pay_tip1", "scan", "processing", "", "", time.Time{})
	p["tip"] = 300
	s.publish(display.EventPaymentUpdated, p)
	must(t, displaytest.WaitUntil(ctx, `POS.screen && POS.screen.payment_id === "pay_tip1"`))
	if a, l := text(t, ctx, "amount"), text(t, ctx, "tipline"); a != "CAD 15.50" || l != "CAD 12.50 + tip CAD 3.00" {
		t.Errorf("payment: amount %q, tip line %q", a, l)
	}
	// Without a tip the line is empty.
	s.publish(display.EventPaymentUpdated, s.payment("pay_tip2", "scan", "processing", "", "", time.Time{}))
	must(t, displaytest.WaitUntil(ctx, `POS.screen && POS.screen.payment_id === "pay_tip2"`))
	if a, l := text(t, ctx, "amount"), text(t, ctx, "tipline"); a != "CAD 12.50" || l != "" {
		t.Errorf("no tip: amount %q, tip line %q", a, l)
	}
}

// A payment that waits for its code while the cashier checks an earlier
// one (possible_duplicate) asks the customer to wait, on the page (real
// Chromium) and on the rendered screens alike.
func TestCheckingEarlierPayment(t *testing.T) {
	p := display.Payment{ID: "p2", Mode: "scan", State: "awaiting_code", Amount: 2001, Currency: "CAD",
		Warnings: []display.Warning{{Code: "possible_duplicate"}}}
	if s := display.ScreenFor(p, time.Now()); s.Kind != display.KindAmountDue || s.Message != display.MsgCheckingEarlier {
		t.Fatalf("screen %+v", s)
	}
	p.State = "processing" // the cashier gave the code: on as usual
	if s := display.ScreenFor(p, time.Now()); s.Kind != display.KindScanPrompt {
		t.Fatalf("after the code: %+v", s)
	}
	if display.MessageChinese(display.MsgCheckingEarlier) == "" {
		t.Fatal("no Chinese line")
	}

	ctx := displaytest.StartBrowser(t)
	st := newStand(t, "en", 2*time.Second)
	must(t, displaytest.Open(ctx, st.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	pay := st.payment("pay_dup2", "scan", "awaiting_code", "", "", time.Time{})
	pay["warnings"] = []any{map[string]any{"code": "possible_duplicate", "payment_id": "pay_dup1", "message": "..."}}
	st.publish(display.EventPaymentUpdated, pay)
	must(t, displaytest.WaitUntil(ctx, `POS.screen && POS.screen.payment_id === "pay_dup2"`))
	if got := text(t, ctx, "message1"); got != "Please wait, we are checking your earlier payment" {
		t.Errorf("message %q", got)
	}
}

// The CNY estimate: "≈ ¥ ..." under the amount of WeChat Pay and Alipay
// screens, at the rate config.json gives and then at a rate.updated
// event's; none for UnionPay, none once the rate is older than
// RateMaxAge. In real Chromium.
func TestPageShowsCNYEstimate(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	at := time.Now().Add(-10 * time.Minute)
	s := newStandWith(t, "en", 2*time.Second, true, func(o *display.Options) {
		o.Rate = func() (string, int64, time.Time, bool) { return "CAD", 515000000, at, true }
		o.RateMaxAge = time.Hour
	})
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	s.publish(display.EventPaymentUpdated, s.payment("pay_cny1", "qr", "processing", "wechat", "https://qr.example/1", time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitScreen(ctx, display.KindQR))
	if got := text(t, ctx, "cny"); got != "≈ ¥ 64.38" { // 12.50 CAD at 5.15
		t.Errorf("wechat: cny %q", got)
	}
	// A new rate arrives on the event stream.
	s.publish("rate.updated", map[string]any{"currency": "CAD", "rate": 520000000, "at": time.Now().UTC().Format(time.RFC3339Nano)})
	must(t, displaytest.WaitUntil(ctx, `document.getElementById("cny").textContent === "≈ ¥ 65.00"`))
	// UnionPay: no estimate.
	s.publish(display.EventPaymentUpdated, s.payment("pay_cny2", "qr", "processing", "unionpay", "https://qr.example/2", time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitUntil(ctx, `POS.screen && POS.screen.payment_id === "pay_cny2"`))
	if got := text(t, ctx, "cny"); got != "" {
		t.Errorf("unionpay: cny %q", got)
	}
	// A stale rate is not shown.
	s.publish("rate.updated", map[string]any{"currency": "CAD", "rate": 520000000, "at": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339Nano)})
	s.publish(display.EventPaymentUpdated, s.payment("pay_cny3", "qr", "processing", "alipay", "https://qr.example/3", time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitUntil(ctx, `POS.screen && POS.screen.payment_id === "pay_cny3"`))
	if got := text(t, ctx, "cny"); got != "" {
		t.Errorf("stale rate: cny %q", got)
	}
}
