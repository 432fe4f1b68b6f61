package ottsim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway/ottsim"
)

// TestStandalone: the environment, else the test merchant, fill what the
// flags left empty; options out of range are refused naming the flag.
func TestStandalone(t *testing.T) {
	valid := func() ottsim.Standalone {
		return ottsim.Standalone{Listen: "127.0.0.1:0", Options: ottsim.Options{TimeScale: 1, PaidAfter: time.Second,
			CloseAfter: time.Second, SlowReply: time.Second, QRTimeout: time.Second}}
	}
	s := valid()
	s.FillDefaults(func(k string) string {
		if k == "POSAGENT_GATEWAY_MERCHANT_ID" {
			return "ON00009999"
		}
		return ""
	})
	if s.MerchantID != "ON00009999" || s.SignKey != ottsim.TestSignKey {
		t.Errorf("defaults: merchant %q key %q", s.MerchantID, s.SignKey)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	for _, tc := range []struct {
		change func(*ottsim.Standalone)
		want   string
	}{
		{func(s *ottsim.Standalone) { s.TimeScale = 0 }, "--time-scale"},
		{func(s *ottsim.Standalone) { s.QRTimeout = 0 }, "--qr-timeout"},
		{func(s *ottsim.Standalone) { s.Faults.ErrorRate = 1.5 }, "--error-rate"},
		{func(s *ottsim.Standalone) { s.Faults.LatencyMS = -1 }, "--latency-ms"},
		{func(s *ottsim.Standalone) { s.BaseURL = "192.168.1.20:7421" }, "--base-url"},
	} {
		s := valid()
		tc.change(&s)
		if err := s.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err %v, want one naming %s", err, tc.want)
		}
	}
	s = valid()
	sim, l, base, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if sim == nil || base != "http://"+l.Addr().String() {
		t.Errorf("base %q for %s", base, l.Addr())
	}
}
