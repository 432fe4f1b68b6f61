package printer

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/internal/fontstest"
)

var loadCJK = fontstest.Load

// bilingualReceipt is a paid WeChat Pay payment with a Chinese merchant
// name, a partial refund, a Chinese footer line and the receipt QR.
func bilingualReceipt() Receipt {
	r := sampleReceipt()
	r.Merchant = "枫茶屋 Maple Tea House"
	r.Footer = []string{"Thank you for your visit!", "谢谢惠顾，欢迎再来！"}
	r.QR = "ON00004652LANE1000123"
	return r
}

func TestLabel(t *testing.T) {
	for _, tt := range []struct {
		en   string
		l    Language
		want string
	}{
		{"TOTAL", English, "TOTAL"}, {"TOTAL", Chinese, "合计"}, {"TOTAL", Bilingual, "TOTAL 合计"},
		{"TOTAL", "", "TOTAL"}, {"no such label", Chinese, "no such label"},
		{"PAID", Bilingual, "PAID 支付成功"}, {"MERCHANT COPY", Chinese, "商户联"},
	} {
		if got := Label(tt.en, tt.l); got != tt.want {
			t.Errorf("Label(%q, %q) = %q, want %q", tt.en, tt.l, got, tt.want)
		}
	}
	for _, in := range []string{"en", "zh", "en+zh", "", "both"} {
		if _, err := ParseLanguage(in); err != nil {
			t.Errorf("ParseLanguage(%q): %v", in, err)
		}
	}
	if _, err := ParseLanguage("fr"); err == nil {
		t.Error("ParseLanguage(fr) accepted")
	}
	// Every state the receipt can print has a translation.
	for _, st := range []string{"succeeded", "failed", "reversed", "cancelled", "expired", "in_doubt", ""} {
		r := sampleReceipt()
		r.State, r.Refunds = st, nil
		if l := StateLabel(r); Label(l, Chinese) == l {
			t.Errorf("state label %q has no Chinese", l)
		}
	}
}

func TestEncodeLanguages(t *testing.T) {
	r := bilingualReceipt()
	gb := func(s string) []byte { return encodeText(s, true, 0) }
	tests := []struct {
		lang    Language
		want    []string
		notWant []string
	}{
		{English, []string{"TOTAL", "CUSTOMER COPY", "WeChat Pay 微信支付", "2026-11-25 18:30:05", "12.50 CAD"}, []string{"合计", "顾客联"}},
		{Chinese, []string{"合计", "顾客联", "微信支付", "日期", "2026-11-25 18:30:05", "12.50 CAD", "部分退款"}, []string{"TOTAL", "CUSTOMER COPY", "WeChat Pay"}},
		{Bilingual, []string{"TOTAL 合计", "CUSTOMER COPY 顾客联", "WeChat Pay 微信支付", "Date 日期", "PARTIALLY REFUNDED 部分退款", "2026-11-25 18:30:05", "12.50 CAD"}, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			got := Encode(r, Profile{GB18030: true, Language: tt.lang, Location: time.UTC})
			for _, w := range tt.want {
				if !bytes.Contains(got, gb(w)) {
					t.Errorf("missing %q", w)
				}
			}
			for _, w := range tt.notWant {
				if bytes.Contains(got, gb(w)) {
					t.Errorf("unexpected %q", w)
				}
			}
		})
	}
	// Without a Chinese font on the printer the labels stay English.
	en := Encode(r, Profile{Language: Bilingual, Location: time.UTC})
	if !bytes.Equal(en, Encode(r, Profile{Location: time.UTC})) {
		t.Error("a printer without GB18030 prints a bilingual receipt differently from an English one")
	}
}

