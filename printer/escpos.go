package printer

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// ESC/POS bytes used by the builder and the parser.
const (
	esc = 0x1B
	gs  = 0x1D
	fs  = 0x1C
	dle = 0x10
	eot = 0x04
	lf  = 0x0A
)

// Align is a justification (ESC a n).
type Align byte

// Justifications.
const (
	AlignLeft   Align = 0
	AlignCenter Align = 1
	AlignRight  Align = 2
)

// Builder appends ESC/POS commands to a byte slice. It does no I/O; the
// zero value is ready to use (code page PC437, Chinese mode off). Text is
// encoded for the mode in effect: GB18030 after ChineseOn, else the code
// page selected with CodePage. Control characters in text are replaced by
// spaces so that data (a merchant name, a footer) can never inject commands.
type Builder struct {
	buf      []byte
	chinese  bool
	codePage int
	// The print mode a raster line is drawn in (see RasterText).
	align      Align
	bold       bool
	wmul, hmul int
	ras        *lineRaster // nil: a character the code page lacks prints '?'
}

// Bytes returns the commands built so far (the builder's own slice).
func (b *Builder) Bytes() []byte { return b.buf }

// Len returns the number of bytes built so far.
func (b *Builder) Len() int { return len(b.buf) }

// Raw appends bytes as they are.
func (b *Builder) Raw(p ...byte) *Builder { b.buf = append(b.buf, p...); return b }

// Init resets the printer (ESC @). It also resets the builder's text mode.
func (b *Builder) Init() *Builder {
	b.chinese, b.codePage = false, CodePagePC437
	b.align, b.bold, b.wmul, b.hmul = AlignLeft, false, 1, 1
	return b.Raw(esc, '@')
}

// Align sets the justification (ESC a n); printers apply it at the start of a line.
func (b *Builder) Align(a Align) *Builder { b.align = a; return b.Raw(esc, 'a', byte(a)) }

// Bold turns emphasis on or off (ESC E n).
func (b *Builder) Bold(on bool) *Builder { b.bold = on; return b.Raw(esc, 'E', boolByte(on)) }

// Underline turns underline on (1 dot) or off (ESC - n).
func (b *Builder) Underline(on bool) *Builder { return b.Raw(esc, '-', boolByte(on)) }

// Size sets the character size (GS ! n): width and height multipliers 1..8.
func (b *Builder) Size(w, h int) *Builder {
	w, h = clamp(w, 1, 8), clamp(h, 1, 8)
	b.wmul, b.hmul = w, h
	return b.Raw(gs, '!', byte((w-1)<<4|(h-1)))
}

// Double switches double width and height on or off.
func (b *Builder) Double(on bool) *Builder {
	if on {
		return b.Size(2, 2)
	}
	return b.Size(1, 1)
}

// LF prints the line buffer and feeds one line.
func (b *Builder) LF() *Builder { return b.Raw(lf) }

// Feed prints and feeds n lines (ESC d n), n in 0..255.
func (b *Builder) Feed(n int) *Builder { return b.Raw(esc, 'd', byte(clamp(n, 0, 255))) }

// FeedDots prints and feeds n dots (ESC J n), n in 0..255.
func (b *Builder) FeedDots(n int) *Builder { return b.Raw(esc, 'J', byte(clamp(n, 0, 255))) }

// CodePage selects the single-byte code page (ESC t n). Text is encoded for
// it: 0 PC437 and 16 WPC1252 are known; others fall back to PC437 encoding.
func (b *Builder) CodePage(n int) *Builder {
	b.codePage = n
	return b.Raw(esc, 't', byte(clamp(n, 0, 255)))
}

// ChineseOn selects Chinese double-byte mode (FS &): text is then encoded as GB18030.
func (b *Builder) ChineseOn() *Builder { b.chinese = true; return b.Raw(fs, '&') }

// ChineseOff leaves Chinese double-byte mode (FS .).
func (b *Builder) ChineseOff() *Builder { b.chinese = false; return b.Raw(fs, '.') }

