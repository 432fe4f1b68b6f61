package display

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strconv"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// QRQuietZone is the white border around every QR, in modules (the QR
// specification's minimum).
const QRQuietZone = 4

// MaxQRContent bounds what is put in a QR: a code_url is far shorter, and a
// denser code would not scan from a customer display anyway.
const MaxQRContent = 1024

// Errors of the QR functions.
var (
	ErrQREmpty    = errors.New("display: qr: empty content")
	ErrQRTooLong  = fmt.Errorf("display: qr: content longer than %d bytes", MaxQRContent)
	ErrModuleSize = errors.New("display: qr: module size must be 1..64 pixels")
)

// QRMatrix encodes content with gozxing's QR writer, error correction M, and
// returns the modules including a quiet zone of QRQuietZone modules on each
// side: true is dark.
func QRMatrix(content string) ([][]bool, error) {
	if content == "" {
		return nil, ErrQREmpty
	}
	if len(content) > MaxQRContent {
		return nil, ErrQRTooLong
	}
	hints := map[gozxing.EncodeHintType]interface{}{
		gozxing.EncodeHintType_ERROR_CORRECTION: decoder.ErrorCorrectionLevel_M,
		gozxing.EncodeHintType_MARGIN:           QRQuietZone,
		gozxing.EncodeHintType_CHARACTER_SET:    "UTF-8",
	}
	// Width and height 0: one pixel per module, quiet zone included.
	bm, err := qrcode.NewQRCodeWriter().Encode(content, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("display: qr: encode: %w", err)
	}
	n := bm.GetWidth()
	m := make([][]bool, n)
	for y := range m {
		m[y] = make([]bool, n)
		for x := range m[y] {
			m[y][x] = bm.Get(x, y)
		}
	}
	return m, nil
}

// QRSVG renders content as a scalable SVG: one path of dark runs on a white
// square, viewBox in modules, crispEdges so browsers do not blur the edges.
func QRSVG(content string) ([]byte, error) {
	m, err := QRMatrix(content)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(len(m))
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n +
		`" shape-rendering="crispEdges"><rect width="` + n + `" height="` + n + `" fill="#fff"/><path fill="#000" d="`)
	for y, row := range m {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}

// QRImage renders content as a grey image, moduleSize pixels per module.
func QRImage(content string, moduleSize int) (*image.Gray, error) {
	if moduleSize < 1 || moduleSize > 64 {
		return nil, ErrModuleSize
	}
	m, err := QRMatrix(content)
	if err != nil {
		return nil, err
	}
	side := len(m) * moduleSize
	img := image.NewGray(image.Rect(0, 0, side, side))
	drawModules(img, m, 0, 0, moduleSize)
	return img, nil
}

// QRPNG renders content as a PNG, moduleSize pixels per module.
func QRPNG(content string, moduleSize int) ([]byte, error) {
	img, err := QRImage(content, moduleSize)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("display: qr: png: %w", err)
	}
	return b.Bytes(), nil
}

// drawModules paints matrix m with its top-left corner at (x0, y0).
func drawModules(img *image.Gray, m [][]bool, x0, y0, scale int) {
	for y, row := range m {
		for dy := 0; dy < scale; dy++ {
			off := img.PixOffset(x0, y0+y*scale+dy)
			line := img.Pix[off : off+len(row)*scale]
			for x, dark := range row {
				v := uint8(0xff)
				if dark {
					v = 0
				}
				for dx := 0; dx < scale; dx++ {
					line[x*scale+dx] = v
				}
			}
		}
	}
}

// DecodeQR reads the QR in img with gozxing (try harder, so a screenshot or
// a frame with text around the code works). Tests use it to prove what was
// drawn scans.
func DecodeQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("display: qr: decode: %w", err)
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", fmt.Errorf("display: qr: decode: %w", err)
	}
	return res.GetText(), nil
}
