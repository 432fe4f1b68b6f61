package paycode

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

func TestMask(t *testing.T) {
	tests := map[string]string{
		"134567890123456789": "1345**********6789",
		"12345678":           "********",
		"":                   "",
		"123456789":          "1234*6789",
	}
	for in, want := range tests {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
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
		if m := Mask(code); len(m) != len(code) {
			t.Fatalf("Mask changed length: %q -> %q", code, m)
		}
	})
}

func TestValid(t *testing.T) {
	for code, want := range map[string]bool{
		"134567890123456789": true, "6212345678901234567": true, "2812345678901234": true,
		"4006381333931": false, "": false, " 134567890123456789": false,
	} {
		if got := Valid(code); got != want {
			t.Errorf("Valid(%q) = %v, want %v", code, got, want)
		}
	}
}

// FuzzMask: Mask keeps the length, keeps at most 8 characters of a code in
// clear, and never shows the middle.
func FuzzMask(f *testing.F) {
	f.Add("134567890123456789")
	f.Add("12345678")
	f.Fuzz(func(t *testing.T, code string) {
		m := Mask(code)
		if len(m) != len(code) {
			t.Fatalf("Mask(%q) = %q: length changed", code, m)
		}
		clear := 0
		for i := range len(m) {
			if m[i] != '*' {
				clear++
			}
		}
		if clear > 8 {
			t.Fatalf("Mask(%q) = %q: %d characters in clear", code, m, clear)
		}
		if Valid(code) && Valid(m) {
			t.Fatalf("Mask(%q) = %q is still a payment code", code, m)
		}
	})
}
