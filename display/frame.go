package display

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Frame sizes of the common small screens.
const (
	SunmiMiniWidth, SunmiMiniHeight = 128, 40  // Sunmi T1 mini / T2 mini customer LCD
	SecondWidth, SecondHeight       = 800, 480 // a small second screen
)

// smallFrame is the height under which the bitmap font is used.
const smallFrame = 120

// FrameOptions says how frames are drawn.
type FrameOptions struct {
	Width, Height int    // pixels (default 800x480); at least 64x32
	MerchantName  string // shown on the idle screen
}

// Renderer draws Screens as grey images: text with golang.org/x/image fonts
// (basicfont 7x13 on small screens, Go Regular/Bold at larger sizes) and, on
// the qr screen, the QR as large as fits at an integer module scale. Text is
// English only: the Go fonts have no Chinese glyphs. Safe for concurrent use.
type Renderer struct {
	w, h     int
	merchant string

	mu      sync.Mutex // mu guards faces (opentype faces are not safe for concurrent use)
	regular *opentype.Font
	bold    *opentype.Font
	faces   map[faceKey]font.Face
}

type faceKey struct {
	bold bool
	size int
}

// NewRenderer checks the options and loads the fonts.
func NewRenderer(o FrameOptions) (*Renderer, error) {
	if o.Width == 0 && o.Height == 0 {
		o.Width, o.Height = SecondWidth, SecondHeight
	}
	if o.Width < 64 || o.Height < 32 || o.Width > 8192 || o.Height > 8192 {
		return nil, fmt.Errorf("display: frame size %dx%d: want 64x32 to 8192x8192", o.Width, o.Height)
	}
	reg, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("display: frame: font: %w", err)
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("display: frame: font: %w", err)
	}
	return &Renderer{w: o.Width, h: o.Height, merchant: o.MerchantName,
		regular: reg, bold: bold, faces: map[faceKey]font.Face{}}, nil
}

// Size returns the frame size in pixels.
func (r *Renderer) Size() (w, h int) { return r.w, r.h }

// line is one line of text in a layout.
type line struct {
	text string
	size int // pixel height wanted (large frames); 0 = small
	bold bool
}

// WalletName is how a wallet is written for people.
func WalletName(w string) string {
	switch w {
	case "wechat":
		return "WeChat Pay"
	case "alipay":
		return "Alipay"
	case "unionpay":
		return "UnionPay"
	}
	return w
}

// Render draws s.
func (r *Renderer) Render(s Screen) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, r.w, r.h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	r.mu.Lock()
	defer r.mu.Unlock()
	area := img.Bounds()
	if s.Kind == KindQR && s.CodeURL != "" {
		if m, err := QRMatrix(s.CodeURL); err == nil {
			side := r.h
			if r.w < side {
				side = r.w
			}
			if r.h >= smallFrame {
				side = side * 9 / 10 // a margin around the quiet zone on large screens
			}
			if scale := side / len(m); scale >= 1 && len(m)*scale <= r.w {
				q := len(m) * scale
				x0, y0 := 0, (r.h-q)/2
				if r.h >= smallFrame {
					x0 = (r.h - q) / 2
				}
				drawModules(img, m, x0, y0, scale)
				area.Min.X = x0 + q
			}
		}
	}
	r.drawLines(img, area, r.lines(s))
	return img
}

// lines is the text of each screen, largest first.
func (r *Renderer) lines(s Screen) []line {
	amount := strings.TrimSpace(s.Currency + " " + FormatAmount(s.Amount, s.Currency))
	switch s.Kind {
	case KindAmountDue:
		ls := []line{{"Amount due", 6, false}, {amount, 16, true}}
		if s.Message != "" {
			ls = append(ls, line{s.Message, 6, false})
		}
		return ls
	case KindScanPrompt:
		return []line{{amount, 16, true}, {"Please show your", 7, false}, {"payment code", 7, false}}
	case KindQR:
		return []line{{amount, 12, true}, {"Scan with", 6, false}, {WalletName(s.Wallet), 7, true}}
	case KindPaid:
		return []line{{"PAID", 16, true}, {"Thank you", 8, false}, {amount, 7, false}}
	case KindFailed:
		return []line{{"DECLINED", 14, true}, {s.Message, 6, false}, {amount, 7, false}}
	case KindCancelled:
		return []line{{"CANCELLED", 14, true}, {amount, 7, false}}
	}
	if r.merchant == "" {
		return []line{{"Welcome", 12, true}}
	}
	return []line{{r.merchant, 12, true}, {"Welcome", 7, false}}
}

