package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A payment packs to a fraction of its JSON and unpacks to the same
// bytes; JSON records (written before packing) read as they are; what
// does not pack smaller is stored as JSON.
func TestPackPaymentRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 7, 8, 4, 3, 505168557, time.UTC)
	p := &Payment{ID: "pay_0dnecere2evfxlw3g6l", OrderID: "P261207080403GE1OV5M", Reference: "B-4998", Mode: "scan", Wallet: "wechat",
		Amount: 5460, Currency: "CAD", State: Succeeded, AuthCodeMasked: "1300**********4998", CodeAt: at, CreatedAt: at, UpdatedAt: at.Add(time.Second),
		History: []HistoryEntry{{State: "processing", At: at}, {State: "succeeded", At: at.Add(time.Second)}}, Refunds: []Refund{},
		LastOutcome: "paid", Answer: &Answer{Action: "PASSIVEPAY", Sent: true, Answered: true, RspCode: "SUCCESS", OrderStatus: "success", Outcome: "paid", At: at},
		Shift: 1, WalletSide: &WalletSide{TradeTime: "20261207080403", TransactionID: "4200020261207088805476469124", Total: 5460}}
	js, err := json.Marshal(paymentRecord{Payment: p})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		js     []byte
		packed bool
	}{
		{"a settled payment", js, true},
		{"a tiny record", []byte(`{"id":"p"}`), false},
		{"empty object", []byte(`{}`), false},
	}
	for _, c := range cases {
		v := packPayment(c.js)
		if (v[0] == packFlate1) != c.packed {
			t.Errorf("%s: packed %v, want %v (%d -> %d bytes)", c.name, v[0] == packFlate1, c.packed, len(c.js), len(v))
		}
		got, err := unpackPayment(v)
		if err != nil || !bytes.Equal(got, c.js) {
			t.Errorf("%s: unpacked %q, %v", c.name, got, err)
		}
	}
	if v := packPayment(js); len(v) > len(js)/3 {
		t.Errorf("a settled payment packs to %d bytes of %d", len(v), len(js))
	}
}

