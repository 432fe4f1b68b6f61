package ottsim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
)

var bg = context.Background()

func TestScanPaidAtOnce(t *testing.T) {
	r := newRig(t)
	res, err := r.client.PassivePay(bg, pay("S1000", 1250))
	if err != nil {
		t.Fatalf("PassivePay: %v", err)
	}
	if res.Outcome != gateway.Paid || res.Code != "SUCCESS" || res.OrderStatus != "success" || res.Amount != 1250 || res.OrderID != "S1000" {
		t.Fatalf("result %+v", res)
	}
	if res.Fields["buyer_login_id"] == "" {
		t.Errorf("verified fields lack buyer_login_id: %v", res.Fields)
	}
	o := r.order("S1000")
	if o.Charged != 1250 || o.Status != "success" || o.Wallet != "wechat" || o.Action != gateway.ActionPassivePay {
		t.Fatalf("ledger %+v", o)
	}
	q, err := r.client.Query(bg, "S1000")
	if err != nil || q.OrderStatus != "success" || q.Amount != 1250 {
		t.Fatalf("Query: %+v %v", q, err)
	}
	// The same order id again: ORDER_USED, Unknown, nothing charged twice.
	_, err = r.client.PassivePay(bg, pay("S1000", 1250))
	gwErr(t, err, gateway.Unknown, "ORDER_USED")
	if n := len(r.sim.Ledger()); n != 1 {
		t.Fatalf("ledger has %d orders, want 1", n)
	}
}

func TestScanDeclined01(t *testing.T) {
	r := newRig(t)
	res, err := r.client.PassivePay(bg, pay("S01", 1201))
	ge := gwErr(t, err, gateway.Failed, "FAIL")
	if errors.Is(err, gateway.ErrNotSent) || errors.Is(err, gateway.ErrUnverified) {
		t.Fatalf("a verified decline must not be NotSent/Unverified: %v", err)
	}
	if ge.Message == "" || res == nil || res.OrderStatus != "failure" {
		t.Fatalf("error %+v result %+v", ge, res)
	}
	if o := r.order("S01"); o.Charged != 0 || o.Status != "failure" {
		t.Fatalf("ledger %+v", o)
	}
}

func TestScanProcessingThenPaid02(t *testing.T) {
	r := newRig(t)
	res, err := r.client.PassivePay(bg, pay("S02", 502))
	gwErr(t, err, gateway.Unknown, "PROCESSING")
	if res == nil || res.OrderStatus != "notpay" {
		t.Fatalf("result %+v", res)
	}
	q, err := r.client.Query(bg, "S02")
	gwErr(t, err, gateway.Unknown, "SUCCESS")
	if q.OrderStatus != "notpay" || r.order("S02").Charged != 0 {
		t.Fatalf("before PaidAfter: %+v %+v", q, r.order("S02"))
	}
	r.clock.Advance(5 * time.Second / 100) // PaidAfter x TimeScale
	q, err = r.client.Query(bg, "S02")
	if err != nil || q.OrderStatus != "success" || q.Amount != 502 {
		t.Fatalf("after PaidAfter: %+v %v", q, err)
	}
	if o := r.order("S02"); o.Charged != 502 || o.Status != "success" {
		t.Fatalf("ledger %+v", o)
	}
}

func TestScanProcessingNeverPaid03(t *testing.T) {
	r := newRig(t)
	_, err := r.client.PassivePay(bg, pay("S03", 503))
	gwErr(t, err, gateway.Unknown, "PROCESSING")
	r.clock.Advance(44 * time.Second / 100)
	_, err = r.client.Query(bg, "S03")
	gwErr(t, err, gateway.Unknown, "SUCCESS")
	r.clock.Advance(1 * time.Second / 100)
	q, err := r.client.Query(bg, "S03")
	gwErr(t, err, gateway.Failed, "SUCCESS")
	if q.OrderStatus != "orderclosed" {
		t.Fatalf("query %+v", q)
	}
	if o := r.order("S03"); o.Charged != 0 || o.Status != "orderclosed" {
		t.Fatalf("ledger %+v", o)
	}
}