// TestReceiptWidth: no line is wider than the paper (32 / 48 columns, a
// Chinese character counting two, double width counting twice), so the
// printer never wraps a line by itself, and every amount and date ends in
// the last column.
func TestReceiptWidth(t *testing.T) {
	receipts := map[string]Receipt{"sample": sampleReceipt(), "bilingual": bilingualReceipt()}
	long := bilingualReceipt()
	long.Merchant = "北京烤鸭与枫茶屋 Very Long Merchant Name Restaurant & Tea House 多伦多店"
	long.Address = []string{"多伦多市国王街西123号，安大略省 M5V 1J2 加拿大"}
	long.Footer = []string{strings.Repeat("谢谢惠顾", 20)}
	long.Reprint, long.Copy = true, "merchant"
	long.Amount, long.Refunds[0].Amount = 123456789012, 99999999
	receipts["long"] = long
	for name, r := range receipts {
		for _, paper := range []Paper{Paper58, Paper80} {
			for _, lang := range []Language{English, Chinese, Bilingual} {
				p := Profile{Paper: paper, GB18030: true, NativeQR: true, Language: lang, Location: time.UTC}.Normalize()
				t.Run(fmt.Sprintf("%s/%s/%s", name, paper, lang), func(t *testing.T) {
					pages := Render(Encode(r, p), p.Dots)
					if len(pages) != 1 {
						t.Fatalf("%d pages", len(pages))
					}
					pg := pages[0]
					if pg.Overflow != 0 {
						t.Errorf("%d line(s) wider than %d columns wrapped by the printer:\n%s", pg.Overflow, p.Columns, pg.Text())
					}
					for _, l := range pg.Lines {
						if w := textWidth(l, true); w > p.Columns {
							t.Errorf("line %q is %d columns, more than %d", l, w, p.Columns)
						}
						if strings.Contains(l, "2026-11-25") || strings.HasSuffix(l, " CAD") {
							if w := textWidth(l, true); w != p.Columns {
								t.Errorf("value line %q ends at column %d, not %d", l, w, p.Columns)
							}
						}
					}
				})
			}
		}
	}
}

// FuzzReceiptWidth: whatever a merchant types (Chinese, Latin, both), no
// line of a bilingual receipt is wider than the paper.
func FuzzReceiptWidth(f *testing.F) {
	f.Add("枫茶屋 Maple Tea", "谢谢惠顾", "ON00004652LANE1000123", false)
	f.Add(strings.Repeat("茶", 40), strings.Repeat("a", 100), "x", true)
	f.Fuzz(func(t *testing.T, merchant, footer, order string, small bool) {
		r := bilingualReceipt()
		r.Merchant, r.Footer, r.OrderID = merchant, []string{footer}, order
		p := Profile{Paper: Paper80, GB18030: true, NativeQR: true, Language: Bilingual, Location: time.UTC}
		if small {
			p.Paper = Paper58
		}
		p = p.Normalize()
		for _, pg := range Render(Encode(r, p), p.Dots) {
			if pg.Overflow != 0 {
				t.Fatalf("%d line(s) wrapped by the printer:\n%s", pg.Overflow, pg.Text())
			}
		}
	})
}

// TestRenderGolden pins the pictures of the bilingual receipts (80 mm
// raster QR, 58 mm native QR) drawn with Noto Sans CJK, decodes their QR,
// and checks every Chinese character on them was drawn from a real glyph.
func TestRenderGolden(t *testing.T) {
	cjk := loadCJK(t)
	r := bilingualReceipt()
	for _, tc := range []struct {
		name string
		p    Profile
	}{
		{"receipt-80mm-en+zh", Profile{Paper: Paper80, GB18030: true, Language: Bilingual, Location: time.UTC}},
		{"receipt-58mm-en+zh", Profile{Paper: Paper58, GB18030: true, NativeQR: true, Language: Bilingual, Location: time.UTC}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.CJK = cjk
			b, err := RenderPNG(r, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".png")
			if *update {
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./printer -run TestRenderGolden -update)", err)
			}
			wimg, err := png.Decode(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			if n := diffPixels(img, wimg); n != 0 {
				out := filepath.Join(t.TempDir(), tc.name+".png")
				os.WriteFile(out, b, 0o644)
				t.Errorf("%d pixels differ from %s (font %s, %s); this rendering is %s (rerun with -update if intended)", n, path, cjk.Name, cjk.Path, out)
			}
			if got := decodeQR(t, img); got != r.QR {
				t.Errorf("receipt QR decodes to %q, want %q", got, r.QR)
			}
			page := RenderWith(Encode(r, tc.p), InterpreterOptions{Width: tc.p.Normalize().Dots, CJK: cjk})[0]
			if page.Omitted != 0 {
				t.Errorf("%d Chinese characters omitted with a CJK font", page.Omitted)
			}
			checkGlyphs(t, cjk, page.Text())
		})
	}
}

