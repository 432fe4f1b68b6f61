package printer

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/posagent/posagent/fonts"
)

// Defaults for the interpreter.
const (
	DefaultMaxHeight = 20000   // dots per page image; more is dropped (Page.Truncated)
	maxCommand       = 4 << 20 // a command declaring more data is skipped, not buffered
	defaultSpacing   = 30      // dots per line (ESC 2)
)

// InterpreterOptions configures an Interpreter. Zero values mean defaults.
type InterpreterOptions struct {
	Width     int           // paper width in dots (default 576)
	MaxHeight int           // page image height limit in dots (default DefaultMaxHeight)
	OnStatus  func(n byte)  // called for each real-time status request DLE EOT n
	OnPage    func(p *Page) // called for each page ended by a cut
	// CJK draws double-byte (Chinese) characters. Nil: they are left out
	// of the image, which then says "(Chinese text omitted)".
	CJK *fonts.CJK
}

// OmittedNote is drawn at the top of a page image whose Chinese text was
// left out for want of a CJK font.
const OmittedNote = "(Chinese text omitted)"

// Page is one receipt as a printer would have printed it: what came
// between two cuts (or between the start, a cut and the end of the data).
type Page struct {
	Raw       []byte   // the ESC/POS bytes of this page
	Lines     []string // the printed text, one entry per printed line (blank lines included)
	QR        []string // the data of each native QR printed (GS ( k)
	Cut       bool     // ended by a cut command (else by the end of the data)
	Printed   bool     // anything visible was printed (text, image, QR)
	Truncated bool     // taller than MaxHeight: the rest was dropped
	Width     int      // in dots
	// Overflow counts the lines wider than the paper that the printer
	// wrapped by itself: a receipt layout should have none.
	Overflow int
	// Omitted counts the Chinese characters left blank in the image for
	// want of a CJK font (the text lines still have them).
	Omitted int

	blocks []block
	height int
}

type block struct {
	img *image.Gray // nil: blank paper (a feed)
	h   int
}

// Text returns the printed lines joined by newlines, trailing blank lines removed.
func (p *Page) Text() string {
	return strings.TrimRight(strings.Join(p.Lines, "\n"), "\n ") + "\n"
}

// Image draws the page: black on white, Width dots wide, with a margin of
// 8 dots above and below.
func (p *Page) Image() *image.Gray {
	const margin = 8
	img := image.NewGray(image.Rect(0, 0, max(p.Width, 1), p.height+2*margin))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	y := margin
	for _, b := range p.blocks {
		if b.img != nil {
			for row := 0; row < b.h; row++ {
				copy(img.Pix[(y+row)*img.Stride:(y+row)*img.Stride+p.Width], b.img.Pix[row*b.img.Stride:row*b.img.Stride+p.Width])
			}
		}
		y += b.h
	}
	return img
}

// PNG encodes Image as a grey PNG at the fastest compression level
// (compression dominates rendering; a 1-bit PNG is half the size but
// encodes about 20% slower with image/png).
func (p *Page) PNG() ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, p.Image()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// textState is the print mode in effect.
type textState struct {
	bold, underline, reverse, fontB, chinese bool
	wmul, hmul                               int
	align                                    Align
	codePage                                 int
	spacing                                  int
}

func defaultTextState() textState {
	return textState{wmul: 1, hmul: 1, spacing: defaultSpacing}
}

type lineItem struct {
	cell               *image.Alpha
	w, h               int // scaled size
	wmul, hmul         int
	underline, reverse bool
}

// Interpreter is a virtual ESC/POS printer: Write feeds it bytes, in any
// chunks; it keeps an incomplete command until the rest arrives, answers
// nothing itself (OnStatus does), and produces Pages. It never panics:
// unknown commands are skipped by their known length, unknown ESC/GS/FS
// commands by two bytes. Not safe for concurrent use.
type Interpreter struct {
	o      InterpreterOptions
	buf    []byte
	skip   int // bytes still to drop of an oversized command
	st     textState
	qrData []byte
	qrMod  int
	qrLvl  byte
	glyphs *glyphCache

	items     []lineItem
	lineW     int
	lineAlign Align
	lineText  []rune

	page  *Page
	pages []*Page
	ended bool // set by a cut during exec
}

