package display

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/internal/fontstest"
)

var loadCJK = fontstest.Load

func TestPrimaryLanguage(t *testing.T) {
	tests := []struct {
		lang, shop, wallet, want string
	}{
		{"en", "en", "wechat", "en"},
		{"zh", "en", "unionpay", "zh"},
		{"auto", "en", "wechat", "zh"},
		{"auto", "en", "alipay", "zh"},
		{"auto", "en", "unionpay", "en"},
		{"auto", "en", "", "en"}, // a scan before its code is read, the cart, idle
		{"auto", "zh", "unionpay", "zh"},
		{"", "", "wechat", "en"},
	}
	for _, tt := range tests {
		if got := PrimaryLanguage(tt.lang, tt.shop, Screen{Kind: KindQR, Wallet: tt.wallet}); got != tt.want {
			t.Errorf("PrimaryLanguage(%q, %q, %s) = %q, want %q", tt.lang, tt.shop, tt.wallet, got, tt.want)
		}
	}
	for in, want := range map[string]string{"": "en", "EN": "en", "zh-CN": "zh", "auto": "auto"} {
		if got, err := ParseLanguage(in); err != nil || got != want {
			t.Errorf("ParseLanguage(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseLanguage("fr"); err == nil {
		t.Error("fr accepted")
	}
	if _, err := NewRenderer(FrameOptions{Language: "auto", ShopLanguage: "auto"}); err == nil {
		t.Error("shop language auto accepted")
	}
}

// TestFrameLines: the texts of a frame in order, per language setting.
func TestFrameLines(t *testing.T) {
	cjk := loadCJK(t)
	qr := Screen{Kind: KindQR, Amount: 1250, Currency: "CAD", Wallet: "wechat", CodeURL: "x"}
	union := qr
	union.Wallet = "unionpay"
	tests := []struct {
		name string
		o    FrameOptions
		s    Screen
		want []string
	}{
		{"auto wechat: Chinese first", FrameOptions{Language: "auto", CJK: cjk}, qr, []string{"CAD 12.50", "请使用微信支付扫码", "Scan with WeChat Pay"}},
		{"auto unionpay: shop's English first", FrameOptions{Language: "auto", CJK: cjk}, union, []string{"CAD 12.50", "Scan with UnionPay", "请使用银联云闪付扫码"}},
		{"auto unionpay in a Chinese shop", FrameOptions{Language: "auto", ShopLanguage: "zh", CJK: cjk}, union, []string{"CAD 12.50", "请使用银联云闪付扫码", "Scan with UnionPay"}},
		{"en wechat", FrameOptions{Language: "en", CJK: cjk}, qr, []string{"CAD 12.50", "Scan with WeChat Pay", "请使用微信支付扫码"}},
		{"no font: English and a note", FrameOptions{Language: "auto"}, qr, []string{"CAD 12.50", "Scan with WeChat Pay", OmittedNote}},
		{"small auto wechat", FrameOptions{Width: 128, Height: 40, Language: "auto", CJK: cjk}, Screen{Kind: KindScanPrompt, Amount: 1250, Currency: "CAD", Wallet: "wechat"}, []string{"CAD 12.50", "请出示付款码"}},
		{"small no font", FrameOptions{Width: 128, Height: 40, Language: "zh"}, Screen{Kind: KindScanPrompt, Amount: 1250, Currency: "CAD"}, []string{"CAD 12.50", "Please show your", "payment code"}},
		{"auto wechat: confirm on the phone", FrameOptions{Language: "auto", CJK: cjk}, Screen{Kind: KindAmountDue, Amount: 1250, Currency: "CAD", Wallet: "wechat", Message: MsgConfirmOnPhone}, []string{"应付金额", "Amount due", "CAD 12.50", "请在手机上确认付款", MsgConfirmOnPhone}},
		{"failed reason translated", FrameOptions{Language: "zh", CJK: cjk}, Screen{Kind: KindFailed, Amount: 1250, Currency: "CAD", Message: "invalid payment code"}, []string{"支付失败", "DECLINED", "付款码无效", "invalid payment code", "CAD 12.50"}},
		{"gateway's own reason stays", FrameOptions{Language: "zh", CJK: cjk}, Screen{Kind: KindFailed, Amount: 1250, Currency: "CAD", Message: "card limit"}, []string{"支付失败", "DECLINED", "card limit", "CAD 12.50"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRenderer(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range r.lines(tt.s) {
				got = append(got, l.text)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFrameChineseGolden pins an 800x480 frame of a WeChat Pay QR with
// language auto, drawn with Noto Sans CJK: its QR decodes, Chinese is
// primary (drawn larger, above the English), and no Chinese character is
// drawn as the font's missing-glyph box.
func TestFrameChineseGolden(t *testing.T) {
	cjk := loadCJK(t)
	r, err := NewRenderer(FrameOptions{Width: SecondWidth, Height: SecondHeight, CJK: cjk, Language: "auto", MerchantName: "枫茶屋"})
	if err != nil {
		t.Fatal(err)
	}
	s := Screen{Kind: KindQR, Amount: 1250, Currency: "CAD", Wallet: "wechat", CodeURL: "weixin://wxpay/bizpayurl?pr=abc123XYZ", PaymentID: "p"}
	b, err := r.PNG(s)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "frame_qr_wechat_auto_800x480.png", b)
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeQR(img); err != nil || got != s.CodeURL {
		t.Errorf("QR decodes to %q, %v", got, err)
	}
	var zh []string
	for _, l := range r.lines(s) {
		if hasCJK(l.text) {
			zh = append(zh, l.text)
		}
	}
	if len(zh) == 0 {
		t.Fatal("no Chinese on the frame")
	}
	for _, text := range append(zh, "欢迎光临", "支付成功", "谢谢惠顾", "应付金额", "请出示付款码", "支付宝", "正在确认支付", "付款码无效") {
		checkGlyphs(t, cjk, text)
	}
}

// checkGlyphs draws each CJK character of text alone and fails when the
// font has no glyph for it (index 0) or when it looks like the font's
// missing-glyph box (.notdef).
func checkGlyphs(t *testing.T, cjk *fonts.CJK, text string) {
	t.Helper()
	face, err := opentype.NewFace(cjk.Regular, &opentype.FaceOptions{Size: 32, DPI: 72})
	if err != nil {
		t.Fatal(err)
	}
	defer face.Close()
	alone := func(r rune) []byte {
		img := image.NewGray(image.Rect(0, 0, 40, 40))
		d := font.Drawer{Dst: img, Src: image.White, Face: face, Dot: fixed.P(4, 32)}
		d.DrawString(string(r))
		return img.Pix
	}
	notdef := alone(0x10FFFD)
	for _, r := range text {
		if !fonts.IsCJK(r) {
			continue
		}
		if !cjk.Has(r) {
			t.Errorf("%q: %s has no glyph for it", r, cjk.Name)
			continue
		}
		if g := alone(r); bytes.Equal(g, notdef) || bytes.Count(g, []byte{0}) == len(g) {
			t.Errorf("%q is drawn as the missing-glyph box or blank", r)
		}
	}
}

func BenchmarkRenderQRChinese800x480(b *testing.B) {
	cjk := loadCJK(b)
	r, err := NewRenderer(FrameOptions{CJK: cjk, Language: "auto"})
	if err != nil {
		b.Fatal(err)
	}
	s := Screen{Kind: KindQR, Amount: 1250, Currency: "CAD", Wallet: "wechat", CodeURL: "https://frontapi.ottpay.com/pay/qr?o=1"}
	for b.Loop() {
		if _, err := r.PNG(s); err != nil {
			b.Fatal(err)
		}
	}
}
