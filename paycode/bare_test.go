package paycode

import "testing"

func TestBareCode(t *testing.T) {
	const wc = "134567890123456789"
	for _, c := range []struct {
		in, code, sym string
		ok            bool
	}{
		{wc, wc, "", true},
		{"]Q1" + wc, wc, "]Q1", true},
		{"]Q1" + wc + "\r", wc, "]Q1", true},
		{"\u200e" + wc[:9] + "\u202e" + wc[9:], wc, "", true},
		{"]E04006381333931", "", "", false}, // an EAN-13 behind its prefix
		{"PAY:" + wc, "", "", false},        // embedded: masked, never charged
		{wc + "0", "", "", false},           // 19 digits starting 13: no wallet
		{"]Q1", "", "", false},
		{"", "", "", false},
		{"]Q1]Q1" + wc, "", "", false}, // one prefix only
	} {
		code, sym, ok := Bare(c.in)
		if code != c.code || sym != c.sym || ok != c.ok {
			t.Errorf("Bare(%q) = %q %q %v, want %q %q %v", c.in, code, sym, ok, c.code, c.sym, c.ok)
		}
	}
}

func FuzzBareCode(f *testing.F) {
	f.Add("]Q1134567890123456789")
	f.Add("\u202e28001234567890123456")
	f.Fuzz(func(t *testing.T, s string) {
		code, _, ok := Bare(s)
		if ok {
			if _, valid := Classify(code); !valid {
				t.Fatalf("Bare(%q) = %q, not a payment code", s, code)
			}
		} else if code != "" {
			t.Fatalf("Bare(%q) returned %q with ok false", s, code)
		}
	})
}
