package stacktest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

// The rate is fetched from the gateway at start (EX_RATE_QUERY), kept in
// the journal as a rate.updated event (read back from there at a start),
// and printed on a WeChat Pay receipt as an estimate in CNY with
// the rate and its time; a UnionPay receipt has none.
func TestRateFetchedJournaledAndPrinted(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	pr := &recordingPrinter{}
	o := testOptions()
	o.Printer, o.AutoPrint = pr, true
	o.RateEvery = time.Hour
	a := startAgent(t, "", gw, o)
	deadline := time.Now().Add(10 * time.Second)
	for a.e.Rate() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	r := a.e.Rate()
	if r == nil || r.Rate != 515000000 || r.Currency != "CAD" {
		t.Fatalf("rate %+v", r)
	}
	if got := lastJournaledRate(t, a.st); got == nil || got.Rate != r.Rate || !got.At.Equal(r.At) {
		t.Fatalf("journaled rate %+v, want %+v", got, r)
	}

	p := a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: 1713, Mode: "scan", AuthCode: wechatCode(7101)}).ID)
	var rc printer.Receipt
	a.waitUntilPrinted(pr, p.ID, &rc)
	text := receiptText(t, rc)
	for _, want := range []string{"CNY (est.)", "CNY 88.22 @5.1500", "Rate of"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	qr := a.pos.create(context.Background(), client.PaymentRequest{Amount: 800, Mode: "qr", Wallet: "unionpay"})
	if err := sim.sim.Pay(qr.OrderID); err != nil {
		t.Fatal(err)
	}
	q := a.waitFinal(qr.ID)
	a.waitUntilPrinted(pr, q.ID, &rc)
	if text := receiptText(t, rc); strings.Contains(text, "CNY") {
		t.Errorf("a UnionPay receipt with a CNY estimate:\n%s", text)
	}
}

// lastJournaledRate is the newest rate.updated event's rate in the
// journal (nil none): what the engine reads again at start.
func lastJournaledRate(t *testing.T, st *store.Store) *agent.ExRate {
	t.Helper()
	var found *agent.ExRate
	err := st.View(func(tx *store.Tx) error {
		evs, err := tx.Events(0, 0, 0)
		for _, ev := range evs {
			var x agent.Event
			if json.Unmarshal(ev.Data, &x) == nil && x.Kind == agent.KindRateUpdated && x.Rate != nil && x.Rate.Rate > 0 {
				found = x.Rate
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
