package fleet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var (
	t0   = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	lane = Target{Merchant: "maple", Store: "s01", Lane: "L2"}
)

func keys(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	return priv.Public().(ed25519.PublicKey), priv
}

func bundle(target Target, v uint64) Bundle {
	return Bundle{Target: target, Version: v, Issued: t0, Expires: t0.Add(time.Hour), YAML: "tips:\n  choices: [10, 15]\n"}
}

func signed(t testing.TB, b Bundle, priv ed25519.PrivateKey) []byte {
	t.Helper()
	out, err := Sign(b, priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenRoundTrip(t *testing.T) {
	pub, priv := keys(t)
	for _, target := range []Target{{Merchant: "maple", Store: "s01"}, lane} {
		b, err := Open(signed(t, bundle(target, 3), priv), pub, lane, t0.Add(time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if b.Version != 3 || b.Target != target || b.YAML != bundle(target, 3).YAML || b.Format != Format {
			t.Fatalf("%s: opened %+v", target, b)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	pub, priv := keys(t)
	_, other, _ := ed25519.GenerateKey(nil)
	good := signed(t, bundle(lane, 5), priv)
	tampered := func() []byte {
		var env Envelope
		if err := json.Unmarshal(good, &env); err != nil {
			t.Fatal(err)
		}
		env.Payload = bytes.Replace(env.Payload, []byte(`"version":5`), []byte(`"version":9`), 1)
		out, _ := json.Marshal(env)
		return out
	}()
	format2 := bundle(lane, 5)
	format2.Format = 2
	cases := []struct {
		name   string
		data   []byte
		pub    ed25519.PublicKey
		now    time.Time
		reason Reason
	}{
		{"another key", signed(t, bundle(lane, 5), other), pub, t0, ReasonSignature},
		{"payload changed after signing", tampered, pub, t0, ReasonSignature},
		{"no key on the lane", good, nil, t0, ReasonSignature},
		{"another store", signed(t, bundle(Target{Merchant: "maple", Store: "s02"}, 5), priv), pub, t0, ReasonTarget},
		{"another chain", signed(t, bundle(Target{Merchant: "oak", Store: "s01"}, 5), priv), pub, t0, ReasonTarget},
		{"another lane", signed(t, bundle(Target{Merchant: "maple", Store: "s01", Lane: "L3"}, 5), priv), pub, t0, ReasonTarget},
		{"expired", good, pub, t0.Add(time.Hour), ReasonExpired},
		{"unknown format", signed(t, format2, priv), pub, t0, ReasonFormat},
		{"not JSON", []byte("tips: {}"), pub, t0, ReasonMalformed},
		{"too large", bytes.Repeat([]byte{' '}, MaxBundle+1), pub, t0, ReasonMalformed},
	}
	for _, c := range cases {
		_, err := Open(c.data, c.pub, lane, c.now)
		if got := ReasonOf(err); got != c.reason {
			t.Errorf("%s: refused as %q (%v), want %q", c.name, got, err, c.reason)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for _, c := range []struct {
		v, highest uint64
		ok         bool
	}{{5, 4, true}, {5, 5, false}, {3, 5, false}, {1, 0, true}} {
		err := CheckVersion(bundle(lane, c.v), c.highest)
		if (err == nil) != c.ok || (err != nil && ReasonOf(err) != ReasonVersion) {
			t.Errorf("version %d over %d: %v", c.v, c.highest, err)
		}
	}
}

func TestSignRefusesWhatNoLaneTakes(t *testing.T) {
	_, priv := keys(t)
	noVersion := bundle(lane, 0)
	badTarget := bundle(Target{Merchant: "maple", Store: "s 01"}, 1)
	neverValid := bundle(lane, 1)
	neverValid.Expires = neverValid.Issued
	for name, b := range map[string]Bundle{"version 0": noVersion, "bad target": badTarget, "expires at issue": neverValid} {
		if _, err := Sign(b, priv); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func TestKeysRoundTrip(t *testing.T) {
	pub, priv := keys(t)
	got, err := ParsePublicKey(" " + FormatPublicKey(pub) + "\n")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("public key: %v", err)
	}
	for _, bad := range []string{"", "ed25519:", "ed25519:AAAA", "rsa:" + FormatPublicKey(pub)[8:], FormatPublicKey(pub)[8:]} {
		if _, err := ParsePublicKey(bad); err == nil || !strings.Contains(err.Error(), "keygen") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	pemKey, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePrivateKey(pemKey)
	if err != nil || !back.Equal(priv) {
		t.Fatalf("private key: %v", err)
	}
	if _, err := ParsePrivateKey([]byte("-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n")); err == nil {
		t.Error("a public key read as a private one")
	}
	if KeyID(pub) == KeyID(priv.Public().(ed25519.PublicKey)[:0]) || len(KeyID(pub)) != 16 {
		t.Errorf("key id %q", KeyID(pub))
	}
}

func TestKeys(t *testing.T) {
	store := Target{Merchant: "maple", Store: "s01"}
	if store.Key() != "config.maple.s01" || lane.Key() != "config.maple.s01.L2" || LaneKey(lane) != "lane.maple.s01.L2" {
		t.Fatalf("keys %q %q %q", store.Key(), lane.Key(), LaneKey(lane))
	}
	if err := (Target{Merchant: "maple", Store: "s.01"}).Check(); err == nil {
		t.Error("a dot in a key token accepted")
	}
}

func TestHeartbeatRoundTrip(t *testing.T) {
	h := Heartbeat{Lane: lane, Seq: 4, At: t0, Software: "1.2.0", Config: Applied{Store: 7, Lane: 9}, Gateway: "ok", BackupAgeS: -1}
	data, err := EncodeHeartbeat(h)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeHeartbeat(LaneKey(lane), data)
	if err != nil || back.Config.Store != 7 || back.Config.Lane != 9 || back.Seq != 4 || back.Format != Format {
		t.Fatalf("%+v %v", back, err)
	}
	if _, err := DecodeHeartbeat("lane.maple.s01.L3", data); err == nil {
		t.Error("a heartbeat for L2 accepted under L3's key")
	}
	if _, err := EncodeHeartbeat(Heartbeat{Lane: Target{Merchant: "maple", Store: "s01"}}); err == nil {
		t.Error("a heartbeat without a lane encoded")
	}
}

func FuzzOpen(f *testing.F) {
	pub, priv := keys(f)
	f.Add(signed(f, bundle(lane, 5), priv))
	f.Add([]byte(`{"payload":"e30=","key_id":"x","sig":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Open(data, pub, lane, t0)
		if err == nil && (!b.Target.Covers(lane) || !t0.Before(b.Expires) || b.Format != Format) {
			t.Fatalf("accepted %+v", b)
		}
		if err != nil && ReasonOf(err) == "" {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}