// drawLines centres ls vertically and horizontally in area. On large
// frames sizes are percent of the frame height, shrunk until each line fits
// the width; on small frames every line uses the 7x13 bitmap font and lines
// that do not fit the height are dropped from the end.
func (r *Renderer) drawLines(img *image.Gray, area image.Rectangle, ls []line) {
	type placed struct {
		face   font.Face
		text   string
		height int
		ascent int
	}
	var ps []placed
	total := 0
	for _, l := range ls {
		if l.text == "" {
			continue
		}
		var f font.Face = basicfont.Face7x13
		text := l.text
		if r.h >= smallFrame {
			px := r.h * l.size / 100
			for px > 8 {
				f = r.face(l.bold, px)
				if font.MeasureString(f, text).Ceil() <= area.Dx()-8 {
					break
				}
				px = px * 9 / 10
			}
			f = r.face(l.bold, px)
		}
		text = truncate(f, text, area.Dx()-4)
		m := f.Metrics()
		h := (m.Ascent + m.Descent).Ceil()
		if r.h < smallFrame && total+h > area.Dy() {
			break
		}
		ps = append(ps, placed{f, text, h, m.Ascent.Ceil()})
		total += h
	}
	gap := 0
	if len(ps) > 1 && r.h >= smallFrame {
		gap = (area.Dy() - total) / (len(ps) + 1) / 2
	}
	total += gap * (len(ps) - 1)
	y := area.Min.Y + (area.Dy()-total)/2
	for _, p := range ps {
		wd := font.MeasureString(p.face, p.text).Ceil()
		d := font.Drawer{Dst: img, Src: image.Black, Face: p.face,
			Dot: fixed.P(area.Min.X+(area.Dx()-wd)/2, y+p.ascent)}
		d.DrawString(p.text)
		y += p.height + gap
	}
}

// face returns a cached face. With mu held.
func (r *Renderer) face(bold bool, px int) font.Face {
	k := faceKey{bold, px}
	if f, ok := r.faces[k]; ok {
		return f
	}
	src := r.regular
	if bold {
		src = r.bold
	}
	f, err := opentype.NewFace(src, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return basicfont.Face7x13
	}
	r.faces[k] = f
	return f
}

// truncate shortens text with "..." until it fits width pixels.
func truncate(f font.Face, text string, width int) string {
	if font.MeasureString(f, text).Ceil() <= width {
		return text
	}
	rs := []rune(text)
	for len(rs) > 0 {
		rs = rs[:len(rs)-1]
		t := string(rs) + "..."
		if font.MeasureString(f, t).Ceil() <= width {
			return t
		}
	}
	return ""
}

// PNG renders s and encodes it as PNG.
func (r *Renderer) PNG(s Screen) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, r.Render(s)); err != nil {
		return nil, fmt.Errorf("display: frame png: %w", err)
	}
	return b.Bytes(), nil
}

// PNGSink writes each screen as a PNG file at Path, replacing it atomically
// (write to a temporary file in the same directory, then rename), so a
// reader never sees half a frame.
type PNGSink struct {
	Path     string
	Renderer *Renderer
}

var _ Sink = (*PNGSink)(nil)

// Show renders s to the file.
func (p *PNGSink) Show(s Screen) error {
	b, err := p.Renderer.PNG(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.Path), ".frame-*.png")
	if err != nil {
		return fmt.Errorf("display: png sink %s: %w", p.Path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("display: png sink %s: %w", p.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("display: png sink %s: %w", p.Path, err)
	}
	if err := os.Rename(tmp.Name(), p.Path); err != nil {
		return fmt.Errorf("display: png sink %s: %w", p.Path, err)
	}
	return nil
}
