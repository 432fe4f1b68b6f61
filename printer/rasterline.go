package printer

import "github.com/posagent/posagent/fonts"

// NoFontNote is printed instead of a line the printer's code page cannot
// print when no CJK font was found to draw it as an image (the printer
// has no Chinese font of its own: printer.chinese false).
const NoFontNote = "(Chinese text: no font here)"

// rasterGap is the white space under a raster line: a text line is
// defaultSpacing dots high, of which the characters take fontACellH.
const rasterGap = defaultSpacing - fontACellH

// lineRaster draws lines of text as raster images, for a printer without
// a font for some of their characters: the characters the code page has
// in a single cell with Go Mono, the others in a double cell with the CJK
// font, exactly as the virtual printer draws text, so that a picture of a
// receipt and the paper look alike.
type lineRaster struct {
	cjk    *fonts.CJK // nil: no font, the line says NoFontNote
	dots   int        // the paper's printable width
	glyphs *glyphCache
}

// RasterText makes Line send each line that the code page cannot print
// (Chinese on a printer without a Chinese font) as a GS v 0 raster image
// dots wide, drawn with cjk in the bold and size in effect, aligned as
// set; such a character takes two columns (see Width). With a nil cjk
// the line is replaced by NoFontNote. Nothing is ever printed as '?'.
// It has no effect in Chinese mode (ChineseOn), where the printer's own
// font prints the text.
func (b *Builder) RasterText(cjk *fonts.CJK, dots int) *Builder {
	b.ras = &lineRaster{cjk: cjk, dots: max(dots, 8), glyphs: newGlyphCache(cjk)}
	return b
}

// printable reports whether the code page has every character of s.
func (l *lineRaster) printable(s string, codePage int) bool {
	for _, r := range s {
		if !encodable(r, codePage) {
			return false
		}
	}
	return true
}

// rasterLine sends s (sanitized) as one raster line, or the note.
func (b *Builder) rasterLine(s string) *Builder {
	wm, hm := max(b.wmul, 1), max(b.hmul, 1)
	if b.ras.cjk == nil {
		for _, l := range wrap(NoFontNote, b.ras.dots/fontACellW/wm, cells{}) {
			b.Text(l).LF()
		}
		return b
	}
	type placed struct {
		g glyph
		x int
	}
	var line []placed
	x := 0
	for _, r := range s {
		g := b.ras.glyphs.cell(r, !encodable(r, b.codePage), b.bold, false)
		w := g.img.Rect.Dx() * wm
		if x+w > b.ras.dots {
			break // wider than the paper: a printer drops the rest
		}
		line = append(line, placed{g, x})
		x += w
	}
	x0 := 0
	switch b.align {
	case AlignCenter:
		x0 = (b.ras.dots - x) / 2
	case AlignRight:
		x0 = b.ras.dots - x
	}
	bm := NewBitmap(b.ras.dots, fontACellH*hm+rasterGap)
	for _, p := range line {
		c := p.g.img
		w, h := c.Rect.Dx()*wm, c.Rect.Dy()*hm
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				if c.AlphaAt(xx/wm, y/hm).A >= 0x80 {
					bm.Set(x0+p.x+xx, y)
				}
			}
		}
	}
	return b.Raster(bm)
}

// startText starts the bytes of a document for a printer: ESC @, the
// code page, then Chinese mode on a printer with a Chinese font, else
// raster lines for what the code page lacks. It returns how many columns
// each character takes, and whether the document can carry Chinese (a
// Chinese font on the printer, or one here to draw it with).
func startText(p Profile) (b *Builder, c cells, chinese bool) {
	b = &Builder{}
	b.Init()
	if p.CodePage != CodePagePC437 {
		b.CodePage(p.CodePage)
	}
	if p.GB18030 {
		b.ChineseOn()
		return b, cells{chinese: true}, true
	}
	b.RasterText(p.CJK, p.Dots)
	return b, cells{raster: true, codePage: p.CodePage}, p.CJK != nil
}
