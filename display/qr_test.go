package display

import (
	"bytes"
	"errors"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update)", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (%d bytes, want %d); rerun with -update if intended", name, len(got), len(want))
	}
}

var qrContents = []string{
	"https://frontapi.ottpay.com/pay/qr?o=ON00004652-LANE1-20261125-0001",
	"weixin://wxpay/bizpayurl?pr=abc123XYZ",
	"http://127.0.0.1:7421/_sim/pay/ORD-1",
	"x",
	strings.Repeat("https://example.com/", 20),
}

func TestQRPNGRoundTrip(t *testing.T) {
	for _, content := range qrContents {
		for _, module := range []int{1, 2, 5} {
			b, err := QRPNG(content, module)
			if err != nil {
				t.Fatalf("QRPNG(%q, %d): %v", content, module, err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			m, _ := QRMatrix(content)
			if w := img.Bounds().Dx(); w != len(m)*module {
				t.Errorf("width %d, want %d modules x %d", w, len(m), module)
			}
			got, err := DecodeQR(img)
			if err != nil {
				t.Fatalf("decode QRPNG(%q, %d): %v", content, module, err)
			}
			if got != content {
				t.Errorf("decoded %q, want %q", got, content)
			}
		}
	}
}

func TestQRMatrixQuietZone(t *testing.T) {
	m, err := QRMatrix(qrContents[0])
	if err != nil {
		t.Fatal(err)
	}
	n := len(m)
	if (n-2*QRQuietZone-17)%4 != 0 {
		t.Fatalf("side %d is not a QR version plus the quiet zone", n)
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			inZone := x < QRQuietZone || y < QRQuietZone || x >= n-QRQuietZone || y >= n-QRQuietZone
			if inZone && m[y][x] {
				t.Fatalf("dark module in the quiet zone at %d,%d", x, y)
			}
		}
	}
	// The finder pattern's corner is the first dark module.
	if !m[QRQuietZone][QRQuietZone] {
		t.Error("no finder pattern at the quiet zone's corner")
	}
}

var svgRun = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// TestQRSVG rebuilds the module matrix from the SVG path and compares it
// with QRMatrix, then checks the golden file.
func TestQRSVG(t *testing.T) {
	for i, content := range qrContents {
		svg, err := QRSVG(content)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := QRMatrix(content)
		n := len(m)
		if !bytes.Contains(svg, []byte(`viewBox="0 0 `+strconv.Itoa(n)+` `+strconv.Itoa(n)+`"`)) {
			t.Errorf("viewBox not %d modules: %.120s", n, svg)
		}
		got := make([][]bool, n)
		for y := range got {
			got[y] = make([]bool, n)
		}
		for _, r := range svgRun.FindAllSubmatch(svg, -1) {
			x, _ := strconv.Atoi(string(r[1]))
			y, _ := strconv.Atoi(string(r[2]))
			w, _ := strconv.Atoi(string(r[3]))
			for dx := 0; dx < w; dx++ {
				got[y][x+dx] = true
			}
		}
		for y := range m {
			for x := range m[y] {
				if got[y][x] != m[y][x] {
					t.Fatalf("content %d: module %d,%d is %v in the SVG, %v in the matrix", i, x, y, got[y][x], m[y][x])
				}
			}
		}
	}
	svg, _ := QRSVG(qrContents[0])
	golden(t, "qr.svg", svg)
}

func TestQRErrors(t *testing.T) {
	if _, err := QRSVG(""); !errors.Is(err, ErrQREmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := QRPNG(strings.Repeat("a", MaxQRContent+1), 2); !errors.Is(err, ErrQRTooLong) {
		t.Errorf("too long: %v", err)
	}
	for _, m := range []int{0, -1, 65} {
		if _, err := QRPNG("x", m); !errors.Is(err, ErrModuleSize) {
			t.Errorf("module %d: %v", m, err)
		}
	}
}

func FuzzQRSVG(f *testing.F) {
	for _, c := range qrContents {
		f.Add(c)
	}
	f.Add("")
	f.Add("\x00\xff漢字")
	f.Fuzz(func(t *testing.T, content string) {
		svg, err := QRSVG(content)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.HasSuffix(svg, []byte("</svg>")) {
			t.Fatalf("not an svg: %.80s", svg)
		}
	})
}

func BenchmarkQRSVG(b *testing.B) {
	for b.Loop() {
		if _, err := QRSVG(qrContents[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQRPNG(b *testing.B) {
	for b.Loop() {
		if _, err := QRPNG(qrContents[0], 8); err != nil {
			b.Fatal(err)
		}
	}
}
