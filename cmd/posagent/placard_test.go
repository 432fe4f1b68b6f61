package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	mqr "github.com/makiuchi-d/gozxing/multi/qrcode"
)

// decodeAllQR decodes every QR code in img (gozxing's multi reader), sorted.
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

// TestPlacardPrintAndPNG: posagent placard --print sends the placard to the
// receipt printer (the virtual printer over TCP): the PNG it renders from
// the printed bytes carries the shop's name and the static QR, decoded to
// merchant.static_qr; --png writes the same placard to a file. Nothing is
// journaled: the payments list stays empty.
func TestPlacardPrintAndPNG(t *testing.T) {
	static := "https://pay.ottpay.com/static/ON00004652?store=maple"
	vp := startVirtualPrinter(t, "127.0.0.1:0", t.TempDir())
	addr := startDaemon(t, fmt.Sprintf("merchant:\n  name: Maple Tea House\n  static_qr: %q\n"+
		"  payment_links:\n    - { name: Gift card $50, url: \"https://pay.ottpay.com/l/gift50\" }\n"+
		"printer:\n  kind: network\n  address: %s\n  paper: 80mm\n"+
		// The agent's time is not compressed here: no payment flow runs, and a
		// print attempt compressed 50 times (0.6 s) is less than rendering
		// the placard under -race takes on a loaded machine.
		"agent:\n  time_scale: 1\n", static, vp.addr))

	out, err := cli(t, addr, "placard", "--print")
	if err != nil || !strings.Contains(out, "placard printed") {
		t.Fatalf("placard --print: %v\n%s", err, out)
	}
	waitFor(t, "the placard to print", func() bool { return len(vp.vp.Receipts()) == 1 })
	rc := vp.vp.Receipts()[0]
	text := strings.Join(rc.Page.Lines, "\n")
	for _, want := range []string{"Maple Tea House", "SCAN TO PAY US", "Gift card $50"} {
		if !strings.Contains(text, want) {
			t.Errorf("placard text lacks %q:\n%s", want, text)
		}
	}
	img, err := png.Decode(bytes.NewReader(rc.PNG))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://pay.ottpay.com/l/gift50", static}
	if got := decodeAllQR(t, img); !slices.Equal(got, want) {
		t.Fatalf("printed placard QRs %q; want %q", got, want)
	}

	file := filepath.Join(t.TempDir(), "placard.png")
	if out, err := cli(t, addr, "placard", "--png", file, "--paper", "58mm"); err != nil {
		t.Fatalf("placard --png: %v\n%s", err, out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pimg, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if pimg.Bounds().Dx() != 384 {
		t.Errorf("58mm placard %d dots wide", pimg.Bounds().Dx())
	}
	if got := decodeAllQR(t, pimg); !slices.Equal(got, want) {
		t.Errorf("placard PNG QRs %q; want %q", got, want)
	}

	// Payments made with the static QR never reach the agent; printing
	// the placard journals none either.
	if out, err := cli(t, addr, "payments"); err != nil || strings.Contains(out, "pay_") {
		t.Errorf("payments after the placard: %v\n%s", err, out)
	}
}

// TestPlacardNotConfigured: without a static QR or links the placard is
// refused with a clear message.
func TestPlacardNotConfigured(t *testing.T) {
	addr := startDaemon(t, "")
	_, err := cli(t, addr, "placard", "--png", filepath.Join(t.TempDir(), "x.png"))
	if err == nil || !strings.Contains(err.Error(), "merchant.static_qr") {
		t.Fatalf("placard without a static QR: %v", err)
	}
	if _, err := cli(t, addr, "placard"); err == nil || !strings.Contains(err.Error(), "--print") {
		t.Errorf("placard with nothing to do: %v", err)
	}
}
