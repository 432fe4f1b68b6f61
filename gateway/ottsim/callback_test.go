package ottsim_test

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/gateway/ottsim"
)

// receiver is a POS-side call-back endpoint that verifies what it gets.
type receiver struct {
	srv  *httptest.Server
	got  chan *gateway.Result
	errs chan error
}

func newReceiver(t *testing.T, c func() *gateway.Client, status int) *receiver {
	rc := &receiver{got: make(chan *gateway.Result, 10), errs: make(chan error, 10)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, err := c().ParseCallback(body)
		if err != nil {
			rc.errs <- err
		} else {
			rc.got <- res
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) wait(t *testing.T) *gateway.Result {
	t.Helper()
	select {
	case res := <-rc.got:
		return res
	case err := <-rc.errs:
		t.Fatalf("call-back not verified: %v", err)
	case <-time.After(10 * time.Second): // a hang guard, not a speed assertion
		t.Fatal("no call-back arrived")
	}
	return nil
}

func callbackRig(t *testing.T, status int) (*rig, *receiver) {
	var r *rig
	rc := newReceiver(t, func() *gateway.Client { return r.client }, status)
	r = newRig(t, func(o *ottsim.Options, c *gateway.Config) {
		o.Callbacks = true
		o.CallbackRetry = time.Second // 10 ms scaled
		c.CallbackURL = rc.srv.URL + "/v1/ottpay/callback"
	})
	return r, rc
}

func TestCallbackOnQRPaid(t *testing.T) {
	r, rc := callbackRig(t, http.StatusOK)
	if _, err := r.client.ActivePay(bg, qr("CB1", 3300)); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Pay("CB1"); err != nil {
		t.Fatal(err)
	}
	res := rc.wait(t)
	if res.OrderID != "CB1" || res.Amount != 3300 || res.OrderStatus != "success" || res.Outcome != gateway.Paid {
		t.Fatalf("call-back %+v", res)
	}
	for r.order("CB1").Callback == "pending" {
		time.Sleep(2 * time.Millisecond)
	}
	if o := r.order("CB1"); o.Callback != "delivered" || o.Charged != 3300 {
		t.Fatalf("ledger %+v", o)
	}
}

func TestCallbackWhenPaidByTime02(t *testing.T) {
	r, rc := callbackRig(t, http.StatusOK)
	if _, err := r.client.ActivePay(bg, qr("CB2", 3302)); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Pay("CB2"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(5 * time.Second / 100)
	// Nobody queries: the simulator settles by itself and calls back.
	if res := rc.wait(t); res.OrderID != "CB2" || res.Outcome != gateway.Paid {
		t.Fatalf("call-back %+v", res)
	}
}

func TestCallbackRetriedThenFailed(t *testing.T) {
	r, rc := callbackRig(t, http.StatusInternalServerError)
	if _, err := r.client.ActivePay(bg, qr("CB3", 3400)); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Pay("CB3"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rc.wait(t)
	}
	for r.order("CB3").Callback == "pending" {
		time.Sleep(2 * time.Millisecond)
	}
	if o := r.order("CB3"); !strings.HasPrefix(o.Callback, "failed: HTTP 500") || o.Status != "success" {
		t.Fatalf("ledger %+v", o)
	}
	select {
	case res := <-rc.got:
		t.Fatalf("a fourth attempt: %+v", res)
	default:
	}
}

func TestNoCallbacksByDefault(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.ActivePay(bg, qr("CB4", 100)); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Pay("CB4"); err != nil {
		t.Fatal(err)
	}
	if o := r.order("CB4"); o.Callback != "" {
		t.Fatalf("ledger %+v", o)
	}
}

func TestParseCallbackRejectsForgeries(t *testing.T) {
	r := newRig(t)
	good := func(f envelope.Fields, merchantID string) envelope.ResponseEnvelope {
		data, digest, _ := envelope.Seal(f, signKey)
		return envelope.ResponseEnvelope{RspCode: "SUCCESS", MerchantID: merchantID, Data: data, MD5: digest}
	}
	paid := envelope.Fields{{Key: "order_id", Value: "X1"}, {Key: "order_status", Value: "success"}, {Key: "total_amount", Value: "100"}}
	res, err := r.client.ParseCallback(marshal(good(paid, merchant)))
	if err != nil || res.Outcome != gateway.Paid || res.Amount != 100 || res.OrderID != "X1" {
		t.Fatalf("genuine: %+v %v", res, err)
	}
	flipped := good(paid, merchant)
	ct, _ := base64.StdEncoding.DecodeString(flipped.Data)
	ct[3] ^= 1
	flipped.Data = base64.StdEncoding.EncodeToString(ct)
	wrongKey := good(paid, merchant)
	wrongKey.Data, wrongKey.MD5, _ = envelope.Seal(paid, "0000000000000000")
	for name, body := range map[string][]byte{
		"flipped byte":    marshal(flipped),
		"wrong sign key":  marshal(wrongKey),
		"other merchant":  marshal(good(paid, "QC00005496")),
		"no data":         []byte(`{"rsp_code":"SUCCESS","merchant_id":"ON00004652"}`),
		"no order_id":     marshal(good(envelope.Fields{{Key: "order_status", Value: "success"}}, merchant)),
		"bad amount":      marshal(good(envelope.Fields{{Key: "order_id", Value: "X1"}, {Key: "total_amount", Value: "1.00"}}, merchant)),
		"not an envelope": []byte(`hello`),
	} {
		res, err := r.client.ParseCallback(body)
		if !errors.Is(err, gateway.ErrUnverified) || gateway.OutcomeOf(err) != gateway.Unknown || res != nil {
			t.Errorf("%s: %+v %v, want ErrUnverified", name, res, err)
		}
	}
}