// Text appends text encoded for the current mode, without a line feed.
func (b *Builder) Text(s string) *Builder {
	b.buf = append(b.buf, encodeText(sanitize(s), b.chinese, b.codePage)...)
	return b
}

// Line appends text and a line feed. After RasterText, outside Chinese
// mode, a line with a character the code page lacks is sent as a raster
// image instead (see RasterText).
func (b *Builder) Line(s string) *Builder {
	if b.ras != nil && !b.chinese {
		if s = sanitize(s); !b.ras.printable(s, b.codePage) {
			return b.rasterLine(s)
		}
	}
	return b.Text(s).LF()
}

// Width returns how many font-A columns s takes in the current mode: a
// double-byte character takes two in Chinese mode, and after RasterText a
// character the code page lacks (drawn in a double cell); anything else
// takes one.
func (b *Builder) Width(s string) int {
	return cells{chinese: b.chinese, raster: b.ras != nil, codePage: b.codePage}.width(s)
}

// QR error correction levels for GS ( k.
const (
	QRLevelL = 0x30
	QRLevelM = 0x31
	QRLevelQ = 0x32
	QRLevelH = 0x33
)

// QRNative appends the native QR commands (GS ( k, function 165/167/169/180/181):
// model 2, module size (1..16), error level M, store the data, print it.
func (b *Builder) QRNative(data string, module int) *Builder {
	d := []byte(data)
	if len(d) > 7089 {
		d = d[:7089] // the largest model 2 symbol; the printer would reject more
	}
	b.Raw(gs, '(', 'k', 4, 0, 0x31, 0x41, 0x32, 0x00) // model 2
	b.Raw(gs, '(', 'k', 3, 0, 0x31, 0x43, byte(clamp(module, 1, 16)))
	b.Raw(gs, '(', 'k', 3, 0, 0x31, 0x45, QRLevelM)
	n := len(d) + 3
	b.Raw(gs, '(', 'k', byte(n), byte(n>>8), 0x31, 0x50, 0x30)
	b.Raw(d...)
	return b.Raw(gs, '(', 'k', 3, 0, 0x31, 0x51, 0x30)
}

// QRRaster appends the QR as a GS v 0 raster image: module dots per module
// and a quiet zone of 4 modules, shrunk (down to 1 dot per module) to fit
// maxDots. It fails when the data does not fit a QR symbol or maxDots.
func (b *Builder) QRRaster(data string, module, maxDots int) error {
	m, err := qrMatrix(data, QRLevelM)
	if err != nil {
		return err
	}
	const quiet = 4
	n := len(m)
	module = clamp(module, 1, 16)
	for module > 1 && (n+2*quiet)*module > maxDots {
		module--
	}
	if (n+2*quiet)*module > maxDots {
		return fmt.Errorf("printer: qr: %d modules do not fit %d dots", n, maxDots)
	}
	size := (n + 2*quiet) * module
	bits := NewBitmap(size, size)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if !m[y][x] {
				continue
			}
			for dy := 0; dy < module; dy++ {
				for dx := 0; dx < module; dx++ {
					bits.Set((quiet+x)*module+dx, (quiet+y)*module+dy)
				}
			}
		}
	}
	b.Raster(bits)
	return nil
}

// Bitmap is a 1-bit image in ESC/POS raster layout: rows of WidthBytes
// bytes, most significant bit leftmost, 1 = black.
type Bitmap struct {
	Width, Height int // in dots
	Data          []byte
}

// NewBitmap returns a white bitmap of w x h dots.
func NewBitmap(w, h int) *Bitmap {
	return &Bitmap{Width: w, Height: h, Data: make([]byte, (w+7)/8*h)}
}

// WidthBytes is the row length in bytes.
func (m *Bitmap) WidthBytes() int { return (m.Width + 7) / 8 }

// Set blackens the dot at x, y (outside the bitmap: ignored).
func (m *Bitmap) Set(x, y int) {
	if x < 0 || y < 0 || x >= m.Width || y >= m.Height {
		return
	}
	m.Data[y*m.WidthBytes()+x/8] |= 0x80 >> (x % 8)
}

