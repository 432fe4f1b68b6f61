package api

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
)

// A verified OTTPay call-back makes a qr payment confirm by query at once,
// instead of at its next poll; a forged call-back is refused.
func TestCallbackConfirmsByQuery(t *testing.T) {
	var handler atomic.Value // http.Handler, set once the engine exists
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, _ := handler.Load().(http.Handler)
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer cb.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	so := simOptions()
	so.Callbacks = true
	sim := ottsim.New(so)
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan error, 1)
	go func() { sdone <- sim.Run(sctx, l) }()
	defer func() { scancel(); <-sdone }()
	simURL := "http://" + l.Addr().String()

	hc := gateway.DefaultHTTPClient()
	gw, err := gateway.New(gateway.Config{URL: simURL + "/processV2", MerchantID: agenttest.MerchantID, SignKey: agenttest.SignKey,
		OperatorID: "0000000696", CallbackURL: cb.URL + "/v1/ottpay/callback", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions()
	// Polls 36 s apart at this scale, and a QR shown as long: without the
	// call-back the payment would be seen paid only after 36 s.
	o.QRPollEvery = 30 * time.Minute
	o.QRWindow = 60 * time.Minute
	a := startAgent(t, "", gw, o)
	handler.Store(CallbackHandler(a.e, gw, nil))

	status, m := a.call("POST", "/v1/payments", map[string]any{"amount": 1500, "mode": "qr", "wallet": "wechat"}, "Idempotency-Key", "cb-1")
	if status != 201 {
		t.Fatalf("create: %d %v", status, m)
	}
	id := m["id"].(string)
	p := a.waitUntil(id, "code_url", func(p *agent.Payment) bool { return p.CodeURL != "" })
	resp, err := http.Get(p.CodeURL) // the customer pays
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	start := time.Now()
	p = a.waitUntil(id, "succeeded", func(p *agent.Payment) bool { return p.State == agent.Succeeded })
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("succeeded only after %v: the call-back did not trigger a query", waited)
	}
	var delivered string
	for _, ord := range sim.Ledger() {
		if ord.OrderID == p.OrderID {
			delivered = ord.Callback
		}
	}
	if delivered != "delivered" {
		t.Errorf("simulator's call-back: %q; want delivered", delivered)
	}

	// A forged call-back (wrong digest) is refused and changes nothing.
	forged := `{"rsp_code":"SUCCESS","merchant_id":"ON00004652","data":"Y2+GoqBBPc6EJ9JzXRFoOw==","md5":"C12F9560769C2CB55E6954935B325916"}`
	resp, err = http.Post(cb.URL+"/v1/ottpay/callback", "application/json", strings.NewReader(forged))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("forged call-back: HTTP %d; want 400", resp.StatusCode)
	}
}
