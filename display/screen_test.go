package display

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)

func TestScreenFor(t *testing.T) {
	qrURL := "https://sim.example/pay/ORD1"
	base := Payment{ID: "pay_1", Amount: 1250, Currency: "CAD", Reference: "INV-1"}
	with := func(f func(p *Payment)) Payment { p := base; f(&p); return p }
	tests := []struct {
		name string
		p    Payment
		want Screen
	}{
		{"scan awaiting code", with(func(p *Payment) { p.Mode, p.State = "scan", "awaiting_code" }),
			Screen{Kind: KindScanPrompt, Message: MsgScanPrompt}},
		{"scan processing", with(func(p *Payment) { p.Mode, p.State, p.Wallet = "scan", "processing", "wechat" }),
			Screen{Kind: KindScanPrompt, Message: MsgScanPrompt, Wallet: "wechat"}},
		{"scan waiting for the customer", with(func(p *Payment) {
			p.Mode, p.State, p.Wallet, p.Reason = "scan", "processing", "wechat", "waiting_for_customer"
		}), Screen{Kind: KindAmountDue, Message: MsgConfirmOnPhone, Wallet: "wechat"}},
		{"scan queued", with(func(p *Payment) { p.Mode, p.State = "scan", "queued" }),
			Screen{Kind: KindScanPrompt, Message: MsgScanPrompt}},
		{"qr processing", with(func(p *Payment) {
			p.Mode, p.State, p.Wallet, p.CodeURL, p.QRExpiresAt = "qr", "processing", "alipay", qrURL, t0.Add(time.Minute)
		}), Screen{Kind: KindQR, Wallet: "alipay", CodeURL: qrURL, ExpiresAt: t0.Add(time.Minute)}},
		{"qr without expiry", with(func(p *Payment) { p.Mode, p.State, p.CodeURL = "qr", "processing", qrURL }),
			Screen{Kind: KindQR, CodeURL: qrURL}},
		{"qr expired", with(func(p *Payment) {
			p.Mode, p.State, p.CodeURL, p.QRExpiresAt = "qr", "processing", qrURL, t0
		}), Screen{Kind: KindAmountDue, Message: MsgQRExpired}},
		{"qr without code_url", with(func(p *Payment) { p.Mode, p.State = "qr", "processing" }),
			Screen{Kind: KindAmountDue, Message: MsgPreparingQR}},
		{"qr queued", with(func(p *Payment) { p.Mode, p.State, p.CodeURL = "qr", "queued", qrURL }),
			Screen{Kind: KindAmountDue, Message: MsgConnecting}},
		{"in doubt", with(func(p *Payment) { p.Mode, p.State = "scan", "in_doubt" }),
			Screen{Kind: KindAmountDue, Message: MsgCheckingPay}},
		{"succeeded", with(func(p *Payment) { p.Mode, p.State = "qr", "succeeded" }),
			Screen{Kind: KindPaid, Message: MsgPaid}},
		{"failed with message", with(func(p *Payment) {
			p.Mode, p.State, p.Error = "scan", "failed", &PaymentError{Code: "declined", Message: "insufficient balance"}
		}), Screen{Kind: KindFailed, Message: "insufficient balance"}},
		{"failed with code only", with(func(p *Payment) {
			p.Mode, p.State, p.Error = "scan", "failed", &PaymentError{Code: "invalid_code"}
		}), Screen{Kind: KindFailed, Message: "invalid payment code"}},
		{"failed unknown code", with(func(p *Payment) {
			p.Mode, p.State, p.Error = "scan", "failed", &PaymentError{Code: "risk_control"}
		}), Screen{Kind: KindFailed, Message: "risk control"}},
		{"failed no error", with(func(p *Payment) { p.Mode, p.State = "scan", "failed" }),
			Screen{Kind: KindFailed, Message: MsgDeclined}},
		{"expired", with(func(p *Payment) { p.Mode, p.State = "scan", "expired" }),
			Screen{Kind: KindFailed, Message: "payment code expired before the payment service could be reached"}},
		{"cancelled", with(func(p *Payment) { p.Mode, p.State = "qr", "cancelled" }),
			Screen{Kind: KindCancelled, Message: MsgCancelled}},
		{"reversed", with(func(p *Payment) { p.Mode, p.State = "scan", "reversed" }),
			Screen{Kind: KindCancelled, Message: MsgCancelled}},
		{"unknown state", with(func(p *Payment) { p.Mode, p.State = "scan", "teleported" }),
			Screen{Kind: KindAmountDue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			want.Amount, want.Currency, want.Reference, want.PaymentID = 1250, "CAD", "INV-1", "pay_1"
			got := ScreenFor(tt.p, t0)
			if !got.Equal(want) {
				t.Errorf("ScreenFor =\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

func TestPaymentUnmarshal(t *testing.T) {
	const full = `{"id":"pay_9","order_id":"O9","reference":"R","mode":"qr","wallet":"wechat","amount":1250,
	 "currency":"CAD","state":"processing","error":null,"code_url":"https://x/y","qr_expires_at":"2026-11-25T18:35:00Z",
	 "auth_code_masked":"","created_at":"2026-11-25T18:30:00Z","updated_at":"2026-11-25T18:30:01Z",
	 "history":[{"state":"processing","at":"2026-11-25T18:30:01Z"}],"refunds":[],"refunded":0}`
	var p Payment
	if err := json.Unmarshal([]byte(full), &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != "pay_9" || p.Mode != "qr" || p.Amount != 1250 || p.CodeURL != "https://x/y" ||
		!p.QRExpiresAt.Equal(t0.Add(5*time.Minute)) || !p.UpdatedAt.Equal(t0.Add(time.Second)) || p.Error != nil {
		t.Errorf("decoded %+v", p)
	}
	for _, in := range []string{`{"id":"a","qr_expires_at":null}`, `{"id":"a","qr_expires_at":""}`, `{"id":"a"}`} {
		var p Payment
		if err := json.Unmarshal([]byte(in), &p); err != nil || !p.QRExpiresAt.IsZero() {
			t.Errorf("%s: %v %v", in, err, p.QRExpiresAt)
		}
	}
	bad := []struct{ in, want string }{
		{`{"id":"a","qr_expires_at":"tomorrow"}`, "qr_expires_at"},
		{`{"id":"a","updated_at":"x"}`, "updated_at"},
		{`{"id":"a","amount":"12.50"}`, "decode payment"},
		{`[1]`, "decode payment"},
	}
	for _, b := range bad {
		var p Payment
		err := json.Unmarshal([]byte(b.in), &p)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err %v, want it to mention %q", b.in, err, b.want)
		}
	}
}

func FuzzPaymentJSON(f *testing.F) {
	f.Add([]byte(`{"id":"p","mode":"qr","state":"processing","code_url":"u","qr_expires_at":"2026-11-25T18:35:00Z"}`))
	f.Add([]byte(`{"id":"p","mode":"scan","state":"failed","error":{"code":"declined","message":""}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Payment
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		s := ScreenFor(p, t0)
		switch s.Kind {
		case KindScanPrompt, KindQR, KindAmountDue, KindPaid, KindFailed, KindCancelled:
		default:
			t.Fatalf("ScreenFor(%+v) kind %q", p, s.Kind)
		}
		if s.Kind == KindQR && s.CodeURL == "" {
			t.Fatalf("qr screen without code_url for %+v", p)
		}
	})
}