// NewInterpreter returns an interpreter with the options' defaults filled in.
func NewInterpreter(o InterpreterOptions) *Interpreter {
	if o.Width <= 0 {
		o.Width = 576
	}
	if o.Width > 4096 {
		o.Width = 4096
	}
	if o.MaxHeight <= 0 {
		o.MaxHeight = DefaultMaxHeight
	}
	in := &Interpreter{o: o, glyphs: newGlyphCache(o.CJK)}
	in.reset()
	in.page = &Page{Width: o.Width}
	return in
}

func (in *Interpreter) reset() {
	in.st = defaultTextState()
	in.qrMod, in.qrLvl = 3, QRLevelL
}

// Write interprets p. It never fails.
func (in *Interpreter) Write(p []byte) (int, error) {
	n := len(p)
	if in.skip > 0 {
		d := min(in.skip, len(p))
		in.skip -= d
		p = p[d:]
	}
	in.buf = append(in.buf, p...)
	i := 0
	for i < len(in.buf) {
		if in.skip > 0 {
			d := min(in.skip, len(in.buf)-i)
			in.skip -= d
			i += d
			continue
		}
		c := in.exec(in.buf[i:])
		if c == 0 {
			break // incomplete: wait for more
		}
		in.page.Raw = append(in.page.Raw, in.buf[i:i+c]...)
		i += c
		if in.ended {
			in.ended = false
			in.endPage(true)
		}
	}
	in.buf = append(in.buf[:0], in.buf[i:]...)
	return n, nil
}

// Close ends the data: an incomplete command is dropped, a pending line is
// printed, and the last page (if anything was printed on it) is returned.
func (in *Interpreter) Close() *Page {
	in.buf = in.buf[:0]
	in.skip = 0
	if len(in.items) > 0 {
		in.printLine()
	}
	p := in.page
	in.page = &Page{Width: in.o.Width}
	if !p.Printed {
		return nil
	}
	in.note(p)
	in.pages = append(in.pages, p)
	return p
}

// Pages returns the pages completed so far (by cuts, and by Close).
func (in *Interpreter) Pages() []*Page { return in.pages }

func (in *Interpreter) endPage(cut bool) {
	p := in.page
	p.Cut = cut
	in.page = &Page{Width: in.o.Width}
	in.note(p)
	in.pages = append(in.pages, p)
	if in.o.OnPage != nil {
		in.o.OnPage(p)
	}
}

// Render interprets data for a paper width and returns its pages: one per
// cut, plus the rest if anything was printed after the last cut. It has no
// CJK font: Chinese is omitted from the images (see RenderWith).
func Render(data []byte, widthDots int) []*Page {
	return RenderWith(data, InterpreterOptions{Width: widthDots})
}

// RenderWith is Render with interpreter options (the paper width, the CJK font).
func RenderWith(data []byte, o InterpreterOptions) []*Page {
	o.OnPage, o.OnStatus = nil, nil
	in := NewInterpreter(o)
	in.Write(data)
	in.Close()
	return in.Pages()
}

// note puts OmittedNote at the top of a page whose Chinese was left out.
func (in *Interpreter) note(p *Page) {
	if p.Omitted == 0 {
		return
	}
	h := defaultSpacing
	blk := in.newBlock(h)
	x := max((in.o.Width-len(OmittedNote)*fontACellW)/2, 0)
	for _, r := range OmittedNote {
		c := in.glyphs.cell(r, false, false, false)
		drawCell(blk, lineItem{cell: c.img, w: fontACellW, h: fontACellH, wmul: 1, hmul: 1}, x, h-fontACellH-3, in.o.Width)
		x += fontACellW
	}
	p.blocks = append([]block{{img: blk, h: h}}, p.blocks...)
	p.height += h
}

// need returns n when b holds n bytes, else 0 (incomplete).
func need(b []byte, n int) int {
	if len(b) < n {
		return 0
	}
	return n
}