// The format is fixed: a record packed by this version (testdata) reads
// back, byte for byte, in every later one. A changed dictionary or tag
// fails here: it must take a new tag instead.
func TestPackedPaymentGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "payment-packed.json"))
	if err != nil {
		t.Fatal(err)
	}
	want = bytes.TrimSpace(want)
	hx, err := os.ReadFile(filepath.Join("testdata", "payment-packed.hex"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := hex.DecodeString(strings.TrimSpace(string(hx)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := unpackPayment(v)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("golden record: %q, %v", got, err)
	}
	r, err := decodePayment(v)
	if err != nil || r.ID != "pay_0dnecere2evfxlw3g6l" || r.Amount != 5460 {
		t.Fatalf("decode: %+v %v", r, err)
	}
}

// Damage to a packed record, any byte of it, makes it unreadable or
// leaves its content as it was (a bit DEFLATE does not read): never a
// different payment.
func TestPackedPaymentDamage(t *testing.T) {
	js, _ := os.ReadFile(filepath.Join("testdata", "payment-packed.json"))
	js = bytes.TrimSpace(js)
	v := packPayment(js)
	unread := 0
	for i := range v {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			d := bytes.Clone(v)
			d[i] ^= x
			if got, err := unpackPayment(d); err == nil && d[0] == packFlate1 {
				if !bytes.Equal(got, js) {
					t.Fatalf("byte %d ^ %#x: read back another record without error: %q", i, x, got)
				}
			} else if err == nil {
				if _, err := decodePayment(d); err == nil {
					t.Fatalf("byte %d ^ %#x: the tag changed and the record still decodes", i, x)
				}
			} else {
				unread++
			}
		}
	}
	if unread < 3*len(v)*9/10 {
		t.Errorf("only %d of %d damaged copies were unreadable", unread, 3*len(v))
	}
	for _, short := range [][]byte{{packFlate1}, {packFlate1, 0, 0, 0}} {
		if _, err := unpackPayment(short); !errors.Is(err, errPacked) {
			t.Errorf("%x: %v", short, err)
		}
	}
}

// Whatever bytes a damaged journal holds, unpacking ends with an error or
// bytes, never a panic or an unbounded allocation.
func FuzzUnpackPayment(f *testing.F) {
	js, _ := os.ReadFile(filepath.Join("testdata", "payment-packed.json"))
	f.Add(packPayment(bytes.TrimSpace(js)))
	f.Add([]byte(`{"id":"pay_1"}`))
	f.Add([]byte{packFlate1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := unpackPayment(v)
		if err == nil && len(got) > 1<<20 {
			t.Fatalf("%d bytes", len(got))
		}
		decodePayment(v)
	})
}

// Events pack under their own tag and dictionary, with the same fixed
// format (testdata); a payment's codec does not read them, nor the other
// way round.
func TestPackedEventGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "event-packed.json"))
	if err != nil {
		t.Fatal(err)
	}
	want = bytes.TrimSpace(want)
	hx, err := os.ReadFile(filepath.Join("testdata", "event-packed.hex"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := hex.DecodeString(strings.TrimSpace(string(hx)))
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != packFlate2 {
		t.Fatalf("tag %#x", v[0])
	}
	got, err := unpackEvent(v)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("golden event: %q, %v", got, err)
	}
	if p := packEvent(want); !bytes.Equal(p, v) {
		t.Logf("packs today to %d bytes (golden %d): the reader is what is fixed", len(p), len(v))
	}
	if _, err := decodePayment(v); err == nil {
		t.Fatal("a packed event decodes as a payment")
	}
	if js, err := unpackPayment(packPayment(want)); err != nil || !bytes.Equal(js, want) {
		t.Fatalf("round trip through the payment codec: %v", err)
	}
}

// A damaged packed event is reported by the journal check (not read as
// another event).
func TestPackedEventDamageFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join("testdata", "event-packed.json"))
	err = s.Update(func(tx *Tx) error {
		_, err := tx.AppendEvent(func(uint64) ([]byte, error) { return bytes.TrimSpace(js), nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	packed := packEvent(bytes.TrimSpace(js))
	i := bytes.Index(b, packed[:24])
	if i < 0 {
		t.Fatal("precondition: the packed event is in the file")
	}
	b[i+len(packed)/2] ^= 0x55
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := CheckFile(path, CheckOptions{})
	if err != nil || !rep.Damaged() {
		t.Fatalf("a damaged packed event: %+v %v", rep, err)
	}
	found := false
	for _, f := range rep.Findings {
		found = found || (f.Bucket == "events" && strings.Contains(f.Problem, "event unreadable"))
	}
	if !found {
		t.Fatalf("findings: %+v", rep.Findings)
	}
}

// Unpacked finds the packed records in a journal file's bytes, live and
// freed: what they hold can be searched as if it were plain.
func TestUnpackedFindsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		err := s.Update(func(tx *Tx) error {
			p := &Payment{ID: fmt.Sprintf("pay_%03d", i), OrderID: fmt.Sprintf("O%03d", i), State: Failed, Reference: fmt.Sprintf("marker-%03d", i), Refunds: []Refund{}}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
				return fmt.Appendf(nil, `{"seq":%d,"kind":"scan.barcode","at":"2026-12-07T08:03:49Z","barcode":"event-marker-%03d"}`, seq, i), nil
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("marker-007")) {
		t.Fatal("precondition: the records are packed")
	}
	all := bytes.Join(Unpacked(raw), nil)
	for i := range 30 {
		for _, m := range []string{fmt.Sprintf(`"reference":"marker-%03d"`, i), fmt.Sprintf("event-marker-%03d", i)} {
			if !bytes.Contains(all, []byte(m)) {
				t.Errorf("%s not found in the unpacked records", m)
			}
		}
	}
}
