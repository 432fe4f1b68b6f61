package textview

import (
	"fmt"
	"io"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// WriteQR draws text as a QR code with Unicode half blocks, two
// modules per character row, with a quiet zone, so a phone can scan it off a
// terminal during a demo. Errors are ignored: the URL is printed as well.
func WriteQR(out io.Writer, text string) {
	hints := map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 2}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return
	}
	w, h := m.GetWidth(), m.GetHeight()
	for y := 0; y < h; y += 2 {
		line := make([]rune, 0, w+2)
		line = append(line, ' ', ' ')
		for x := 0; x < w; x++ {
			top := m.Get(x, y)
			bot := y+1 < h && m.Get(x, y+1)
			// Dark modules are drawn as background (space) on a light block,
			// so the code reads on dark and light terminal themes alike.
			switch {
			case top && bot:
				line = append(line, ' ')
			case top:
				line = append(line, '▄')
			case bot:
				line = append(line, '▀')
			default:
				line = append(line, '█')
			}
		}
		fmt.Fprintln(out, string(line))
	}
}