// exec interprets the command at the start of b and returns its length,
// or 0 when b holds only part of it.
func (in *Interpreter) exec(b []byte) int {
	c := b[0]
	switch {
	case c == lf:
		in.printLine()
		return 1
	case c == 0x09: // HT: next multiple of 8 columns
		cols := in.lineW / max(in.cellW(), 1)
		for k := 0; k < 8-cols%8; k++ {
			in.addChar(' ', false)
		}
		return 1
	case c == 0x0C: // FF (page mode end): treat as a line feed
		in.printLine()
		return 1
	case c == dle:
		return in.execDLE(b)
	case c == esc:
		return in.execESC(b)
	case c == gs:
		return in.execGS(b)
	case c == fs:
		return in.execFS(b)
	case c < 0x20 || c == 0x7F:
		return 1 // CR, CAN and other controls: ignored
	}
	return in.execText(b)
}

func (in *Interpreter) execText(b []byte) int {
	c := b[0]
	if c < 0x80 {
		in.addChar(rune(c), false)
		return 1
	}
	if !in.st.chinese {
		cm := charmap.CodePage437
		if in.st.codePage == CodePageWPC1252 {
			cm = charmap.Windows1252
		}
		in.addChar(cm.DecodeByte(c), false)
		return 1
	}
	// GB18030: lead 0x81..0xFE, then a byte 0x40..0xFE (2 bytes) or a digit (4 bytes).
	if c == 0x80 || c == 0xFF {
		in.addChar('?', false)
		return 1
	}
	if len(b) < 2 {
		return 0
	}
	n := 2
	if b[1] >= 0x30 && b[1] <= 0x39 {
		n = 4
		if len(b) < 4 {
			return 0
		}
	}
	r := '?'
	if s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b[:n]); err == nil {
		if rr, size := utf8.DecodeRune(s); size > 0 && rr != utf8.RuneError {
			r = rr
		}
	}
	in.addChar(r, true)
	return n
}

func (in *Interpreter) execDLE(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case eot, 0x05: // DLE EOT n, DLE ENQ n
		if len(b) < 3 {
			return 0
		}
		if b[1] == eot && in.o.OnStatus != nil {
			in.o.OnStatus(b[2])
		}
		return 3
	case 0x14: // DLE DC4 fn m t
		return need(b, 5)
	}
	return 1 // a lone DLE
}

func (in *Interpreter) execESC(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	arg := func() (byte, bool) {
		if len(b) < 3 {
			return 0, false
		}
		return b[2], true
	}
	switch b[1] {
	case '@':
		in.reset()
		return 2
	case '2':
		in.st.spacing = defaultSpacing
		return 2
	case 'i', 'm', 'L', 'S', '<', 'v', '9', 'A', 'B': // no parameter
		return 2
	case '!', 'E', 'G', '-', 'a', 'd', 'J', 't', 'M', '3', ' ', 'e', 'R', 'V', '{', 'r', 'U', 'T', '=', 'u', '%', '?', 'K', 'O', 'x':
		n, ok := arg()
		if !ok {
			return 0
		}
		in.escParam(b[1], n)
		return 3
	case '$', '\\':
		return need(b, 4)
	case 'p':
		return need(b, 5)
	case 'W':
		return need(b, 10)
	case 'c': // ESC c 3 n, ESC c 4 n, ESC c 5 n, ESC c 0/1 n
		return need(b, 4)
	case 'D': // tab positions, up to 32, NUL-terminated
		for i := 2; i < len(b) && i < 2+33; i++ {
			if b[i] == 0 {
				return i + 1
			}
		}
		if len(b) >= 2+33 {
			return 2 + 33
		}
		return 0
	case '*': // bit image: m nL nH, then (nL+256 nH) columns of 1 or 3 bytes
		if len(b) < 5 {
			return 0
		}
		cols := int(b[3]) | int(b[4])<<8
		if b[2] == 32 || b[2] == 33 {
			cols *= 3
		}
		return need(b, 5+cols)
	case '&': // user-defined characters: y c1 c2, then per char x + y*x bytes
		if len(b) < 5 {
			return 0
		}
		y, c1, c2 := int(b[2]), int(b[3]), int(b[4])
		i := 5
		for k := c1; k <= c2 && c2-c1 < 96; k++ {
			if i >= len(b) {
				return 0
			}
			i += 1 + y*int(b[i])
		}
		return need(b, i)
	case '(': // ESC ( x pL pH data
		if len(b) < 5 {
			return 0
		}
		return in.sized(b, 5+(int(b[3])|int(b[4])<<8))
	}
	return 2 // unknown: skip ESC and its command byte
}

