package display

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeFramebuffer(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 2, 1))
	img.Pix[0], img.Pix[1] = 0x00, 0xff
	tests := []struct {
		format string
		stride int
		want   []byte
	}{
		{FBGray8, 0, []byte{0x00, 0xff}},
		{FBGray8, 4, []byte{0x00, 0xff, 0, 0}},
		{FBRGB565, 0, []byte{0x00, 0x00, 0xff, 0xff}},
		{FBXRGB8888, 0, []byte{0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		got, err := EncodeFramebuffer(img, tt.format, tt.stride)
		if err != nil || string(got) != string(tt.want) {
			t.Errorf("%s stride %d = % x, %v; want % x", tt.format, tt.stride, got, err, tt.want)
		}
	}
	if _, err := EncodeFramebuffer(img, "yuv", 0); err == nil || !strings.Contains(err.Error(), `framebuffer format "yuv"`) {
		t.Errorf("bad format: %v", err)
	}
	if _, err := EncodeFramebuffer(img, FBRGB565, 3); err == nil || !strings.Contains(err.Error(), "stride 3") {
		t.Errorf("short stride: %v", err)
	}
}

// TestFramebufferSinkQR writes a qr frame into a file laid out like a
// 16-bit framebuffer with padded lines, reads the pixels back and decodes
// the QR.
func TestFramebufferSinkQR(t *testing.T) {
	const w, h, stride = 320, 240, 320*2 + 64
	path := filepath.Join(t.TempDir(), "fb0")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := renderer(t, w, h)
	sink := &FramebufferSink{W: f, Renderer: r, Format: FBRGB565, Stride: stride}
	url := "https://frontapi.ottpay.com/qr/fb"
	if err := sink.Show(Screen{Kind: KindQR, Amount: 1250, Currency: "CAD", CodeURL: url}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != stride*h {
		t.Fatalf("frame is %d bytes, want %d", len(raw), stride*h)
	}
	back := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := uint16(raw[y*stride+2*x]) | uint16(raw[y*stride+2*x+1])<<8
			back.Pix[y*w+x] = uint8(p>>11) << 3 // the red channel
		}
	}
	if got, err := DecodeQR(back); err != nil || got != url {
		t.Errorf("framebuffer decodes to %q, %v", got, err)
	}
}