// At reports whether the dot at x, y is black.
func (m *Bitmap) At(x, y int) bool {
	if x < 0 || y < 0 || x >= m.Width || y >= m.Height {
		return false
	}
	return m.Data[y*m.WidthBytes()+x/8]&(0x80>>(x%8)) != 0
}

// Raster appends a GS v 0 (normal density) raster image. Bitmaps taller
// than 65535 dots are cut to that height.
func (b *Builder) Raster(m *Bitmap) *Builder {
	wb, h := m.WidthBytes(), min(m.Height, 0xFFFF)
	b.Raw(gs, 'v', '0', 0, byte(wb), byte(wb>>8), byte(h), byte(h>>8))
	return b.Raw(m.Data[:wb*h]...)
}

// Cut appends the cut for the style, feeding lines first (see CutStyle).
func (b *Builder) Cut(style CutStyle, feed int) *Builder {
	feed = clamp(feed, 0, 255)
	switch style {
	case CutFeedFull:
		return b.Raw(gs, 'V', 65, byte(feed))
	case CutFeedPartial:
		return b.Raw(gs, 'V', 66, byte(feed))
	case CutFull:
		return b.Feed(feed).Raw(gs, 'V', 0)
	case CutPartial:
		return b.Feed(feed).Raw(gs, 'V', 1)
	}
	return b.Feed(feed)
}

// DrawerKick pulses the cash drawer (ESC p m t1 t2): pin 2 or 5, on and off
// times in milliseconds (2 ms units, at most 510 ms).
func (b *Builder) DrawerKick(pin, onMS, offMS int) *Builder {
	m := byte(0)
	if pin == 5 {
		m = 1
	}
	return b.Raw(esc, 'p', m, byte(clamp(onMS/2, 0, 255)), byte(clamp(offMS/2, 0, 255)))
}

// StatusRequest appends DLE EOT n (real-time status, n = 1..4).
func (b *Builder) StatusRequest(n byte) *Builder { return b.Raw(dle, eot, n) }

func boolByte(on bool) byte {
	if on {
		return 1
	}
	return 0
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// sanitize replaces control characters and invalid UTF-8 with spaces / '?'.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7F || r == utf8.RuneError || (r >= 0x80 && r < 0xA0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError:
			return '?'
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0):
			return ' '
		}
		return r
	}, s)
}

// encodeText encodes s for the printer: GB18030 in Chinese mode, else the
// single-byte code page; a character the code page lacks becomes '?'.
func encodeText(s string, chinese bool, codePage int) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return []byte(s)
	}
	if chinese {
		if out, err := encoding.ReplaceUnsupported(simplifiedchinese.GB18030.NewEncoder()).Bytes([]byte(s)); err == nil {
			return out
		}
	}
	cm := charmap.CodePage437
	if codePage == CodePageWPC1252 {
		cm = charmap.Windows1252
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := cm.EncodeRune(r)
		if !ok || b < 0x20 {
			b = '?'
		}
		out = append(out, b)
	}
	return out
}

// textWidth counts font-A columns: two for a non-ASCII character in Chinese mode.
func textWidth(s string, chinese bool) int { return cells{chinese: chinese}.width(s) }

// cells says how many font-A columns a character takes on a printer:
// two for a non-ASCII character in Chinese mode, two for a character the
// code page lacks when such text is drawn as a raster line (a double
// cell, as in Chinese mode), else one.
type cells struct {
	chinese, raster bool
	codePage        int
}

// of returns the columns of one character.
func (c cells) of(r rune) int {
	switch {
	case r < 0x80:
		return 1
	case c.chinese:
		return 2
	case c.raster && !encodable(r, c.codePage):
		return 2
	}
	return 1
}

// width returns the columns of s.
func (c cells) width(s string) int {
	w := 0
	for _, r := range s {
		w += c.of(r)
	}
	return w
}

// encodable reports whether the single-byte code page has the character.
func encodable(r rune, codePage int) bool {
	if r >= 0x20 && r < 0x7F {
		return true
	}
	cm := charmap.CodePage437
	if codePage == CodePageWPC1252 {
		cm = charmap.Windows1252
	}
	b, ok := cm.EncodeRune(r)
	return ok && b >= 0x20
}