func (in *Interpreter) escParam(cmd, n byte) {
	switch cmd {
	case '!':
		in.st.fontB = n&0x01 != 0
		in.st.bold = n&0x08 != 0
		in.st.hmul, in.st.wmul = 1, 1
		if n&0x10 != 0 {
			in.st.hmul = 2
		}
		if n&0x20 != 0 {
			in.st.wmul = 2
		}
		in.st.underline = n&0x80 != 0
	case 'E', 'G':
		in.st.bold = n&1 != 0
	case '-':
		in.st.underline = n == 1 || n == 2 || n == '1' || n == '2'
	case 'a':
		switch n {
		case 0, '0':
			in.st.align = AlignLeft
		case 1, '1':
			in.st.align = AlignCenter
		case 2, '2':
			in.st.align = AlignRight
		}
	case 'd':
		in.feedLines(int(n))
	case 'J':
		if len(in.items) > 0 {
			in.printLine()
		}
		in.feedDots(int(n))
	case 't':
		in.st.codePage = int(n)
	case 'M':
		in.st.fontB = n == 1 || n == '1'
	case '3':
		in.st.spacing = int(n)
	}
}

func (in *Interpreter) execFS(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '&':
		in.st.chinese = true
		return 2
	case '.':
		in.st.chinese = false
		return 2
	case '!', '-', 'C', 'W':
		return need(b, 3)
	case 'S', 'p':
		return need(b, 4)
	case '(':
		if len(b) < 5 {
			return 0
		}
		return in.sized(b, 5+(int(b[3])|int(b[4])<<8))
	}
	return 2
}

func (in *Interpreter) execGS(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '!':
		if len(b) < 3 {
			return 0
		}
		in.st.wmul, in.st.hmul = int(b[2]>>4&7)+1, int(b[2]&7)+1
		return 3
	case 'B':
		if len(b) < 3 {
			return 0
		}
		in.st.reverse = b[2]&1 != 0
		return 3
	case 'V':
		return in.execGSCut(b)
	case 'v':
		return in.execGSRaster(b)
	case '(': // GS ( x pL pH data
		if len(b) < 5 {
			return 0
		}
		n := in.sized(b, 5+(int(b[3])|int(b[4])<<8))
		if n > 0 && b[2] == 'k' {
			in.qrFunction(b[5:n])
		}
		return n
	case 'k':
		return gsBarcodeLen(b)
	case '*': // define downloaded bit image: x y, then x*y*8 bytes
		if len(b) < 4 {
			return 0
		}
		return need(b, 4+int(b[2])*int(b[3])*8)
	case 'H', 'h', 'w', 'f', 'a', 'r', 'I', 'b', '/', 'T', 'E', 'j':
		return need(b, 3)
	case 'L', 'W', 'P', '$', '\\':
		return need(b, 4)
	case '^':
		return need(b, 5)
	case ':':
		return 2
	}
	return 2
}

// execGSCut runs GS V (cut): m, or m n for 65/66 (and 97..105).
func (in *Interpreter) execGSCut(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	m := b[2]
	n := 3
	feed := 0
	if m >= 65 {
		if len(b) < 4 {
			return 0
		}
		n, feed = 4, int(b[3])
	}
	in.cut(feed)
	return n
}

// execGSRaster runs GS v 0 m xL xH yL yH data (a raster image); an
// oversized image is skipped without buffering.
func (in *Interpreter) execGSRaster(b []byte) int {
	if len(b) < 8 {
		return 0
	}
	if b[2] != '0' {
		return 3
	}
	wb, h := int(b[4])|int(b[5])<<8, int(b[6])|int(b[7])<<8
	size := 8 + wb*h
	if wb*h > maxCommand {
		in.skip = wb * h
		return 8
	}
	if len(b) < size {
		return 0
	}
	m := b[3]
	in.raster(b[8:size], wb, h, 1+int(m&1), 1+int(m>>1&1))
	return size
}

