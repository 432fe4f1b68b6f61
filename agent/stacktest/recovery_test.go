package stacktest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/store"
)

// seed writes records straight into a journal, as a crashed daemon left them.
func seed(t *testing.T, path string, ps ...*store.Payment) {
	t.Helper()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(func(tx *store.Tx) error {
		for _, p := range ps {
			p.History = []store.HistoryEntry{{State: string(p.State), At: p.CreatedAt}}
			p.Refunds = []store.Refund{}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRecoveryAfterCrash(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	path := filepath.Join(t.TempDir(), "posagent.db")
	now := time.Now().UTC()
	code := wechatCode(90)
	seed(t, path,
		// Committed as processing, then the process died before the send: the
		// gateway never saw it. It may not be resent; it is queried, found
		// nowhere (twice, after the code's validity), and fails: nothing charged.
		&store.Payment{ID: "pay_a_neversent", OrderID: "P000000000000NEVER1", Mode: "scan", Wallet: "wechat", Amount: 1000,
			Currency: "CAD", State: agent.Processing, AuthCode: code, AuthCodeMasked: paycode.Mask(code),
			CodeAt: now.Add(-2 * time.Minute), CreatedAt: now.Add(-2 * time.Minute)},
		// Queued (the last attempt certainly never reached the gateway), its
		// code still valid: resent with the same order id.
		&store.Payment{ID: "pay_b_queued", OrderID: "P000000000000QUEUE1", Mode: "scan", Wallet: "alipay", Amount: 1100,
			Currency: "CAD", State: agent.Queued, AuthCode: alipayCode(91), CodeAt: now, CreatedAt: now},
		// Queued, its code expired while the daemon was down: expired.
		&store.Payment{ID: "pay_c_stale", OrderID: "P000000000000STALE1", Mode: "scan", Wallet: "alipay", Amount: 1200,
			Currency: "CAD", State: agent.Queued, AuthCode: alipayCode(92), CodeAt: now.Add(-time.Hour), CreatedAt: now.Add(-time.Hour)},
		// In doubt with no reconciliation job: one is added; the gateway has
		// no such order (it never reached it) and its QR window is long over.
		&store.Payment{ID: "pay_d_indoubt", OrderID: "P000000000000DOUBT1", Mode: "qr", Wallet: "wechat", Amount: 1300,
			Currency: "CAD", State: agent.InDoubt, CreatedAt: now.Add(-time.Hour), QRExpiresAt: now.Add(-time.Hour)},
	)
	a := startAgent(t, path, gw, testOptions())
	want := map[string]agent.State{"pay_a_neversent": agent.Failed, "pay_b_queued": agent.Succeeded, "pay_c_stale": agent.Expired, "pay_d_indoubt": agent.Failed}
	for id, st := range want {
		p := a.waitFinal(id)
		if p.State != st {
			t.Errorf("%s: %s, want %s (history %v, error %v)", id, p.State, st, p.History, p.Error)
		}
	}
	if p := a.payment("pay_a_neversent"); p.Error == nil || p.Error.Code != "gateway_unreachable" {
		t.Errorf("never-sent payment error %v", p.Error)
	}
	l := sim.ledger()
	if _, ok := l["P000000000000NEVER1"]; ok {
		t.Error("a possibly-sent payment was resent after the crash")
	}
	if o := l["P000000000000QUEUE1"]; o.Charged != 1100 {
		t.Errorf("queued payment at the simulator: %+v", o)
	}
	if _, ok := l["P000000000000STALE1"]; ok {
		t.Error("an expired code was sent")
	}
	// The payment codes are gone from the final records.
	a.st.View(func(tx *store.Tx) error {
		for id := range want {
			p, _ := tx.Payment(id)
			if p.AuthCode != "" {
				t.Errorf("%s still holds its payment code", id)
			}
		}
		return nil
	})
}

func TestRetentionCompacts(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.Retention = 20 * time.Second    // 0.4 s scaled
	o.CompactEvery = 10 * time.Second // 0.2 s scaled
	a := startAgent(t, "", gw, o)
	done := a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: wechatCode(95)}).ID)
	open := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan"}) // awaiting_code: never compacted
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, status := agenttest.Status(context.Background())
		if _, err := a.pos.Payment(ctx, done.ID); status() == 404 && apiCode(err) == "not_found" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the final payment was never compacted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p := a.payment(open.ID); p.State != agent.AwaitingCode {
		t.Errorf("open payment: %s", p.State)
	}
}