func TestScanChargedResponseLost04(t *testing.T) {
	r := newRig(t)
	res, err := r.client.PassivePay(bg, pay("S04", 1004))
	ge := gwErr(t, err, gateway.Unknown, "")
	if res != nil || errors.Is(err, gateway.ErrNotSent) || errors.Is(err, gateway.ErrUnverified) || ge.Err == nil {
		t.Fatalf("a dropped connection after sending must be plain Unknown: %v", err)
	}
	if o := r.order("S04"); o.Charged != 1004 || o.Status != "success" {
		t.Fatalf("ledger %+v", o)
	}
	if q, err := r.client.Query(bg, "S04"); err != nil || q.OrderStatus != "success" {
		t.Fatalf("Query resolves it: %+v %v", q, err)
	}
}

func TestScanSystemErrorButCharged05(t *testing.T) {
	r := newRig(t)
	res, err := r.client.PassivePay(bg, pay("S05", 1005))
	gwErr(t, err, gateway.Unknown, "SYSTEM_ERROR")
	if res == nil || res.Fields != nil || errors.Is(err, gateway.ErrNotSent) {
		t.Fatalf("result %+v err %v", res, err)
	}
	if o := r.order("S05"); o.Charged != 1005 || o.Status != "success" {
		t.Fatalf("ledger %+v", o)
	}
}

func TestScanSlowReply06(t *testing.T) {
	// SlowReply 200 s x 0.01 = 2 s; the client gives up after 100 ms.
	r := newRig(t, withClientTimeout(100*time.Millisecond), withSlowReply(200*time.Second))
	_, err := r.client.PassivePay(bg, pay("S06", 1006))
	gwErr(t, err, gateway.Unknown, "")
	if errors.Is(err, gateway.ErrNotSent) {
		t.Fatalf("a timeout after sending must not be NotSent: %v", err)
	}
	if o := r.order("S06"); o.Charged != 1006 || o.Status != "success" {
		t.Fatalf("ledger %+v", o)
	}
}

func TestScanSlowReply06PatientClient(t *testing.T) {
	r := newRig(t) // 5 s client timeout > 300 ms
	res, err := r.client.PassivePay(bg, pay("S06B", 306))
	if err != nil || res.OrderStatus != "success" {
		t.Fatalf("a patient client gets the late answer: %+v %v", res, err)
	}
}

func TestScanContextCancelledAfterSend(t *testing.T) {
	r := newRig(t, withSlowReply(200*time.Second))
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err := r.client.PassivePay(ctx, pay("S06C", 2006))
	gwErr(t, err, gateway.Unknown, "")
	if errors.Is(err, gateway.ErrNotSent) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v: want Unknown with the context's deadline as cause", err)
	}
}

func TestQRPaidWhenCodeURLOpened(t *testing.T) {
	r := newRig(t)
	res, err := r.client.ActivePay(bg, qr("Q00", 2500))
	if err != nil {
		t.Fatalf("ActivePay: %v", err)
	}
	want := r.url + "/_sim/pay/Q00"
	if res.CodeURL != want || res.Outcome != gateway.Paid {
		t.Fatalf("result %+v, want code_url %s", res, want)
	}
	if o := r.order("Q00"); o.Status != "notpay" || o.Charged != 0 || o.Wallet != "alipay" || o.Action != gateway.ActionActivePay {
		t.Fatalf("ledger before paying %+v", o)
	}
	_, err = r.client.Query(bg, "Q00")
	gwErr(t, err, gateway.Unknown, "SUCCESS")

	resp, err := r.hc.Get(res.CodeURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Paid") {
		t.Fatalf("code_url page %d %s", resp.StatusCode, page)
	}
	q, err := r.client.Query(bg, "Q00")
	if err != nil || q.OrderStatus != "success" || q.Amount != 2500 {
		t.Fatalf("Query after paying: %+v %v", q, err)
	}
	if o := r.order("Q00"); o.Charged != 2500 {
		t.Fatalf("ledger %+v", o)
	}
}

