package printer

import (
	"bytes"
	"image"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"
)

// ink counts black dots in a rectangle of the page image.
func ink(img *image.Gray, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.GrayAt(x, y).Y < 0x80 {
				n++
			}
		}
	}
	return n
}

// inkBounds returns the smallest rectangle holding every black dot.
func inkBounds(img *image.Gray) image.Rectangle {
	var r image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.GrayAt(x, y).Y < 0x80 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func TestRenderTextAndAttributes(t *testing.T) {
	var b Builder
	b.Init().Line("plain").Bold(true).Line("bold").Bold(false).Underline(true).Line("under").Underline(false).
		Double(true).Line("BIG").Double(false).Align(AlignRight).Line("right").Align(AlignCenter).Line("mid")
	pages := Render(b.Bytes(), 384)
	if len(pages) != 1 {
		t.Fatalf("%d pages, want 1", len(pages))
	}
	p := pages[0]
	want := []string{"plain", "bold", "under", "BIG", "right", "mid"}
	if !slices.Equal(p.Lines, want) {
		t.Fatalf("lines %q, want %q", p.Lines, want)
	}
	if p.Cut {
		t.Errorf("Cut = true without a cut command")
	}
	img := p.Image()
	// Each line is a block; find the blocks' y ranges by replaying heights.
	y := 8
	rows := map[string]image.Rectangle{}
	for i, bl := range p.blocks {
		rows[want[i]] = image.Rect(0, y, 384, y+bl.h)
		y += bl.h
	}
	if rows["BIG"].Dy() <= rows["plain"].Dy() {
		t.Errorf("double-size line height %d not taller than plain %d", rows["BIG"].Dy(), rows["plain"].Dy())
	}
	plainInk := inkBounds(img.SubImage(rows["plain"]).(*image.Gray))
	bigInk := inkBounds(img.SubImage(rows["BIG"]).(*image.Gray))
	if bigInk.Dx() < 2*3*fontACellW-fontACellW {
		t.Errorf("double-size text %d dots wide, want about %d", bigInk.Dx(), 2*3*fontACellW)
	}
	if plainInk.Min.X > 2 {
		t.Errorf("left-aligned text starts at x=%d", plainInk.Min.X)
	}
	if r := inkBounds(img.SubImage(rows["right"]).(*image.Gray)); r.Max.X < 384-3 {
		t.Errorf("right-aligned text ends at x=%d, want near 384", r.Max.X)
	}
	if r := inkBounds(img.SubImage(rows["mid"]).(*image.Gray)); r.Min.X < 384/2-40 || r.Max.X > 384/2+40 {
		t.Errorf("centred text spans x=%d..%d, want around 192", r.Min.X, r.Max.X)
	}
	if ink(img, rows["bold"]) <= ink(img, rows["plain"])*4/5 {
		t.Errorf("bold line has no more ink (%d) than a plain one (%d)", ink(img, rows["bold"]), ink(img, rows["plain"]))
	}
	// Underline: a solid run along the bottom of the underlined line.
	u := rows["under"]
	under := 0
	for yy := u.Min.Y; yy < u.Max.Y; yy++ {
		run := ink(img, image.Rect(0, yy, 5*fontACellW, yy+1))
		under = max(under, run)
	}
	if under < 5*fontACellW-1 {
		t.Errorf("no underline row under 'under' (longest row %d dots)", under)
	}
}

func TestRenderSplitsAtCutsAndSkipsUnknown(t *testing.T) {
	var b Builder
	b.Init().Line("first").Cut(CutFeedPartial, 3)
	b.Raw(0x1D, 0x28, 0x4C, 0x04, 0x00, 1, 2, 3, 4) // GS ( L with 4 parameter bytes: skipped whole
	b.Raw(0x1B, 0x7E)                               // unknown ESC: skipped as two bytes
	b.Raw(0x1D, 0x6B, 0x49, 0x03, 'A', 'B', 'C')    // CODE128 barcode: skipped by its length
	b.Raw(0x1B, 0x2A, 0x00, 0x02, 0x00, 0xFF, 0xFF) // ESC * bit image, 2 columns: skipped
	b.Line("second").Cut(CutFull, 1)
	b.Line("tail")
	pages := Render(b.Bytes(), 576)
	if len(pages) != 3 {
		t.Fatalf("%d pages, want 3 (two cuts and a tail)", len(pages))
	}
	if !pages[0].Cut || !pages[1].Cut || pages[2].Cut {
		t.Errorf("cut flags %v %v %v, want true true false", pages[0].Cut, pages[1].Cut, pages[2].Cut)
	}
	got := [][]string{pages[0].Lines, pages[1].Lines, pages[2].Lines}
	if got[0][0] != "first" || !slices.Contains(got[1], "second") || got[2][0] != "tail" {
		t.Errorf("pages' lines %q", got)
	}
	for _, l := range got[1] {
		if strings.ContainsAny(l, "\x01\x02ABC") {
			t.Errorf("skipped command leaked into text: %q", l)
		}
	}
	if !bytes.Equal(slices.Concat(pages[0].Raw, pages[1].Raw, pages[2].Raw), b.Bytes()) {
		t.Errorf("pages' raw bytes do not add up to the input")
	}
}

func TestInterpreterByteAtATime(t *testing.T) {
	p := Profile{NativeQR: true, GB18030: true, Location: time.UTC}
	data := Encode(sampleReceipt(), p)
	whole := Render(data, 576)
	in := NewInterpreter(InterpreterOptions{Width: 576})
	for i := range data {
		in.Write(data[i : i+1])
	}
	in.Close()
	split := in.Pages()
	if len(whole) != 1 || len(split) != 1 {
		t.Fatalf("pages: whole %d, split %d, want 1 each", len(whole), len(split))
	}
	if !slices.Equal(whole[0].Lines, split[0].Lines) || !slices.Equal(whole[0].QR, split[0].QR) {
		t.Errorf("byte-at-a-time differs:\n%q\n%q", whole[0].Lines, split[0].Lines)
	}
	if !bytes.Equal(whole[0].Image().Pix, split[0].Image().Pix) {
		t.Errorf("byte-at-a-time image differs")
	}
}

func TestRenderChineseText(t *testing.T) {
	r := sampleReceipt()
	r.Merchant = "枫茶屋"
	p := Profile{Paper: Paper58, GB18030: true, Location: time.UTC}
	pages := Render(Encode(r, p), 384)
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	text := pages[0].Text()
	for _, want := range []string{"枫茶屋", "WeChat Pay 微信支付", "12.50 CAD"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// Without Chinese support and without a font to draw it, the same
	// receipt says so in place of the name, in English only, never '?'.
	plain := Render(Encode(r, Profile{Paper: Paper58, Location: time.UTC}), 384)[0].Text()
	if strings.Contains(plain, "微信") || strings.Contains(plain, "?") || !strings.Contains(plain, "(Chinese text:") {
		t.Errorf("english profile text:\n%s", plain)
	}
}

func TestRenderQRNativeAndRaster(t *testing.T) {
	for _, native := range []bool{true, false} {
		for _, paper := range []Paper{Paper58, Paper80} {
			p := Profile{Paper: paper, NativeQR: native, Location: time.UTC}.Normalize()
			r := sampleReceipt()
			pages := Render(Encode(r, p), p.Dots)
			if len(pages) != 1 {
				t.Fatalf("%d pages", len(pages))
			}
			if got := decodeQR(t, pages[0].Image()); got != r.QR {
				t.Errorf("native=%v %s: QR decodes to %q, want %q", native, paper, got, r.QR)
			}
			if native && (len(pages[0].QR) != 1 || pages[0].QR[0] != r.QR) {
				t.Errorf("native QR data recorded %q", pages[0].QR)
			}
		}
	}
}

func TestInterpreterStatusRequests(t *testing.T) {
	var asked []byte
	in := NewInterpreter(InterpreterOptions{OnStatus: func(n byte) { asked = append(asked, n) }})
	// DLE EOT inside raster data is data, not a request.
	in.Write([]byte{0x10, 0x04, 0x01, 0x1D, 0x76, 0x30, 0x00, 0x03, 0x00, 0x01, 0x00, 0x10, 0x04, 0x02, 0x10, 0x04})
	if !slices.Equal(asked, []byte{1}) {
		t.Errorf("after a split request: asked %v, want [1]", asked)
	}
	in.Write([]byte{0x04})
	if !slices.Equal(asked, []byte{1, 4}) {
		t.Errorf("asked %v, want [1 4]", asked)
	}
	if p := in.Close(); p == nil || !p.Printed {
		t.Errorf("a raster line printed nothing")
	}
}

func TestInterpreterIncompleteAndOversized(t *testing.T) {
	in := NewInterpreter(InterpreterOptions{Width: 384})
	in.Write([]byte("ok\n"))
	in.Write([]byte{0x1D, 0x28, 0x6B, 0xFF, 0xFF, 0x31}) // store of 65535 bytes that never comes
	if p := in.Close(); p == nil || p.Lines[0] != "ok" {
		t.Fatalf("page before an incomplete command lost")
	}
	// A raster image declaring 65535 x 65535 bytes is skipped, not buffered.
	in = NewInterpreter(InterpreterOptions{Width: 384})
	in.Write([]byte{0x1D, 0x76, 0x30, 0x00, 0xFF, 0xFF, 0xFF, 0xFF})
	in.Write(bytes.Repeat([]byte{0xAA}, 1000))
	if len(in.buf) != 0 || in.skip != 0xFFFF*0xFFFF-1000 {
		t.Errorf("oversized raster: buffered %d, skip %d", len(in.buf), in.skip)
	}
	if p := in.Close(); p != nil {
		t.Errorf("skipped image printed something: %q", p.Lines)
	}
}

func TestRenderHeightLimit(t *testing.T) {
	in := NewInterpreter(InterpreterOptions{Width: 384, MaxHeight: 300})
	in.Write(bytes.Repeat([]byte("line\n"), 100))
	p := in.Close()
	if p == nil || !p.Truncated || p.Image().Bounds().Dy() > 300+16 {
		t.Errorf("a 100-line page under a 300-dot limit: %+v", p)
	}
}

func TestRenderPNG(t *testing.T) {
	r := sampleReceipt()
	b, err := RenderPNG(r, Profile58())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if img.Bounds().Dx() != 384 {
		t.Errorf("width %d, want 384", img.Bounds().Dx())
	}
	if got := decodeQR(t, img); got != r.QR {
		t.Errorf("QR %q, want %q", got, r.QR)
	}
}

func TestRenderBoldHasMoreInk(t *testing.T) {
	var b Builder
	b.Line("Total 12.50").Bold(true).Line("Total 12.50")
	p := Render(b.Bytes(), 576)[0]
	img := p.Image()
	h := p.blocks[0].h
	plain := ink(img, image.Rect(0, 8, 576, 8+h))
	bold := ink(img, image.Rect(0, 8+h, 576, 8+2*h))
	if plain == 0 || bold < plain*11/10 {
		t.Errorf("ink: plain %d, bold %d; want bold at least 10%% more", plain, bold)
	}
}

// FuzzInterpreter: any bytes, in any split, never panic, and every page
// renders to an image of the paper width.
func FuzzInterpreter(f *testing.F) {
	for _, tc := range goldenCases() {
		f.Add(Encode(tc.receipt, tc.profile), uint8(7))
	}
	f.Add([]byte{0x1D, 0x76, 0x30, 0x03, 0x02, 0x00, 0x02, 0x00, 1, 2, 3, 4}, uint8(1))
	f.Add([]byte{0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30}, uint8(3))
	f.Add([]byte{0x1C, 0x26, 0x81, 0x30, 0x81, 0x30, 0xFF, 0x80, 0x1D, 0x21, 0x77, 'W'}, uint8(2))
	f.Add([]byte{0x1B, 0x26, 0x03, 0x20, 0x7E, 0x0C, 0x1B, 0x44, 1, 2, 3}, uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		in := NewInterpreter(InterpreterOptions{Width: 384, MaxHeight: 4000, OnStatus: func(byte) {}})
		step := int(chunk%16) + 1
		for i := 0; i < len(data); i += step {
			in.Write(data[i:min(i+step, len(data))])
		}
		in.Close()
		for _, p := range in.Pages() {
			img := p.Image()
			if img.Bounds().Dx() != 384 || img.Bounds().Dy() > 4000+16 {
				t.Fatalf("page image %v", img.Bounds())
			}
		}
	})
}
