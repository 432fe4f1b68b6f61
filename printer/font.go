package printer

import (
	"image"
	"image/color"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/posagent/posagent/fonts"
)

// Character cells in dots, as on Epson printers at 203 dpi. A double-byte
// (Chinese) character takes two cells: 24 x 24 in font A, 18 x 17 in font B.
const (
	fontACellW, fontACellH = 12, 24
	fontBCellW, fontBCellH = 9, 17
)

// CJK glyph sizes in pixels per em: an ideograph fills about one em, so it
// nearly fills its double cell. cjkAscent is the part of the em above the
// baseline in CJK fonts (Noto Sans CJK: 0.88).
const (
	cjkSizeA, cjkSizeB = 22, 16
	cjkAscent          = 0.88
)

// parsedFonts is an immutable cache of the parsed Go Mono fonts (regular,
// bold). Parsing is deterministic and never fails for the embedded TTFs.
var parsedFonts = sync.OnceValues(func() (*opentype.Font, *opentype.Font) {
	r, err1 := opentype.Parse(gomono.TTF)
	b, err2 := opentype.Parse(gomonobold.TTF)
	if err1 != nil || err2 != nil {
		return nil, nil
	}
	return r, b
})

// glyphKey identifies a rendered character cell.
type glyphKey struct {
	r     rune
	bold  bool
	fontB bool
	wide  bool
}

// glyph is a rendered cell; omitted is set when it is blank because no CJK
// font was available to draw it.
type glyph struct {
	img     *image.Alpha
	omitted bool
}

// glyphCache renders characters into cells and keeps them: Latin text with
// Go Mono (one cell), double-byte characters with the CJK font (two cells).
// It belongs to one interpreter (not safe for concurrent use).
type glyphCache struct {
	cjk      *fonts.CJK            // nil: no CJK font, Chinese is omitted
	faces    map[[2]bool]font.Face // Go Mono [bold, fontB]
	cjkFaces map[[2]bool]font.Face // CJK [bold, fontB]
	cells    map[glyphKey]glyph
}

func newGlyphCache(cjk *fonts.CJK) *glyphCache {
	return &glyphCache{cjk: cjk, faces: map[[2]bool]font.Face{}, cjkFaces: map[[2]bool]font.Face{}, cells: map[glyphKey]glyph{}}
}

func (g *glyphCache) face(bold, fontB bool) font.Face {
	k := [2]bool{bold, fontB}
	if f, ok := g.faces[k]; ok {
		return f
	}
	reg, bf := parsedFonts()
	f := reg
	if bold {
		f = bf
	}
	var face font.Face
	if f != nil {
		size := 20.0 // Go Mono advances 0.6 em: 12 dots at 20 px
		if fontB {
			size = 15.0 // 9 dots
		}
		face, _ = opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	}
	g.faces[k] = face
	return face
}

// cjkFace returns the CJK face, and whether bold must be drawn by hand
// (the system has no bold CJK file).
func (g *glyphCache) cjkFace(bold, fontB bool) (font.Face, bool) {
	fake := bold && g.cjk.Bold == nil
	k := [2]bool{bold && !fake, fontB}
	if f, ok := g.cjkFaces[k]; ok {
		return f, fake
	}
	src := g.cjk.Regular
	if k[0] {
		src = g.cjk.Bold
	}
	size := float64(cjkSizeA)
	if fontB {
		size = cjkSizeB
	}
	f, err := opentype.NewFace(src, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		f = nil
	}
	g.cjkFaces[k] = f
	return f, fake
}

// cell returns the character's cell: cellW x cellH, or twice as wide for
// a wide (double-byte) character. A wide character is drawn with the CJK
// font; without one, a CJK character is left blank and reported omitted.
// A character no font has is drawn as an empty box, as printers do.
func (g *glyphCache) cell(r rune, wide, bold, fontB bool) glyph {
	k := glyphKey{r, bold, fontB, wide}
	if c, ok := g.cells[k]; ok {
		return c
	}
	cw, ch := fontACellW, fontACellH
	if fontB {
		cw, ch = fontBCellW, fontBCellH
	}
	if wide {
		cw *= 2
	}
	c := glyph{img: image.NewAlpha(image.Rect(0, 0, cw, ch))}
	latin := g.face(bold, fontB)
	hasLatin := false
	if latin != nil {
		_, hasLatin = latin.GlyphAdvance(r)
	}
	switch {
	case r == ' ' || r == 0x3000: // space, ideographic space
	case wide && g.cjk.Has(r):
		f, fake := g.cjkFace(bold, fontB)
		if f == nil {
			box(c.img)
			break
		}
		size := cjkSizeA
		if fontB {
			size = cjkSizeB
		}
		adv, _ := f.GlyphAdvance(r)
		x := (cw - adv.Round()) / 2
		base := (ch-size)/2 + int(cjkAscent*float64(size)+0.5)
		drawGlyph(c.img, f, r, x, base)
		if fake {
			drawGlyph(c.img, f, r, x+1, base)
		}
	case wide && g.cjk == nil && (fonts.IsCJK(r) || !hasLatin):
		c.omitted = true
	case hasLatin:
		m := latin.Metrics()
		base := (ch + m.Ascent.Ceil() - m.Descent.Ceil()) / 2
		x := 0
		if wide { // a symbol from a double-byte code drawn with Go Mono: centred
			adv, _ := latin.GlyphAdvance(r)
			x = (cw - adv.Round()) / 2
		}
		drawGlyph(c.img, latin, r, x, base)
	default: // a box: no font has the glyph
		box(c.img)
	}
	g.cells[k] = c
	return c
}

func drawGlyph(dst draw.Image, f font.Face, r rune, x, base int) {
	d := &font.Drawer{Dst: dst, Src: image.Opaque, Face: f, Dot: fixed.P(x, base)}
	d.DrawString(string(r))
}

// box draws the missing-glyph box into a cell.
func box(c *image.Alpha) {
	cw, ch := c.Rect.Dx(), c.Rect.Dy()
	for x := 2; x < cw-2; x++ {
		c.SetAlpha(x, 2, opaque)
		c.SetAlpha(x, ch-3, opaque)
	}
	for y := 2; y < ch-2; y++ {
		c.SetAlpha(2, y, opaque)
		c.SetAlpha(cw-3, y, opaque)
	}
}

var _ draw.Image = (*image.Alpha)(nil)

var opaque = color.Alpha{A: 0xFF}