func TestQRPayByAPIAndHTTP(t *testing.T) {
	r := newRig(t)
	for _, id := range []string{"QA", "QB"} {
		if _, err := r.client.ActivePay(bg, qr(id, 700)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.sim.Pay("QA"); err != nil {
		t.Fatalf("Sim.Pay: %v", err)
	}
	var out struct {
		Order *ottsim.Order `json:"order"`
		Error string        `json:"error"`
	}
	if code := r.postJSON("/_sim/pay/QB", nil, &out); code != 200 || out.Order == nil || out.Order.Status != "success" {
		t.Fatalf("POST /_sim/pay: %d %+v", code, out)
	}
	for _, id := range []string{"QA", "QB"} {
		if o := r.order(id); o.Charged != 700 || o.Status != "success" {
			t.Fatalf("ledger %+v", o)
		}
	}
	if err := r.sim.Pay("QA"); err != nil {
		t.Fatalf("paying twice is idempotent: %v", err)
	}
	if err := r.sim.Pay("NOPE"); !errors.Is(err, ottsim.ErrUnknownOrder) {
		t.Fatalf("Pay unknown: %v", err)
	}
	if code := r.postJSON("/_sim/pay/NOPE", nil, &out); code != 404 || out.Error == "" {
		t.Fatalf("POST /_sim/pay/NOPE: %d %+v", code, out)
	}
	if _, err := r.client.PassivePay(bg, pay("SC", 700)); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Pay("SC"); !errors.Is(err, ottsim.ErrNotQR) {
		t.Fatalf("Pay a scan order: %v", err)
	}
}

func TestQRRefused01(t *testing.T) {
	r := newRig(t)
	res, err := r.client.ActivePay(bg, qr("Q01", 2501))
	gwErr(t, err, gateway.Failed, "FAIL")
	if res == nil || res.CodeURL != "" {
		t.Fatalf("result %+v", res)
	}
	if o := r.order("Q01"); o.Status != "failure" || o.Charged != 0 {
		t.Fatalf("ledger %+v", o)
	}
	if err := r.sim.Pay("Q01"); !errors.Is(err, ottsim.ErrNotPayable) {
		t.Fatalf("paying a refused qr: %v", err)
	}
}

func TestQRPaidLater02(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.ActivePay(bg, qr("Q02", 2502)); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Pay("Q02"); err != nil {
		t.Fatal(err)
	}
	if o := r.order("Q02"); o.Status != "notpay" {
		t.Fatalf("02 is not paid at once: %+v", o)
	}
	r.clock.Advance(5 * time.Second / 100)
	if q, err := r.client.Query(bg, "Q02"); err != nil || q.OrderStatus != "success" {
		t.Fatalf("after PaidAfter: %+v %v", q, err)
	}
	if o := r.order("Q02"); o.Charged != 2502 {
		t.Fatalf("ledger %+v", o)
	}
}

func TestQRNeverPaid03(t *testing.T) {
	r := newRig(t)
	res, err := r.client.ActivePay(bg, qr("Q03", 2503))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := r.hc.Get(res.CodeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("opening a 03 code_url: %d, want 409 (not paid)", resp.StatusCode)
	}
	if err := r.sim.Pay("Q03"); !errors.Is(err, ottsim.ErrNotPayable) {
		t.Fatalf("Pay 03: %v", err)
	}
	r.clock.Advance(45 * time.Second / 100)
	q, err := r.client.Query(bg, "Q03")
	gwErr(t, err, gateway.Failed, "SUCCESS")
	if q.OrderStatus != "orderclosed" || r.order("Q03").Charged != 0 {
		t.Fatalf("query %+v ledger %+v", q, r.order("Q03"))
	}
}

func TestQRReplyLost04(t *testing.T) {
	r := newRig(t)
	_, err := r.client.ActivePay(bg, qr("Q04", 2504))
	gwErr(t, err, gateway.Unknown, "")
	if errors.Is(err, gateway.ErrNotSent) {
		t.Fatal(err)
	}
	if o := r.order("Q04"); o.Status != "notpay" || o.Charged != 0 {
		t.Fatalf("ledger %+v", o)
	}
}

func TestQRSystemError05(t *testing.T) {
	r := newRig(t)
	_, err := r.client.ActivePay(bg, qr("Q05", 2505))
	gwErr(t, err, gateway.Unknown, "SYSTEM_ERROR")
	if o := r.order("Q05"); o.Status != "notpay" || o.Charged != 0 {
		t.Fatalf("ledger %+v", o)
	}
}

func TestQRSlowReply06(t *testing.T) {
	r := newRig(t, withClientTimeout(100*time.Millisecond), withSlowReply(200*time.Second))
	_, err := r.client.ActivePay(bg, qr("Q06", 2506))
	gwErr(t, err, gateway.Unknown, "")
	if errors.Is(err, gateway.ErrNotSent) {
		t.Fatal(err)
	}
	if o := r.order("Q06"); o.Status != "notpay" {
		t.Fatalf("ledger %+v", o)
	}
}

func TestQRTimeoutClosesUnpaid(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.ActivePay(bg, qr("QT", 2600)); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(5 * time.Minute / 100)
	q, err := r.client.Query(bg, "QT")
	gwErr(t, err, gateway.Failed, "SUCCESS")
	if q.OrderStatus != "orderclosed" {
		t.Fatalf("query %+v", q)
	}
	if err := r.sim.Pay("QT"); !errors.Is(err, ottsim.ErrNotPayable) {
		t.Fatalf("paying a closed qr: %v", err)
	}
	if o := r.order("QT"); o.Charged != 0 || o.Status != "orderclosed" {
		t.Fatalf("ledger %+v", o)
	}
}

// OTTPay's ACTIVEPAY lists UNIONPAY among its biz_type values: a UnionPay
// QR is issued and paid like the others.
func TestQRUnionPay(t *testing.T) {
	r := newRig(t)
	res, err := r.client.ActivePay(bg, gateway.QRRequest{OrderID: "QU", Amount: 100, Wallet: gateway.UnionPay})
	if err != nil || res.CodeURL == "" {
		t.Fatalf("ActivePay: %+v %v", res, err)
	}
	if err := r.sim.Pay("QU"); err != nil {
		t.Fatal(err)
	}
	if o := r.order("QU"); o.Wallet != "unionpay" || o.Charged != 100 {
		t.Fatalf("ledger %+v", o)
	}
}

func TestRefunds(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.PassivePay(bg, pay("P1", 5000)); err != nil {
		t.Fatal(err)
	}
	// Partial.
	res, err := r.client.Refund(bg, gateway.RefundRequest{OrderID: "R1", OriginalOrderID: "P1", Amount: 2000})
	if err != nil || res.Amount != 2000 || res.OrderID != "R1" {
		t.Fatalf("partial refund: %+v %v", res, err)
	}
	o := r.order("P1")
	if o.Refunded != 2000 || o.Charged != 5000 || o.Status != "partial_refunded" ||
		len(o.Refunds) != 1 || o.Refunds[0] != (ottsim.Refund{OrderID: "R1", Amount: 2000}) {
		t.Fatalf("ledger after partial refund %+v", o)
	}
	// More than what is left: refused, nothing changes.
	_, err = r.client.Refund(bg, gateway.RefundRequest{OrderID: "R2", OriginalOrderID: "P1", Amount: 3001})
	ge := gwErr(t, err, gateway.Failed, "FAIL")
	if !strings.Contains(ge.Message, "3000") {
		t.Errorf("message %q should say what is left", ge.Message)
	}
	if o := r.order("P1"); o.Refunded != 2000 || len(o.Refunds) != 1 {
		t.Fatalf("ledger after refused refund %+v", o)
	}
	// The same refund order id again: ORDER_USED, nothing refunded twice.
	_, err = r.client.Refund(bg, gateway.RefundRequest{OrderID: "R1", OriginalOrderID: "P1", Amount: 2000})
	gwErr(t, err, gateway.Unknown, "ORDER_USED")
	if o := r.order("P1"); o.Refunded != 2000 || len(o.Refunds) != 1 {
		t.Fatalf("ledger after duplicate refund %+v", o)
	}
	// A refund is reported on its original order, not under its own id.
	q, err := r.client.QueryOrder(bg, "P1", 5000, 0)
	if err != nil || q.OrderStatus != "partial_refunded" || !q.HasRefunded || q.Refunded != 2000 {
		t.Fatalf("query original after a refund: %+v %v", q, err)
	}
	_, err = r.client.Query(bg, "R1")
	gwErr(t, err, gateway.Unknown, "FAIL")
	// The rest: fully refunded.
	if _, err := r.client.Refund(bg, gateway.RefundRequest{OrderID: "R3", OriginalOrderID: "P1", Amount: 3000}); err != nil {
		t.Fatal(err)
	}
	if o := r.order("P1"); o.Refunded != 5000 || o.Status != "fully_refunded" || len(o.Refunds) != 2 {
		t.Fatalf("ledger after full refund %+v", o)
	}
	q, err = r.client.QueryOrder(bg, "P1", 5000, 0)
	if err != nil || q.OrderStatus != "fully_refunded" || q.Refunded != 5000 {
		t.Fatalf("query refunded order: %+v %v", q, err)
	}
	// Nothing left.
	_, err = r.client.Refund(bg, gateway.RefundRequest{OrderID: "R4", OriginalOrderID: "P1", Amount: 1})
	gwErr(t, err, gateway.Failed, "FAIL")
	// Unpaid or unknown originals.
	_, _ = r.client.PassivePay(bg, pay("P2", 5001))
	_, err = r.client.Refund(bg, gateway.RefundRequest{OrderID: "R5", OriginalOrderID: "P2", Amount: 1})
	gwErr(t, err, gateway.Failed, "FAIL")
	_, err = r.client.Refund(bg, gateway.RefundRequest{OrderID: "R6", OriginalOrderID: "NOPE", Amount: 1})
	gwErr(t, err, gateway.Failed, "FAIL")
	// A refund id may not reuse a payment's order id.
	_, err = r.client.Refund(bg, gateway.RefundRequest{OrderID: "P2", OriginalOrderID: "P1", Amount: 1})
	gwErr(t, err, gateway.Unknown, "ORDER_USED")
	if o := r.order("P1"); o.Refunded != 5000 || len(o.Refunds) != 2 {
		t.Fatalf("ledger at the end %+v", o)
	}
}

func TestExchangeRate(t *testing.T) {
	r := newRig(t)
	res, err := r.client.ExchangeRate(bg, "CAD")
	if err != nil || res.Rate != 515000000 || res.Fields["fee_type"] != "CAD" {
		t.Fatalf("CAD: %+v %v", res, err)
	}
	_, err = r.client.ExchangeRate(bg, "EUR")
	gwErr(t, err, gateway.Failed, "PARAM_INVALID")
	if n := len(r.sim.Ledger()); n != 0 {
		t.Fatalf("a rate query made %d orders", n)
	}
}

func TestQueryUnknownOrder(t *testing.T) {
	r := newRig(t)
	_, err := r.client.Query(bg, "GHOST")
	ge := gwErr(t, err, gateway.Unknown, "FAIL")
	if !strings.Contains(ge.Message, "not found") {
		t.Fatalf("message %q", ge.Message)
	}
}

func TestHTTPLedgerMatches(t *testing.T) {
	r := newRig(t)
	_, _ = r.client.PassivePay(bg, pay("L1", 1000))
	_, _ = r.client.Refund(bg, gateway.RefundRequest{OrderID: "L1R", OriginalOrderID: "L1", Amount: 400})
	_, _ = r.client.ActivePay(bg, qr("L2", 900))
	got := r.httpLedger()
	if len(got) != 2 || got[0].OrderID != "L1" || got[1].OrderID != "L2" {
		t.Fatalf("ledger %+v", got)
	}
	if got[0].Charged != 1000 || got[0].Refunded != 400 || got[0].Refunds[0].OrderID != "L1R" ||
		!got[0].CreatedAt.Equal(r.clock.Now()) {
		t.Fatalf("L1 %+v", got[0])
	}
	if got[1].Refunds == nil || got[1].Status != "notpay" {
		t.Fatalf("L2 %+v (refunds must be [] not null)", got[1])
	}
}