// gsBarcodeLen is the length of GS k (a barcode, not printed): m 0..6
// NUL-terminated, m >= 65 length-prefixed; 0 when incomplete.
func gsBarcodeLen(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	if b[2] >= 65 {
		if len(b) < 4 {
			return 0
		}
		return need(b, 4+int(b[3]))
	}
	for i := 3; i < len(b) && i < 3+256; i++ {
		if b[i] == 0 {
			return i + 1
		}
	}
	if len(b) >= 3+256 {
		return 3 + 256
	}
	return 0
}

// sized returns n for a length-prefixed command of n bytes, 0 when
// incomplete; an oversized one is skipped without buffering.
func (in *Interpreter) sized(b []byte, n int) int {
	if n > maxCommand {
		in.skip = n - 5
		return 5
	}
	return need(b, n)
}

// qrFunction interprets GS ( k parameters (cn fn ...), for cn 49 (QR).
func (in *Interpreter) qrFunction(p []byte) {
	if len(p) < 2 || p[0] != 0x31 {
		return
	}
	switch p[1] {
	case 0x43: // module size
		if len(p) >= 3 && p[2] >= 1 && p[2] <= 16 {
			in.qrMod = int(p[2])
		}
	case 0x45: // error level
		if len(p) >= 3 && p[2] >= 0x30 && p[2] <= 0x33 {
			in.qrLvl = p[2]
		}
	case 0x50: // store: m=0x30, data
		if len(p) >= 3 {
			in.qrData = append(in.qrData[:0], p[3:]...)
		}
	case 0x51: // print
		in.printQR()
	}
}

func (in *Interpreter) printQR() {
	if len(in.qrData) == 0 {
		return
	}
	data := string(in.qrData)
	in.page.QR = append(in.page.QR, data)
	m, err := qrMatrix(data, in.qrLvl)
	if err != nil {
		in.lineText = append(in.lineText, []rune("[QR: cannot encode]")...)
		in.printLine()
		return
	}
	if len(in.items) > 0 {
		in.printLine()
	}
	n, mod := len(m), in.qrMod
	size := n * mod
	if size > in.o.Width {
		mod = max(in.o.Width/n, 1)
		size = n * mod
	}
	blk := in.newBlock(size)
	x0 := in.alignX(min(size, in.o.Width))
	for y := 0; y < size; y++ {
		row := m[y/mod]
		for x := 0; x < size && x0+x < in.o.Width; x++ {
			if row[x/mod] {
				blk.Pix[y*blk.Stride+x0+x] = 0
			}
		}
	}
	in.addBlock(blk, size)
	in.page.Printed = true
}

func (in *Interpreter) raster(data []byte, wb, h, sx, sy int) {
	if wb == 0 || h == 0 {
		return
	}
	if len(in.items) > 0 {
		in.printLine()
	}
	w := min(wb*8*sx, in.o.Width)
	hh := h * sy
	if hh > in.o.MaxHeight {
		hh = in.o.MaxHeight
	}
	blk := in.newBlock(hh)
	x0 := in.alignX(w)
	for y := 0; y < hh; y++ {
		src := data[(y/sy)*wb : (y/sy)*wb+wb]
		for x := 0; x < w && x0+x < in.o.Width; x++ {
			sxp := x / sx
			if src[sxp/8]&(0x80>>(sxp%8)) != 0 {
				blk.Pix[y*blk.Stride+x0+x] = 0
			}
		}
	}
	in.addBlock(blk, hh)
	in.page.Printed = true
}

func (in *Interpreter) cut(feed int) {
	if len(in.items) > 0 {
		in.printLine()
	}
	in.feedDots(feed)
	const h = 16
	blk := in.newBlock(h)
	for x := 0; x < in.o.Width; x++ {
		if x/8%2 == 0 {
			blk.Pix[(h/2)*blk.Stride+x] = 0
		}
	}
	in.addBlock(blk, h)
	in.ended = true
}

