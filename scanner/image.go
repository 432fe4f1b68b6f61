package scanner

import (
	"errors"
	"fmt"
	"image"
	"image/draw"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// ErrNoCode is returned by DecodeImage when the picture holds no readable code.
var ErrNoCode = errors.New("no QR code or barcode found")

// imageReaders are tried in order on every picture. gozxing has no
// multi-format 1D reader, so each symbology has its own.
var imageReaders = []struct {
	sym string // AIM identifier reported in Scan.Symbology
	new func() gozxing.Reader
}{
	{"]Q1", func() gozxing.Reader { return qrcode.NewQRCodeReader() }},
	{"]E0", func() gozxing.Reader { return oned.NewMultiFormatUPCEANReader(nil) }},
	{"]C0", oned.NewCode128Reader},
	{"]A0", oned.NewCode39Reader},
	{"]I0", oned.NewITFReader},
	{"]G0", oned.NewCode93Reader},
	{"]F0", oned.NewCodaBarReader},
}

// aimFor refines the symbology from the format gozxing reports.
func aimFor(f gozxing.BarcodeFormat, fallback string) string {
	switch f {
	case gozxing.BarcodeFormat_EAN_8:
		return "]E4"
	case gozxing.BarcodeFormat_QR_CODE:
		return "]Q1"
	}
	return fallback
}

// grey converts img to 8-bit luminance once; gozxing's generic image.Image
// path converts pixel by pixel on every access and is about 2.5 times
// slower (docs/hardware.md section 7).
func grey(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) && g.Stride == g.Rect.Dx() {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Rect, img, b.Min, draw.Src)
	return g
}

// DecodeImage finds the codes in a picture (a photo of a customer's phone,
// a screenshot): QR codes and 1D barcodes (EAN-13/8, UPC-A/E, Code 128,
// Code 39, ITF, Code 93, Codabar). It returns one Scan per distinct code,
// Device "image", At zero (the caller knows when), and the AIM identifier of
// the symbology; ErrNoCode when nothing is readable. It is pure: no I/O.
// gozxing misses some QR codes rotated about 45 degrees.
func DecodeImage(img image.Image) ([]Scan, error) {
	g := grey(img)
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("scanner: decode image: empty image (%dx%d)", w, h)
	}
	src, err := gozxing.NewPlanarYUVLuminanceSource(g.Pix, w, h, 0, 0, w, h, false)
	if err != nil {
		return nil, fmt.Errorf("scanner: decode image: %w", err)
	}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return nil, fmt.Errorf("scanner: decode image: %w", err)
	}
	// TRY_HARDER helps QR codes on busy photos; 1D readers with it scan
	// every row and cost tens of milliseconds per symbology, so they run
	// with it only when nothing else was found.
	hard := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	var out []Scan
	seen := map[string]bool{}
	try := func(i int, hints map[gozxing.DecodeHintType]interface{}) {
		r := imageReaders[i]
		res, err := r.new().Decode(bmp, hints)
		if err != nil || res == nil || res.GetText() == "" || seen[res.GetText()] {
			return
		}
		seen[res.GetText()] = true
		out = append(out, Scan{Code: res.GetText(), Symbology: aimFor(res.GetBarcodeFormat(), r.sym), Device: "image"})
	}
	for i := range imageReaders {
		if i == 0 {
			try(i, hard)
		} else {
			try(i, nil)
		}
	}
	if len(out) == 0 {
		for i := 1; i < len(imageReaders); i++ {
			try(i, hard)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("scanner: decode image %dx%d: %w", w, h, ErrNoCode)
	}
	return out, nil
}
