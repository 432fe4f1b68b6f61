package printer

import (
	"fmt"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// qrMatrix encodes data as a QR symbol (model 2) at an ESC/POS error level
// (0x30 L .. 0x33 H) and returns its modules, true = dark, without quiet zone.
func qrMatrix(data string, level byte) ([][]bool, error) {
	if data == "" {
		return nil, fmt.Errorf("printer: qr: empty data")
	}
	ec := decoder.ErrorCorrectionLevel_M
	switch level {
	case QRLevelL, 0:
		ec = decoder.ErrorCorrectionLevel_L
	case QRLevelQ, 2:
		ec = decoder.ErrorCorrectionLevel_Q
	case QRLevelH, 3:
		ec = decoder.ErrorCorrectionLevel_H
	}
	hints := map[gozxing.EncodeHintType]interface{}{}
	for i := 0; i < len(data); i++ {
		if data[i] >= 0x80 {
			hints[gozxing.EncodeHintType_CHARACTER_SET] = "UTF-8"
			break
		}
	}
	code, err := encoder.Encoder_encode(data, ec, hints)
	if err != nil {
		return nil, fmt.Errorf("printer: qr: encode %d bytes: %w", len(data), err)
	}
	bm := code.GetMatrix()
	w, h := bm.GetWidth(), bm.GetHeight()
	m := make([][]bool, h)
	for y := range m {
		m[y] = make([]bool, w)
		for x := range m[y] {
			m[y][x] = bm.Get(x, y) == 1
		}
	}
	return m, nil
}
