package scanner

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		code   string
		wallet string
		ok     bool
	}{
		{"134567890123456789", WeChat, true}, // 18 digits, 13
		{"104567890123456789", WeChat, true}, // lower bound 10
		{"154567890123456789", WeChat, true}, // Hong Kong 15
		{"164567890123456789", "", false},    // 16 is not a WeChat prefix
		{"13456789012345678", "", false},     // 17 digits
		{"1345678901234567890", "", false},   // 19 digits, prefix 13
		{"2812345678901234", Alipay, true},   // 16 digits
		{"281234567890123456", Alipay, true}, // 18 digits
		{"301234567890123456789012", Alipay, true},
		{"25123456789012345678901234567890", Alipay, true}, // Alipay+ 32
		{"251234567890123456789012345678901", "", false},   // 33 digits
		{"241234567890123456", "", false},                  // 24 is not Alipay
		{"311234567890123456", "", false},
		{"6212345678901234567", UnionPay, true}, // 19 digits, 62
		{"621234567890123456", "", false},       // 18 digits, 62
		{"4006381333931", "", false},            // EAN-13
		{"https://example.com/x", "", false},
		{"13456789012345678a", "", false},
		{"", "", false},
		{"١٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨", "", false}, // non-ASCII digits
	}
	for _, tt := range tests {
		w, ok := Classify(tt.code)
		if w != tt.wallet || ok != tt.ok {
			t.Errorf("Classify(%q) = %q, %v; want %q, %v", tt.code, w, ok, tt.wallet, tt.ok)
		}
	}
}

func TestMaskCode(t *testing.T) {
	tests := map[string]string{
		"134567890123456789": "1345**********6789",
		"12345678":           "********",
		"":                   "",
		"123456789":          "1234*6789",
	}
	for in, want := range tests {
		if got := MaskCode(in); got != want {
			t.Errorf("MaskCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add("134567890123456789")
	f.Add("4006381333931")
	f.Fuzz(func(t *testing.T, code string) {
		w, ok := Classify(code)
		if ok != (w != "") {
			t.Fatalf("Classify(%q) = %q, %v: wallet and ok disagree", code, w, ok)
		}
		if m := MaskCode(code); len(m) != len(code) {
			t.Fatalf("MaskCode changed length: %q -> %q", code, m)
		}
	})
}