// checkGlyphs renders each CJK character of text alone, as the virtual
// printer draws it, and fails when the font has no glyph for it (glyph
// index 0) or when its cell is blank or the same as the font's
// missing-glyph box (.notdef, drawn for a character no font has).
func checkGlyphs(t *testing.T, cjk *fonts.CJK, text string) {
	t.Helper()
	g := newGlyphCache(cjk)
	notdef := g.cell(0x10FFFD, true, false, false).img // a private-use character: .notdef
	if blank(notdef) {
		t.Fatal("the missing-glyph cell is blank: the comparison would prove nothing")
	}
	seen := 0
	for _, r := range text {
		if r < 0x80 {
			continue
		}
		seen++
		if !cjk.Has(r) {
			t.Errorf("%q: %s has no glyph (index 0)", r, cjk.Name)
			continue
		}
		for _, bold := range []bool{false, true} {
			c := g.cell(r, true, bold, false)
			switch {
			case c.omitted || blank(c.img):
				t.Errorf("%q (bold %v) is drawn blank", r, bold)
			case bytes.Equal(c.img.Pix, notdef.Pix):
				t.Errorf("%q (bold %v) is drawn as the missing-glyph box", r, bold)
			}
		}
	}
	if seen < 20 {
		t.Errorf("only %d Chinese characters on the receipt: the check proves little", seen)
	}
}

func blank(a *image.Alpha) bool {
	for _, v := range a.Pix {
		if v >= 0x80 {
			return false
		}
	}
	return true
}

func diffPixels(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx()*a.Bounds().Dy() + 1
	}
	n := 0
	bd := a.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r1, _, _, _ := a.At(x, y).RGBA()
			r2, _, _, _ := b.At(x, y).RGBA()
			if r1 != r2 {
				n++
			}
		}
	}
	return n
}

// TestRenderWithoutCJKFont: without a font, Chinese is left blank (never
// boxes), the picture says so at the top, and the text lines keep it.
func TestRenderWithoutCJKFont(t *testing.T) {
	r := bilingualReceipt()
	p := Profile{Paper: Paper80, GB18030: true, Language: Bilingual, Location: time.UTC}.Normalize()
	page := Render(Encode(r, p), p.Dots)[0]
	if page.Omitted == 0 {
		t.Fatal("no Chinese reported omitted")
	}
	if !strings.Contains(page.Text(), "合计") {
		t.Error("the text lines lost the Chinese")
	}
	g := newGlyphCache(nil)
	for _, ch := range "合计微信" {
		if c := g.cell(ch, true, false, false); !c.omitted || !blank(c.img) {
			t.Errorf("%q without a font: omitted %v, blank %v", ch, c.omitted, blank(c.img))
		}
	}
	img := page.Image()
	en := Render(Encode(r, Profile{Paper: Paper80, Location: time.UTC}), p.Dots)[0]
	if en.Omitted != 0 {
		t.Errorf("an English receipt omitted %d characters", en.Omitted)
	}
	// The note is one line (30 dots) at the top, with ink.
	ink := 0
	for y := 8; y < 8+defaultSpacing; y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			if img.GrayAt(x, y).Y < 0x80 {
				ink++
			}
		}
	}
	if ink < 100 {
		t.Errorf("no %q at the top of the picture (%d dark pixels)", OmittedNote, ink)
	}
}
