package textview

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/posagent/posagent/scanner"
)

// TestWriteQR draws a code_url, turns the half blocks back into pixels
// (light: the block's light half) and decodes them: the URL comes back.
func TestWriteQR(t *testing.T) {
	const url = "http://127.0.0.1:7421/_sim/pay/P20261125183000A1B2"
	var b strings.Builder
	WriteQR(&b, url)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) < 10 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	const scale = 4
	width := len([]rune(lines[0]))
	img := image.NewGray(image.Rect(0, 0, width*scale, 2*len(lines)*scale))
	for y, line := range lines {
		for x, r := range []rune(line) {
			var topDark, botDark bool // dark modules are drawn as the background
			switch r {
			case ' ':
				topDark, botDark = true, true
			case '▄':
				topDark = true
			case '▀':
				botDark = true
			case '█':
			default:
				t.Fatalf("line %d: %q is not a half block", y, r)
			}
			for dy := 0; dy < 2*scale; dy++ {
				dark := topDark
				if dy >= scale {
					dark = botDark
				}
				c := color.Gray{Y: 255}
				if dark {
					c.Y = 0
				}
				for dx := 0; dx < scale; dx++ {
					img.SetGray(x*scale+dx, 2*y*scale+dy, c)
				}
			}
		}
	}
	scans, err := scanner.DecodeImage(img)
	if err != nil || len(scans) != 1 || scans[0].Code != url {
		t.Fatalf("decoded %+v, %v; want %q", scans, err, url)
	}
}
