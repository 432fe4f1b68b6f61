package printer

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func BenchmarkEncode(b *testing.B) {
	for _, native := range []bool{true, false} {
		b.Run(fmt.Sprintf("nativeQR=%v", native), func(b *testing.B) {
			r, p := sampleReceipt(), Profile{NativeQR: native, Location: time.UTC}
			b.ReportAllocs()
			for b.Loop() {
				Encode(r, p)
			}
		})
	}
}

func BenchmarkRenderPNG(b *testing.B) {
	for _, paper := range []Paper{Paper58, Paper80} {
		b.Run(string(paper), func(b *testing.B) {
			r, p := sampleReceipt(), Profile{Paper: paper, NativeQR: true, Location: time.UTC}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RenderPNG(r, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderPNGChinese renders the bilingual receipt with Noto Sans
// CJK: what a Clover receipt or a receipt preview costs.
func BenchmarkRenderPNGChinese(b *testing.B) {
	cjk := loadCJK(b)
	for _, paper := range []Paper{Paper58, Paper80} {
		b.Run(string(paper), func(b *testing.B) {
			r := bilingualReceipt()
			p := Profile{Paper: paper, GB18030: true, Language: Bilingual, CJK: cjk, Location: time.UTC}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RenderPNG(r, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleEncode() {
	r := Receipt{
		Merchant: "Maple Tea House", Copy: "customer", Wallet: "alipay",
		Amount: 1250, Currency: "CAD", State: "succeeded",
		Time: time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC),
	}
	prof := Profile{Paper: Paper58, GB18030: true, Location: time.UTC}
	data := Encode(r, prof)
	page := Render(data, prof.Normalize().Dots)[0]
	for _, l := range page.Lines {
		if strings.TrimSpace(l) != "" {
			fmt.Println(l)
		}
	}
	// Output:
	// Maple Tea House
	// CUSTOMER COPY
	// --------------------------------
	// Date         2026-11-25 18:30:00
	// Wallet             Alipay 支付宝
	// --------------------------------
	// TOTAL                  12.50 CAD
	// PAID
}

// BenchmarkEncodeChineseRaster encodes the Chinese shop's bilingual
// receipt for a printer without a Chinese font (raster lines drawn with
// the CJK font) and, for comparison, for one with GB18030; the bytes per
// receipt are reported.
func BenchmarkEncodeChineseRaster(b *testing.B) {
	cjk := loadCJK(b)
	for _, gb := range []bool{false, true} {
		b.Run(fmt.Sprintf("gb18030=%v", gb), func(b *testing.B) {
			r := chineseShop()
			p := Profile{Paper: Paper80, GB18030: gb, Language: Bilingual, CJK: cjk, Location: time.UTC}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(Encode(r, p))
			}
			b.ReportMetric(float64(n), "bytes/receipt")
		})
	}
}