func (in *Interpreter) newBlock(h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, in.o.Width, max(h, 0)))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	return img
}

func (in *Interpreter) addBlock(img *image.Gray, h int) {
	if h <= 0 {
		return
	}
	p := in.page
	if p.height+h > in.o.MaxHeight {
		p.Truncated = true
		return
	}
	p.blocks = append(p.blocks, block{img: img, h: h})
	p.height += h
}

func (in *Interpreter) feedDots(n int) {
	in.addBlock(nil, n)
}

func (in *Interpreter) feedLines(n int) {
	if len(in.items) > 0 {
		in.printLine()
		n--
	}
	for ; n > 0; n-- {
		in.printLine()
	}
}

func (in *Interpreter) cellW() int {
	if in.st.fontB {
		return fontBCellW
	}
	return fontACellW
}

func (in *Interpreter) alignX(w int) int {
	switch in.st.align {
	case AlignCenter:
		return max((in.o.Width-w)/2, 0)
	case AlignRight:
		return max(in.o.Width-w, 0)
	}
	return 0
}

func (in *Interpreter) addChar(r rune, wide bool) {
	g := in.glyphs.cell(r, wide, in.st.bold, in.st.fontB)
	cell := g.img
	if g.omitted {
		in.page.Omitted++
	}
	w, h := cell.Rect.Dx()*in.st.wmul, cell.Rect.Dy()*in.st.hmul
	if w > in.o.Width {
		return // wider than the paper: a printer drops it
	}
	if in.lineW+w > in.o.Width {
		in.page.Overflow++
		in.printLine() // wrap
	}
	if len(in.items) == 0 {
		in.lineAlign = in.st.align
	}
	in.items = append(in.items, lineItem{cell: cell, w: w, h: h, wmul: in.st.wmul, hmul: in.st.hmul, underline: in.st.underline, reverse: in.st.reverse})
	in.lineW += w
	in.lineText = append(in.lineText, r)
}

// printLine prints the line buffer (LF) and feeds one line.
func (in *Interpreter) printLine() {
	text := strings.TrimRight(string(in.lineText), " ")
	in.page.Lines = append(in.page.Lines, text)
	if len(in.items) == 0 {
		in.feedDots(in.st.spacing)
		in.lineText = in.lineText[:0]
		return
	}
	maxH := 0
	for _, it := range in.items {
		maxH = max(maxH, it.h)
	}
	gap := max(in.st.spacing-fontACellH, 0)
	h := max(in.st.spacing, maxH+gap)
	blk := in.newBlock(h)
	x := 0
	switch in.lineAlign {
	case AlignCenter:
		x = max((in.o.Width-in.lineW)/2, 0)
	case AlignRight:
		x = max(in.o.Width-in.lineW, 0)
	}
	bottom := h - gap // items stand on this row
	for _, it := range in.items {
		drawCell(blk, it, x, bottom-it.h, in.o.Width)
		if it.underline && bottom-1 >= 0 {
			for xx := 0; xx < it.w && x+xx < in.o.Width; xx++ {
				blk.SetGray(x+xx, bottom-1, color.Gray{})
			}
		}
		x += it.w
	}
	in.addBlock(blk, h)
	if strings.TrimSpace(text) != "" || hasReverse(in.items) {
		in.page.Printed = true
	}
	in.items, in.lineW, in.lineText = in.items[:0], 0, in.lineText[:0]
}

// drawCell draws one item's cell, scaled, with its top left corner at x, top.
func drawCell(blk *image.Gray, it lineItem, x, top, width int) {
	for y := 0; y < it.h; y++ {
		for xx := 0; xx < it.w && x+xx < width; xx++ {
			a := it.cell.AlphaAt(xx/it.wmul, y/it.hmul).A
			ink := a >= 0x80
			if it.reverse {
				ink = !ink
			}
			if ink && top+y >= 0 {
				blk.SetGray(x+xx, top+y, color.Gray{})
			}
		}
	}
}

func hasReverse(items []lineItem) bool {
	for _, it := range items {
		if it.reverse {
			return true
		}
	}
	return false
}
