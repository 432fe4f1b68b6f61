package pole

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/posagent/posagent/display"
)

func gb(s string) string {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestTextGB2312(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"合计 CAD 12.50", gb("合计") + " CAD 12.50" + strings.Repeat(" ", 6)},
		{"请用银联云闪付扫码", gb("请用银联云闪付扫码") + "  "},
		{"一二三四五六七八九十十一", gb("一二三四五六七八九十")},                              // 20 columns exactly
		{"a一二三四五六七八九十", "a" + gb("一二三四五六七八九") + " "},                    // the 10th would pass column 20
		{"Café\x1b@", "Caf" + gb("é") + " @" + strings.Repeat(" ", 13)}, // é is in GB2312 (pinyin); ESC neutralised
		{"Ærø", "r" + strings.Repeat(" ", 19)},                          // neither in GB2312 nor with an ASCII base: dropped
		{"emoji 😀 ok", "emoji  ok" + strings.Repeat(" ", 11)},           // not in GB2312: dropped
		{"", strings.Repeat(" ", 20)},
	}
	for _, tt := range tests {
		if got := TextGB2312(tt.in); got != tt.want {
			t.Errorf("TextGB2312(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzTextGB2312: always 20 bytes, never a control byte, and every byte
// above 0x7F is half of a GB2312 pair.
func FuzzTextGB2312(f *testing.F) {
	f.Add("合计 CAD 12.50")
	f.Add("\x1b@\x0c枫茶屋 Maple")
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(TextGB2312(s))
		if len(b) != Width {
			t.Fatalf("%d bytes", len(b))
		}
		for i := 0; i < len(b); i++ {
			switch c := b[i]; {
			case c < 0x20 || c == 0x7F:
				t.Fatalf("control byte %#x in %q", c, b)
			case c >= 0x80:
				if i+1 >= len(b) || c < 0xA1 || b[i+1] < 0xA1 || b[i+1] == 0xFF || c == 0xFF {
					t.Fatalf("byte %#x at %d is not a GB2312 pair in % x", c, i, b)
				}
				i++
			}
		}
	})
}

// TestPoleChinese: with language auto, a CD5220 with GB2312 shows a WeChat
// Pay or Alipay sale in Chinese and everything else in English; one
// without GB2312, or an Epson display, stays English.
func TestPoleChinese(t *testing.T) {
	wx := display.Screen{Kind: display.KindQR, Amount: 1250, Currency: "CAD", Wallet: "wechat", CodeURL: "x"}
	up := wx
	up.Wallet = "unionpay"
	paid := display.Screen{Kind: display.KindPaid, Amount: 1250, Currency: "CAD", Wallet: "alipay"}
	// The screen of a scan payment the customer confirms on the phone
	// (display.ScreenFor with reason waiting_for_customer).
	confirm := display.ScreenFor(display.Payment{ID: "p1", Mode: "scan", Wallet: "wechat", Amount: 1250, Currency: "CAD",
		State: "processing", Reason: "waiting_for_customer"}, time.Now())
	tests := []struct {
		name string
		d    Dialect
		lang string
		s    display.Screen
		want [2]string
	}{
		{"cd5220 gb2312 wechat", CD5220{GB2312: true}, "auto", wx, [2]string{"合计 CAD 12.50", "请用微信支付扫码"}},
		{"cd5220 gb2312 alipay paid", CD5220{GB2312: true}, "auto", paid, [2]string{"合计 CAD 12.50", "支付成功 谢谢惠顾"}},
		{"cd5220 gb2312 confirm on phone", CD5220{GB2312: true}, "auto", confirm, [2]string{"合计 CAD 12.50", "请在手机上确认付款"}},
		{"cd5220 plain confirm on phone", CD5220{}, "auto", confirm, [2]string{"TOTAL CAD 12.50", "CONFIRM ON PHONE"}},
		{"cd5220 gb2312 unionpay", CD5220{GB2312: true}, "auto", up, [2]string{"TOTAL CAD 12.50", "SCAN QR: UNIONPAY"}},
		{"cd5220 gb2312 zh idle", CD5220{GB2312: true}, "zh", display.Screen{Kind: display.KindIdle}, [2]string{"枫茶屋 Maple Tea", "欢迎光临"}},
		{"cd5220 plain wechat", CD5220{}, "auto", wx, [2]string{"TOTAL CAD 12.50", "SCAN QR: WECHAT PAY"}},
		{"epson zh", EpsonDMD{}, "zh", wx, [2]string{"TOTAL CAD 12.50", "SCAN QR: WECHAT PAY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := New(&buf, tt.d, Options{Merchant: "枫茶屋 Maple Tea", Language: tt.lang, ShopLanguage: "en"})
			if err := p.Show(tt.s); err != nil {
				t.Fatal(err)
			}
			want := append(tt.d.Init(), tt.d.Frame(tt.want)...)
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("wrote %q\nwant %q", buf.Bytes(), want)
			}
		})
	}
}

// TestCD5220ChineseGolden pins the bytes of a sale in Chinese on a CD5220
// with GB2312.
func TestCD5220ChineseGolden(t *testing.T) {
	var buf bytes.Buffer
	p := New(&buf, CD5220{GB2312: true}, Options{Merchant: "枫茶屋 Maple Tea House", Language: "zh"})
	for _, s := range session {
		if err := p.Show(s); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "cd5220-gb2312.golden", buf.Bytes())
	if !bytes.Contains(buf.Bytes(), []byte("\x1bQB"+gb("请出示付款码"))) {
		t.Errorf("no Chinese scan prompt in %q", buf.Bytes())
	}
}
