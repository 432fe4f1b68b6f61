package feed

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSubjects(t *testing.T) {
	for _, tc := range []struct{ kind, want string }{
		{"payment.updated", "posagent.maple.s1.L1.payment.updated"},
		{"api.audit", "posagent.maple.s1.L1.api.audit"},
		{"", "posagent.maple.s1.L1.unknown"},
		{"a b.*.>", "posagent.maple.s1.L1.a_b._._"},
		{"x..y", "posagent.maple.s1.L1.x._.y"},
	} {
		if got := lane1.Subject(tc.kind); got != tc.want {
			t.Errorf("Subject(%q) = %s, want %s", tc.kind, got, tc.want)
		}
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	ev := []byte(`{"seq":7,"kind":"payment.updated","at":"2026-12-07T08:00:00Z","payment":{"id":"pay_1","amount":1250,"auth_code_masked":"1345**********6789","note":"<b>&</b>"}}`)
	b, env, err := Encode(lane1, "j1", "1.2.3", 7, ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"merchant":"maple","store":"s1","lane":"L1","journal":"j1","seq":7,"at":"2026-12-07T08:00:00Z","kind":"payment.updated","agent":"1.2.3","digest":"` + Digest(ev) + `","event":` + string(ev) + `}`
	if string(b) != want {
		t.Fatalf("envelope\n got %s\nwant %s", b, want)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 7 || got.Kind != env.Kind || string(got.Event) != string(ev) || got.Digest != env.Digest {
		t.Fatalf("decoded %+v", got)
	}
}

// A payment code in clear in an event never leaves: the payload masks it.
func TestEnvelopeMasksPaymentCodes(t *testing.T) {
	ev := []byte(`{"seq":1,"kind":"scan.barcode","at":"2026-12-07T08:00:00Z","scan":{"code":"134567890123456789"}}`)
	b, _, err := Encode(lane1, "j1", "", 1, ev)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "134567890123456789") {
		t.Fatalf("a payment code in the envelope: %s", b)
	}
	if _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	good, _, _ := Encode(lane1, "j1", "", 3, []byte(`{"seq":3,"kind":"k","at":"2026-12-07T08:00:00Z"}`))
	var m map[string]any
	json.Unmarshal(good, &m)
	with := func(k string, v any) []byte {
		c := map[string]any{}
		for a, b := range m {
			c[a] = b
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		b, _ := json.Marshal(c)
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"not json", []byte("hello"), ErrNotEnvelope, ""},
		{"version 2", with("v", 2), ErrVersion, "v 2"},
		{"no seq", with("seq", nil), ErrNotEnvelope, "seq"},
		{"bad lane", with("lane", "a.b"), ErrNotEnvelope, `lane "a.b"`},
		{"tampered event", with("event", map[string]any{"seq": 3, "kind": "k", "amount": 1}), ErrNotEnvelope, "digest"},
	} {
		_, err := Decode(tc.in)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %v with %q", tc.name, err, tc.want, tc.msg)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _, _ := Encode(lane1, "j1", "", 3, []byte(`{"seq":3,"kind":"k","at":"2026-12-07T08:00:00Z"}`))
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes is a whole envelope whose digest holds.
		if env.Seq == 0 || env.Journal == "" || Digest(env.Event) != env.Digest || env.Identity.Check() != nil {
			t.Fatalf("Decode accepted %q as %+v", b, env)
		}
	})
}
