package record

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	js, err := json.Marshal(StoredPayment{Payment: p})
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
		v := PackPayment(c.js)
		if (v[0] == PackFlate1) != c.packed {
			t.Errorf("%s: packed %v, want %v (%d -> %d bytes)", c.name, v[0] == PackFlate1, c.packed, len(c.js), len(v))
		}
		got, err := UnpackPayment(v)
		if err != nil || !bytes.Equal(got, c.js) {
			t.Errorf("%s: unpacked %q, %v", c.name, got, err)
		}
	}
	if v := PackPayment(js); len(v) > len(js)/3 {
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
	got, err := UnpackPayment(v)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("golden record: %q, %v", got, err)
	}
	r, err := DecodePayment(v)
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
	v := PackPayment(js)
	unread := 0
	for i := range v {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			d := bytes.Clone(v)
			d[i] ^= x
			if got, err := UnpackPayment(d); err == nil && d[0] == PackFlate1 {
				if !bytes.Equal(got, js) {
					t.Fatalf("byte %d ^ %#x: read back another record without error: %q", i, x, got)
				}
			} else if err == nil {
				if _, err := DecodePayment(d); err == nil {
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
	for _, short := range [][]byte{{PackFlate1}, {PackFlate1, 0, 0, 0}} {
		if _, err := UnpackPayment(short); !errors.Is(err, ErrPacked) {
			t.Errorf("%x: %v", short, err)
		}
	}
}

// Whatever bytes a damaged journal holds, unpacking ends with an error or
// bytes, never a panic or an unbounded allocation.
func FuzzUnpackPayment(f *testing.F) {
	js, _ := os.ReadFile(filepath.Join("testdata", "payment-packed.json"))
	f.Add(PackPayment(bytes.TrimSpace(js)))
	f.Add([]byte(`{"id":"pay_1"}`))
	f.Add([]byte{PackFlate1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := UnpackPayment(v)
		if err == nil && len(got) > 1<<20 {
			t.Fatalf("%d bytes", len(got))
		}
		DecodePayment(v)
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
	if v[0] != PackFlate2 {
		t.Fatalf("tag %#x", v[0])
	}
	got, err := UnpackEvent(v)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("golden event: %q, %v", got, err)
	}
	if p := PackEvent(want); !bytes.Equal(p, v) {
		t.Logf("packs today to %d bytes (golden %d): the reader is what is fixed", len(p), len(v))
	}
	if _, err := DecodePayment(v); err == nil {
		t.Fatal("a packed event decodes as a payment")
	}
	if js, err := UnpackPayment(PackPayment(want)); err != nil || !bytes.Equal(js, want) {
		t.Fatalf("round trip through the payment codec: %v", err)
	}
}
