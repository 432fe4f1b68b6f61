package scanner

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/posagent/posagent/paycode"
)

// render draws a gozxing matrix as a grey image, scale pixels per module,
// with a white quiet zone.
func render(t testing.TB, m *gozxing.BitMatrix, scale, quiet int) *image.Gray {
	t.Helper()
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewGray(image.Rect(0, 0, w*scale+2*quiet, h*scale+2*quiet))
	draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if m.Get(x, y) {
				draw.Draw(img, image.Rect(quiet+x*scale, quiet+y*scale, quiet+(x+1)*scale, quiet+(y+1)*scale), image.Black, image.Point{}, draw.Src)
			}
		}
	}
	return img
}

// testImages builds the test pictures with gozxing's writers.
func testImages(t testing.TB) map[string]*image.Gray {
	t.Helper()
	qr, err := qrcode.NewQRCodeWriter().Encode("134567890123456789", gozxing.BarcodeFormat_QR_CODE, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ean, err := oned.NewEAN13Writer().Encode("6901234567892", gozxing.BarcodeFormat_EAN_13, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*image.Gray{
		"wechat-qr.png": render(t, qr, 8, 32),
		"ean13.png":     stretch(render(t, ean, 3, 30), 120),
	}
}

// stretch repeats a 1-row barcode image to height rows.
func stretch(row *image.Gray, height int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, row.Rect.Dx(), height))
	for y := 0; y < height; y++ {
		copy(img.Pix[y*img.Stride:], row.Pix[(row.Rect.Dy()/2)*row.Stride:][:row.Rect.Dx()])
	}
	return img
}

func loadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scanner -update to create it)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestImageGolden: the committed PNGs are what gozxing's writers draw
// (rewritten with -update).
func TestImageGolden(t *testing.T) {
	for name, img := range testImages(t) {
		path := filepath.Join("testdata", "image", name)
		if *update {
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got := grey(loadPNG(t, path))
		if got.Rect != img.Rect || !bytes.Equal(got.Pix, img.Pix) {
			t.Errorf("%s differs from what the writer draws now (run with -update if intended)", name)
		}
	}
}

func TestDecodeImage(t *testing.T) {
	tests := []struct {
		file, code, sym, wallet string
	}{
		{"wechat-qr.png", "134567890123456789", "]Q1", paycode.WeChat},
		{"ean13.png", "6901234567892", "]E0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			scans, err := DecodeImage(loadPNG(t, filepath.Join("testdata", "image", tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(scans) != 1 || scans[0].Code != tt.code || scans[0].Symbology != tt.sym || scans[0].Device != "image" {
				t.Fatalf("scans %+v, want %s %s", scans, tt.code, tt.sym)
			}
			wallet, ok := paycode.Classify(scans[0].Code)
			if wallet != tt.wallet || ok != (tt.wallet != "") {
				t.Errorf("paycode.Classify(%s) = %q, %v; want %q", tt.code, wallet, ok, tt.wallet)
			}
		})
	}
}

// TestDecodeImagePhotoLike: both codes on one colour picture, offset on a
// grey background (the generic image.Image path, not *image.Gray).
func TestDecodeImagePhotoLike(t *testing.T) {
	imgs := testImages(t)
	canvas := image.NewRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(canvas, canvas.Rect, image.NewUniform(color.RGBA{200, 205, 210, 255}), image.Point{}, draw.Src)
	q := imgs["wechat-qr.png"]
	draw.Draw(canvas, q.Rect.Add(image.Pt(20, 20)), q, image.Point{}, draw.Src)
	e := imgs["ean13.png"]
	draw.Draw(canvas, e.Rect.Add(image.Pt(250, 300)), e, image.Point{}, draw.Src)
	scans, err := DecodeImage(canvas.SubImage(image.Rect(10, 10, 640, 480)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range scans {
		got[s.Code] = s.Symbology
	}
	if len(got) != 2 || got["134567890123456789"] != "]Q1" || got["6901234567892"] != "]E0" {
		t.Fatalf("scans %+v", scans)
	}
}

func TestDecodeImageNothing(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 200, 100))
	draw.Draw(blank, blank.Rect, image.White, image.Point{}, draw.Src)
	if _, err := DecodeImage(blank); !errors.Is(err, ErrNoCode) {
		t.Errorf("blank picture: %v, want ErrNoCode", err)
	}
	if _, err := DecodeImage(image.NewGray(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("empty image decoded")
	}
}

func BenchmarkDecodeImageQR640(b *testing.B) {
	q := testImages(b)["wechat-qr.png"]
	canvas := image.NewGray(image.Rect(0, 0, 640, 480))
	draw.Draw(canvas, canvas.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(canvas, q.Rect.Add(image.Pt(100, 50)), q, image.Point{}, draw.Src)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeImage(canvas); err != nil {
			b.Fatal(err)
		}
	}
}
