package record

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The stamp keys (audit_at, outbox_due) sort by time, before 1970 too,
// then by sequence.
func TestStampKeysSortByTime(t *testing.T) {
	times := []time.Time{
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC),
	}
	for _, key := range []func(time.Time, uint64) []byte{AuditKey, DueKey} {
		var prev []byte
		for _, at := range times {
			for _, seq := range []uint64{1, 2} {
				k := key(at, seq)
				if len(k) != 16 {
					t.Fatalf("key of %v #%d: %d bytes", at, seq, len(k))
				}
				if prev != nil && bytes.Compare(prev, k) >= 0 {
					t.Errorf("key of %v #%d sorts before the one of an earlier stamp or sequence", at, seq)
				}
				prev = k
			}
		}
	}
}

func TestMetaDecoders(t *testing.T) {
	meta := map[string][]byte{
		GapPrefix + string(U64(5)):   U64(9),
		GapPrefix + "short":          U64(1),
		LatestPrefix + "ex_rate":     U64(42),
		LatestPrefix + "bad":         []byte("x"),
		string(KeyIndex):             U64(1),
		CountPrefix + string(Queued): U64(3),
	}
	if g := Gaps(meta); len(g) != 1 || g[5] != 9 {
		t.Errorf("Gaps: %v, want 5 -> 9 only", g)
	}
	if l := LatestSeqs(meta); len(l) != 1 || l[0] != 42 {
		t.Errorf("LatestSeqs: %v, want [42]", l)
	}
	if !Indexed(meta) || Indexed(map[string][]byte{string(KeyIndex): []byte("1")}) {
		t.Error("Indexed: wants an 8-byte meta index entry")
	}
	if !IsIndexMeta(CountPrefix+"queued") || !IsIndexMeta("index") || IsIndexMeta("schema") {
		t.Error("IsIndexMeta")
	}
	if k := StateKey(InDoubt, "pay_1"); string(k) != "in_doubt\x00pay_1" {
		t.Errorf("StateKey: %q", k)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	b, _ := at.MarshalText()
	if got := ArchivedBefore(b); got == nil || !got.Equal(at) {
		t.Errorf("ArchivedBefore: %v", got)
	}
	if ArchivedBefore(nil) != nil || ArchivedBefore([]byte("yesterday")) != nil {
		t.Error("ArchivedBefore of nothing or of no time: want nil")
	}
}

func TestParseSealed(t *testing.T) {
	blob := base64.RawURLEncoding.EncodeToString(make([]byte, 28))
	for _, tc := range []struct {
		in, err string
		id      uint32
	}{
		{in: "v1.7." + blob, id: 7},
		{in: "v2.7." + blob, err: "unknown sealing format"},
		{in: "v1.7", err: "no key id"},
		{in: "v1.0." + blob, err: "bad key id"},
		{in: "v1.x." + blob, err: "bad key id"},
		{in: "v1.7.!!", err: "bad ciphertext"},
		{in: "v1.7." + base64.RawURLEncoding.EncodeToString(make([]byte, 27)), err: "bad ciphertext"},
	} {
		id, b, err := ParseSealed(tc.in)
		switch {
		case tc.err == "" && (err != nil || id != tc.id || len(b) != 28):
			t.Errorf("%q: %d %d bytes %v", tc.in, id, len(b), err)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
		}
	}
}

// A stored payment's sealed code and a code in clear (journals from before
// sealing) are read beside the payment, never into Payment.AuthCode.
func TestDecodePayment(t *testing.T) {
	r, err := DecodePayment([]byte(`{"id":"pay_1","order_id":"o1","state":"queued","auth_code":"1345","auth_code_sealed":"v1.1.x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "pay_1" || r.State != Queued || r.AuthCode != "1345" || r.Sealed != "v1.1.x" || r.Payment.AuthCode != "" {
		t.Errorf("decoded %+v (payment %+v)", r, r.Payment)
	}
	if _, err := DecodePayment([]byte(`{"id":`)); err == nil {
		t.Error("a cut record decoded")
	}
}

// An event stored as a delta reads back byte for byte, through a chain of
// deltas; a delta whose base is missing or later says so.
func TestDeltaReadsBackExactly(t *testing.T) {
	events := [][]byte{
		[]byte(`{"seq":1,"kind":"payment.created","at":"2026-12-07T09:00:00Z","payment":{"id":"pay_1","state":"awaiting_code","amount":1250}}`),
		[]byte(`{"seq":2,"kind":"payment.updated","at":"2026-12-07T09:00:01Z","payment":{"id":"pay_1","state":"processing","amount":1250}}`),
		[]byte(`{"seq":3,"kind":"payment.updated","at":"2026-12-07T09:00:02Z","payment":{"id":"pay_1","state":"succeeded","amount":1250,"wallet":"wechat"}}`),
	}
	stored := map[uint64][]byte{1: events[0]}
	for i := 1; i < len(events); i++ {
		seq := uint64(i + 1)
		rec := []byte(`{"~delta":[` + strconv.FormatUint(seq-1, 10) + `,` + strconv.FormatUint(uint64(i-1), 10) + `],"seq":` + strconv.FormatUint(seq, 10) + `,"kind":"payment.updated","ops":[`)
		base, err := NewEventReader(func(s uint64) []byte { return stored[s] }).Full(seq-1, stored[seq-1])
		if err != nil {
			t.Fatal(err)
		}
		for j, op := range DiffOps(base, events[i]) {
			if j > 0 {
				rec = append(rec, ',')
			}
			rec = append(rec, op...)
		}
		stored[seq] = append(rec, ']', '}')
		if !IsDelta(stored[seq]) {
			t.Fatalf("event %d: not a delta: %s", seq, stored[seq])
		}
	}
	r := NewEventReader(func(s uint64) []byte { return stored[s] })
	for i, want := range events {
		got, err := r.Full(uint64(i+1), stored[uint64(i+1)])
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("event %d: %s %v, want %s", i+1, got, err, want)
		}
	}
	delete(stored, 1)
	if _, err := NewEventReader(func(s uint64) []byte { return stored[s] }).Full(3, stored[3]); err == nil || !strings.Contains(err.Error(), "base event 1 is missing") {
		t.Errorf("a chain to a missing event: %v", err)
	}
	later := []byte(`{"~delta":[9,0],"seq":4,"kind":"k","ops":[]}`)
	if _, err := NewEventReader(func(uint64) []byte { return nil }).Full(4, later); err == nil || !strings.Contains(err.Error(), "later event") {
		t.Errorf("a delta of a later event: %v", err)
	}
	if _, err := NewEventReader(func(uint64) []byte { return events[0] }).Full(5, []byte(`{"~delta":[1,0],"ops":[[0,999]]}`)); err == nil {
		t.Error("a copy past its base's segments read back")
	}
}
