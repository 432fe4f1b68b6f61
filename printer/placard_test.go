package printer

import (
	"bytes"
	"image"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	mqr "github.com/makiuchi-d/gozxing/multi/qrcode"
)

// decodeAllQR decodes every QR code in img with gozxing's multi reader.
func decodeAllQR(t testing.TB, img image.Image) []string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("bitmap: %v", err)
	}
	res, err := mqr.NewQRCodeMultiReader().DecodeMultiple(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("decode QRs: %v", err)
	}
	var out []string
	for _, r := range res {
		out = append(out, r.GetText())
	}
	slices.Sort(out)
	return out
}

// TestPlacardQRDecodes: the placard's bytes, rendered by the virtual
// printer, carry the shop's name, "SCAN TO PAY US" and the static QR, then
// each payment link under its name with its own QR, every one decoding to
// its URL; on raster and native-QR printers, 58 and 80 mm.
func TestPlacardQRDecodes(t *testing.T) {
	static := "https://pay.ottpay.com/static/ON00004652?store=maple"
	pl := Placard{Merchant: "Maple Tea House", StaticQR: static, Links: []PlacardLink{
		{Name: "Gift card $50", URL: "https://pay.ottpay.com/l/ON00004652-gift50"},
		{Name: "Tea box", URL: "https://pay.ottpay.com/l/ON00004652-teabox"},
	}}
	native80 := Profile80()
	native80.NativeQR = true
	for _, tc := range []struct {
		name string
		prof Profile
	}{{"raster 80mm", Profile80()}, {"raster 58mm", Profile58()}, {"native 80mm", native80}} {
		t.Run(tc.name, func(t *testing.T) {
			pages := RenderWith(EncodePlacard(pl, tc.prof), InterpreterOptions{Width: tc.prof.Dots})
			if len(pages) != 1 || !pages[0].Cut {
				t.Fatalf("%d pages, want one cut page", len(pages))
			}
			pg := pages[0]
			if pg.Overflow != 0 {
				t.Errorf("%d lines wider than the paper", pg.Overflow)
			}
			text := pg.Text()
			for _, want := range []string{"Maple Tea House", "SCAN TO PAY US", "PAYMENT LINKS", "Gift card $50", "Tea box", "Show the cashier your payment"} {
				if !strings.Contains(text, want) {
					t.Errorf("placard text lacks %q:\n%s", want, text)
				}
			}
			// The static QR first: decoded alone from the top of the page,
			// above the links.
			img := pg.Image()
			top := img.SubImage(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()/2))
			if got := decodeQR(t, top); got != static {
				t.Errorf("top of the placard decodes to %q, want the static QR %q", got, static)
			}
			want := []string{static, pl.Links[0].URL, pl.Links[1].URL}
			slices.Sort(want)
			if got := decodeAllQR(t, img); !slices.Equal(got, want) {
				t.Errorf("placard QRs %q, want %q", got, want)
			}
		})
	}
}

// TestPlacardStaticOnly: without links the placard is the static QR alone,
// and RenderPlacardPNG gives the same picture as the virtual printer.
func TestPlacardStaticOnly(t *testing.T) {
	pl := Placard{Merchant: "Maple Tea House", StaticQR: "https://pay.ottpay.com/static/ON00004652"}
	b, err := RenderPlacardPNG(pl, Profile58())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQR(t, img); got != pl.StaticQR {
		t.Errorf("placard PNG decodes to %q", got)
	}
	if text := RenderWith(EncodePlacard(pl, Profile58()), InterpreterOptions{Width: 384})[0].Text(); strings.Contains(text, "PAYMENT LINKS") {
		t.Errorf("links title without links:\n%s", text)
	}
	if (Placard{Merchant: "x"}).Empty() != true || pl.Empty() {
		t.Error("Empty")
	}
}
