package agent

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s\nwant:\n%s", name, got, want)
	}
}

func sampleRecord() *store.Payment {
	t0 := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	return &store.Payment{
		ID: "pay_0dn4ihd0hly6rmldwlp", OrderID: "P261125183000ABC1234", Reference: "INV-1001", Mode: "scan",
		Wallet: "wechat", Amount: 1250, Currency: "CAD", State: Succeeded, AuthCodeMasked: "1345**********6789",
		CodeAt: t0, CreatedAt: t0, UpdatedAt: t0.Add(3 * time.Second),
		AuthCode: "134567890123456789", // never in the public JSON
		History: []store.HistoryEntry{{State: "awaiting_code", At: t0}, {State: "processing", At: t0.Add(time.Second)},
			{State: "succeeded", At: t0.Add(3 * time.Second)}},
		Refunds: []store.Refund{{ID: "ref_0dn4ihd0hly6rmabcde", OrderID: "R261125183500XYZ9876", Amount: 500,
			State: store.RefundSucceeded, CreatedAt: t0.Add(5 * time.Minute), UpdatedAt: t0.Add(5 * time.Minute)}},
	}
}

func TestPaymentJSONGolden(t *testing.T) {
	b, err := json.MarshalIndent(publicPayment(sampleRecord()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("134567890123456789")) {
		t.Fatal("the payment code is in the public JSON")
	}
	golden(t, "payment.json", append(b, '\n'))
}

func TestEventJSONGolden(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 30, 3, 0, time.UTC)
	evs := []Event{
		{Seq: 42, Kind: KindPaymentUpdated, At: at, Payment: publicPayment(sampleRecord())},
		{Seq: 43, Kind: KindScanBarcode, At: at, Scan: &ScanInfo{Code: "4006381333931", Symbology: "]E0", Device: "counter"}},
		{Seq: 44, Kind: KindScanIgnored, At: at, Scan: &ScanInfo{Code: "1345**********6789", Device: "counter"}, Reason: "no payment is waiting for a code"},
		{Seq: 45, Kind: KindDeviceChanged, At: at, Device: &DeviceStatus{Kind: "scanner", Name: "counter", State: "disconnected", LastError: "serial: /dev/ttyACM0: no such device"}},
		{Seq: 46, Kind: KindCartUpdated, At: at, Cart: &Cart{Amount: 1250, Currency: "CAD", Reference: "INV-1001"}},
	}
	var buf bytes.Buffer
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		// Round trip: what Subscribe decodes is what was written.
		back, ok := decodeEvent(store.Event{Seq: ev.Seq, Data: b})
		if !ok || back.Seq != ev.Seq || back.Kind != ev.Kind {
			t.Errorf("round trip of %s", b)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	golden(t, "events.jsonl", buf.Bytes())
}

// FuzzValidateCreate: whatever a create request decodes to, validation
// refuses it with a 400 or it is a payment the engine may take (the API's
// own decoding is fuzzed in agent/api).
func FuzzValidateCreate(f *testing.F) {
	for _, s := range createSeeds {
		f.Add([]byte(s))
	}
	e := &Engine{o: Options{Currency: "CAD"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r CreateRequest
		if json.Unmarshal(body, &r) != nil {
			return
		}
		if _, err := e.validateCreate(&r); err != nil {
			var oe *OpError
			if !asOpError(err, &oe) || oe.Kind != operr.KindInvalid {
				t.Fatalf("validation error is not of kind invalid (a 400): %v", err)
			}
		} else if r.Amount <= 0 || r.Amount > MaxAmount || r.Currency != "CAD" {
			t.Fatalf("accepted %+v", r)
		}
	})
}

var createSeeds = []string{
	`{"amount":1250,"currency":"CAD","mode":"scan","reference":"INV-1001"}`,
	`{"amount":1250,"mode":"qr","wallet":"wechat"}`,
	`{"amount":1250,"mode":"scan","auth_code":"134567890123456789"}`,
	`{"amount":12.5}`, `{"amount":"1"}`, `{"tip":1}`, `{`, ``, `[]`, `null`, `{"amount":1e400}`,
	`{"amount":9223372036854775808}`, `{"amount":1} {}`, "\xff\xfe", `{"amount":0}`, `{"amount":-5,"currency":"CAD"}`,
}
