package display

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func renderer(t testing.TB, w, h int) *Renderer {
	t.Helper()
	r, err := NewRenderer(FrameOptions{Width: w, Height: h, MerchantName: "Maple Tea House"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// darkPixels counts the black-ish pixels in a rectangle.
func darkPixels(img *image.Gray, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for _, v := range row {
			if v < 0x80 {
				n++
			}
		}
	}
	return n
}

func TestFrameQRDecodes(t *testing.T) {
	tests := []struct {
		name    string
		w, h    int
		content string
		scans   bool
	}{
		{"second screen long url", 800, 480, "https://frontapi.ottpay.com/pay/qr?o=ON00004652-LANE1-20261125-0001", true},
		{"second screen short url", 800, 480, "weixin://wxpay/bizpayurl?pr=abc123XYZ", true},
		{"sunmi mini short url", SunmiMiniWidth, SunmiMiniHeight, "weixin://wxpay/bizpayurl?pr=abc123", true},
		// Version 4 plus the quiet zone is 41 modules: it does not fit 40 pixels, so no QR is drawn.
		{"sunmi mini long url", SunmiMiniWidth, SunmiMiniHeight, "https://frontapi.ottpay.com/pay/qr?o=ON00004652-LANE1-20261125-0001", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := renderer(t, tt.w, tt.h)
			s := Screen{Kind: KindQR, Amount: 1250, Currency: "CAD", Wallet: "wechat", CodeURL: tt.content, PaymentID: "p"}
			b, err := r.PNG(s)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Dx() != tt.w || img.Bounds().Dy() != tt.h {
				t.Fatalf("size %v, want %dx%d", img.Bounds(), tt.w, tt.h)
			}
			got, err := DecodeQR(img)
			if tt.scans {
				if err != nil || got != tt.content {
					t.Fatalf("decoded %q, %v; want %q", got, err, tt.content)
				}
				return
			}
			if err == nil {
				t.Fatalf("decoded %q from a frame too small for the QR", got)
			}
			// The amount is still shown as text.
			if darkPixels(img.(*image.Gray), img.Bounds()) == 0 {
				t.Error("blank frame")
			}
		})
	}
}

func TestFrameEveryScreenDrawsText(t *testing.T) {
	screens := []Screen{
		{Kind: KindIdle},
		{Kind: KindAmountDue, Amount: 1250, Currency: "CAD"},
		{Kind: KindAmountDue, Amount: 1250, Currency: "CAD", Message: MsgCheckingPay},
		{Kind: KindAmountDue, Amount: 1250, Currency: "CAD", Wallet: "wechat", Message: MsgConfirmOnPhone},
		{Kind: KindScanPrompt, Amount: 1250, Currency: "CAD"},
		{Kind: KindPaid, Amount: 1250, Currency: "CAD"},
		{Kind: KindFailed, Message: "a very long reason that would never fit on the small screen at all"},
		{Kind: KindCancelled, Amount: 1250, Currency: "CAD"},
	}
	for _, size := range [][2]int{{800, 480}, {SunmiMiniWidth, SunmiMiniHeight}} {
		r := renderer(t, size[0], size[1])
		seen := map[string]string{}
		for _, s := range screens {
			img := r.Render(s)
			if n := darkPixels(img, img.Bounds()); n == 0 {
				t.Errorf("%dx%d %s: blank", size[0], size[1], s.Kind)
			}
			key := string(img.Pix)
			if prev, dup := seen[key]; dup {
				t.Errorf("%dx%d: %s and %s render the same", size[0], size[1], prev, s.Kind+s.Message)
			}
			seen[key] = s.Kind + s.Message
		}
	}
}

func TestFrameSmallGolden(t *testing.T) {
	r := renderer(t, SunmiMiniWidth, SunmiMiniHeight)
	b, err := r.PNG(Screen{Kind: KindScanPrompt, Amount: 1250, Currency: "CAD"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "frame_scan_128x40.png", b)
}

func TestNewRendererBadSize(t *testing.T) {
	for _, sz := range [][2]int{{10, 10}, {-1, 480}, {800, 0}, {9000, 480}} {
		if _, err := NewRenderer(FrameOptions{Width: sz[0], Height: sz[1]}); err == nil {
			t.Errorf("size %v accepted", sz)
		}
	}
	r, err := NewRenderer(FrameOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w, h := r.Size(); w != 800 || h != 480 {
		t.Errorf("default size %dx%d", w, h)
	}
}

func TestPNGSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frame.png")
	sink := &PNGSink{Path: path, Renderer: renderer(t, 800, 480)}
	url := "https://frontapi.ottpay.com/pay/qr?o=1"
	if err := sink.Show(Screen{Kind: KindQR, Amount: 1, Currency: "CAD", CodeURL: url}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeQR(img); err != nil || got != url {
		t.Errorf("file decodes to %q, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	bad := &PNGSink{Path: filepath.Join(t.TempDir(), "missing", "frame.png"), Renderer: sink.Renderer}
	if err := bad.Show(Screen{Kind: KindIdle}); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func BenchmarkRenderQR800x480(b *testing.B) {
	r := renderer(b, 800, 480)
	s := Screen{Kind: KindQR, Amount: 1250, Currency: "CAD", Wallet: "wechat", CodeURL: "https://frontapi.ottpay.com/pay/qr?o=1"}
	for b.Loop() {
		if _, err := r.PNG(s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFrameIdleStaticQR: with FrameOptions.IdleQR the idle frame carries
// the merchant's static QR, decoded to the configured URL, beside the shop's
// name; without it the idle frame has no QR.
func TestFrameIdleStaticQR(t *testing.T) {
	static := "https://pay.ottpay.com/static/ON00004652"
	for _, sz := range [][2]int{{SecondWidth, SecondHeight}, {320, 240}} {
		r, err := NewRenderer(FrameOptions{Width: sz[0], Height: sz[1], MerchantName: "Maple Tea House", IdleQR: static})
		if err != nil {
			t.Fatal(err)
		}
		img := r.Render(Screen{Kind: KindIdle})
		got, err := DecodeQR(img)
		if err != nil || got != static {
			t.Errorf("%dx%d idle frame QR %q, %v; want %q", sz[0], sz[1], got, err, static)
		}
		// Text right of the QR: the name and "Scan to pay us".
		if right := image.Rect(sz[1], 0, sz[0], sz[1]); darkPixels(img, right) == 0 {
			t.Errorf("%dx%d idle frame: nothing written beside the QR", sz[0], sz[1])
		}
		lines := r.lines(Screen{Kind: KindIdle})
		if len(lines) < 2 || lines[0].text != "Maple Tea House" || lines[1].text != MsgScanToPayUs {
			t.Errorf("idle lines %+v", lines)
		}
	}
	if _, err := DecodeQR(renderer(t, SecondWidth, SecondHeight).Render(Screen{Kind: KindIdle})); err == nil {
		t.Error("an idle frame without IdleQR has a QR")
	}
}
