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
)

// Character cells in dots, as on Epson printers at 203 dpi.
const (
	fontACellW, fontACellH = 12, 24
	fontBCellW, fontBCellH = 9, 17
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
}

// glyphCache renders characters into cells with Go Mono and keeps them.
// It belongs to one interpreter (not safe for concurrent use).
type glyphCache struct {
	faces map[[2]bool]font.Face // [bold, fontB]
	cells map[glyphKey]*image.Alpha
}

func newGlyphCache() *glyphCache {
	return &glyphCache{faces: map[[2]bool]font.Face{}, cells: map[glyphKey]*image.Alpha{}}
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

// cell returns the character's cell: cellW x cellH, or twice as wide for
// a wide (double-byte) character. A character the font lacks (Go Mono has
// no CJK glyphs) is drawn as an empty box.
func (g *glyphCache) cell(r rune, wide, bold, fontB bool) *image.Alpha {
	k := glyphKey{r, bold, fontB}
	if c, ok := g.cells[k]; ok {
		return c
	}
	cw, ch := fontACellW, fontACellH
	if fontB {
		cw, ch = fontBCellW, fontBCellH
	}
	if wide {
		cw = ch // CJK cells are square (24 x 24 in font A)
	}
	c := image.NewAlpha(image.Rect(0, 0, cw, ch))
	face := g.face(bold, fontB)
	has := false
	if face != nil {
		_, has = face.GlyphAdvance(r)
	}
	switch {
	case r == ' ':
	case face != nil && has && !wide:
		m := face.Metrics()
		base := (ch + m.Ascent.Ceil() - m.Descent.Ceil()) / 2
		d := &font.Drawer{Dst: c, Src: image.Opaque, Face: face, Dot: fixed.P(0, base)}
		d.DrawString(string(r))
	default: // a box: the glyph is missing (e.g. CJK in Go Mono)
		for x := 2; x < cw-2; x++ {
			c.SetAlpha(x, 2, opaque)
			c.SetAlpha(x, ch-3, opaque)
		}
		for y := 2; y < ch-2; y++ {
			c.SetAlpha(2, y, opaque)
			c.SetAlpha(cw-3, y, opaque)
		}
	}
	g.cells[k] = c
	return c
}

var _ draw.Image = (*image.Alpha)(nil)

var opaque = color.Alpha{A: 0xFF}
