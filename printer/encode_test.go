package printer

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenCases are the receipts whose bytes are pinned in testdata/*.hex.
func goldenCases() []struct {
	name    string
	receipt Receipt
	profile Profile
} {
	en := sampleReceipt()
	zh := sampleReceipt()
	zh.Merchant = "枫茶屋 Maple Tea"
	zh.Wallet = "alipay"
	zh.Copy = "merchant"
	merchantReprint := sampleReceipt()
	merchantReprint.Reprint = true
	merchantReprint.Wallet = "unionpay"
	merchantReprint.Refunds = nil
	merchantReprint.QR = ""
	declined := sampleReceipt()
	declined.State = "failed"
	declined.Refunds, declined.QR, declined.Footer = nil, "", nil

	p58 := Profile{Name: "t58", Paper: Paper58, Location: time.UTC}
	p80 := Profile{Name: "t80", Paper: Paper80, Location: time.UTC}
	native := func(p Profile) Profile { p.NativeQR = true; return p }
	lang := func(p Profile, l Language) Profile { p.Language = l; return p }
	zhReprint := zh
	zhReprint.Reprint, zhReprint.Wallet, zhReprint.State = true, "wechat", "failed"
	chinese := func(p Profile) Profile { p.GB18030 = true; return p }
	drawer := p80
	drawer.Drawer = DrawerKick{Enabled: true, Pin: 2}
	drawer.Cut = CutPartial // Sunmi style: ESC d n, GS V 1
	return []struct {
		name    string
		receipt Receipt
		profile Profile
	}{
		{"58mm-raster-en", en, p58},
		{"58mm-native-en", en, native(p58)},
		{"80mm-raster-en", en, p80},
		{"80mm-native-en", en, native(p80)},
		{"58mm-native-zh", zh, native(chinese(p58))},
		{"80mm-raster-zh", zh, chinese(p80)},
		{"80mm-reprint-drawer", merchantReprint, drawer},
		{"80mm-declined", declined, p80},
		{"58mm-native-en+zh", zh, native(lang(chinese(p58), Bilingual))},
		{"80mm-raster-en+zh", zh, lang(chinese(p80), Bilingual)},
		{"80mm-native-zh-reprint", zhReprint, native(lang(chinese(p80), Chinese))},
		{"58mm-en+zh-without-gb18030", zh, lang(p58, Bilingual)}, // no Chinese font anywhere: English, the name says so
	}
}

func TestEncodeGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := Encode(tc.receipt, tc.profile)
			path := filepath.Join("testdata", tc.name+".hex")
			if *update {
				if err := os.WriteFile(path, []byte(hex.Dump(got)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./printer -run TestEncodeGolden -update)", err)
			}
			if d := hex.Dump(got); d != string(want) {
				t.Errorf("bytes differ from %s (rerun with -update if the change is intended)\n got:\n%s", path, firstDiff(d, string(want)))
			}
			// Whatever the golden file says, the bytes must be the right kind.
			native := bytes.Contains(got, []byte{0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30})
			raster := bytes.Contains(got, []byte{0x1D, 0x76, 0x30})
			if tc.receipt.QR != "" && native != tc.profile.NativeQR {
				t.Errorf("native QR print command present = %v, profile NativeQR = %v", native, tc.profile.NativeQR)
			}
			if tc.receipt.QR != "" && raster == tc.profile.NativeQR {
				t.Errorf("raster image present = %v, profile NativeQR = %v", raster, tc.profile.NativeQR)
			}
			if cn := bytes.Contains(got, []byte{0x1C, 0x26}); cn != tc.profile.GB18030 {
				t.Errorf("Chinese mode on = %v, profile GB18030 = %v", cn, tc.profile.GB18030)
			}
			if !bytes.HasPrefix(got, []byte{0x1B, 0x40}) {
				t.Errorf("does not start with ESC @")
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range g {
		if i >= len(w) || g[i] != w[i] {
			wl := ""
			if i < len(w) {
				wl = w[i]
			}
			return "line " + strconv.Itoa(i+1) + "\n got:  " + g[i] + "\n want: " + wl
		}
	}
	return "want has more lines"
}

func TestEncodeContent(t *testing.T) {
	r := sampleReceipt()
	zh, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("微信支付"))
	tests := []struct {
		name    string
		profile Profile
		want    [][]byte
		notWant [][]byte
	}{
		{"english", Profile80(), [][]byte{[]byte("12.50 CAD"), []byte("WeChat Pay"), []byte("CUSTOMER COPY"), []byte("1345********1234"), []byte("PARTIALLY REFUNDED"), []byte("-5.00 CAD")}, [][]byte{zh}},
		{"chinese", Profile{GB18030: true}, [][]byte{[]byte("12.50 CAD"), append([]byte("WeChat Pay "), zh...)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Encode(r, tt.profile)
			for _, w := range tt.want {
				if !bytes.Contains(got, w) {
					t.Errorf("missing % X (%q)", w, w)
				}
			}
			for _, w := range tt.notWant {
				if bytes.Contains(got, w) {
					t.Errorf("unexpected % X", w)
				}
			}
		})
	}
}

func TestStateLabel(t *testing.T) {
	base := sampleReceipt()
	tests := []struct {
		state   string
		refunds []RefundLine
		want    string
	}{
		{"succeeded", nil, "PAID"},
		{"succeeded", []RefundLine{{Amount: 1250, State: "succeeded"}}, "REFUNDED"},
		{"succeeded", []RefundLine{{Amount: 500, State: "succeeded"}}, "PARTIALLY REFUNDED"},
		{"succeeded", []RefundLine{{Amount: 500, State: "pending"}}, "PAID"},
		{"failed", nil, "DECLINED"},
		{"reversed", nil, "REVERSED"},
		{"cancelled", nil, "CANCELLED"},
		{"expired", nil, "EXPIRED"},
		{"in_doubt", nil, "PENDING"},
		{"", nil, "UNKNOWN"},
		{"weird", nil, "WEIRD"},
	}
	for _, tt := range tests {
		r := base
		r.State, r.Refunds = tt.state, tt.refunds
		if got := StateLabel(r); got != tt.want {
			t.Errorf("StateLabel(%s, %v) = %q, want %q", tt.state, tt.refunds, got, tt.want)
		}
	}
}

func TestWalletName(t *testing.T) {
	for _, tt := range []struct {
		w       string
		chinese bool
		want    string
	}{
		{"wechat", false, "WeChat Pay"}, {"wechat", true, "WeChat Pay 微信支付"},
		{"alipay", true, "Alipay 支付宝"}, {"UnionPay", true, "UnionPay 银联"}, {"other", true, "other"},
	} {
		if got := WalletName(tt.w, tt.chinese); got != tt.want {
			t.Errorf("WalletName(%q, %v) = %q, want %q", tt.w, tt.chinese, got, tt.want)
		}
	}
}

func TestEncodeIsDeterministicAndPure(t *testing.T) {
	r, p := sampleReceipt(), Profile{Location: time.UTC}
	a, b := Encode(r, p), Encode(r, p)
	if !bytes.Equal(a, b) {
		t.Fatal("two encodings of the same receipt differ")
	}
}
