package printer

import (
	"bytes"
	"context"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chineseShop is a receipt of a shop whose name, address and footer are
// Chinese, as a new user with a Chinese shop name sets one up.
func chineseShop() Receipt {
	r := sampleReceipt()
	r.Merchant = "枫叶茶馆"
	r.Address = []string{"多伦多国王街123号"}
	r.Footer = []string{"谢谢惠顾，欢迎再来！"}
	r.Wallet = "alipay"
	return r
}

// rasters returns the GS v 0 images in ESC/POS bytes: width in dots
// (whole bytes) and height.
func rasters(t *testing.T, data []byte) [][2]int {
	t.Helper()
	var out [][2]int
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte{0x1D, 'v', '0'})
		if j < 0 {
			return out
		}
		i += j
		if i+8 > len(data) {
			t.Fatalf("GS v 0 at %d is cut short", i)
		}
		wb, h := int(data[i+4])|int(data[i+5])<<8, int(data[i+6])|int(data[i+7])<<8
		out = append(out, [2]int{wb * 8, h})
		i += 8 + wb*h
	}
}

// withoutRasters returns data with the GS v 0 images' dots taken out.
func withoutRasters(data []byte) []byte {
	var out []byte
	for {
		j := bytes.Index(data, []byte{0x1D, 'v', '0'})
		if j < 0 || j+8 > len(data) {
			return append(out, data...)
		}
		wb, h := int(data[j+4])|int(data[j+5])<<8, int(data[j+6])|int(data[j+7])<<8
		out = append(out, data[:j+8]...)
		data = data[min(j+8+wb*h, len(data)):]
	}
}

// TestChineseOnAnyPrinter pins the receipt of a Chinese shop at 58 and
// 80 mm on a printer with a Chinese font (printer.chinese: true, GB18030
// text) and on one without (the default: Chinese sent as raster lines),
// bytes and picture, and reads the shop's name back from both pictures
// with OCR. Without a Chinese font on the printer nothing is printed as
// '?', every raster line is the paper's width, and the paper looks like
// the Chinese printer's.
func TestChineseOnAnyPrinter(t *testing.T) {
	cjk := loadCJK(t)
	r := chineseShop()
	for _, paper := range []Paper{Paper58, Paper80} {
		var pics [2]image.Image
		for i, chinese := range []bool{false, true} {
			name := "cjk-" + string(paper) + map[bool]string{false: "-raster", true: "-gb18030"}[chinese]
			t.Run(name, func(t *testing.T) {
				p := Profile{Paper: paper, GB18030: chinese, Language: Bilingual, Location: time.UTC, CJK: cjk}.Normalize()
				data := Encode(r, p)
				golden(t, name+".bin", data, cjk.Name)
				page := RenderWith(data, InterpreterOptions{Width: p.Dots, CJK: cjk})[0]
				pic, err := page.PNG()
				if err != nil {
					t.Fatal(err)
				}
				golden(t, name+".png", pic, cjk.Name)
				pics[i] = page.Image()
				if page.Omitted != 0 || page.Overflow != 0 {
					t.Errorf("%d characters omitted, %d lines overflow", page.Omitted, page.Overflow)
				}
				if strings.Contains(page.Text(), "?") {
					t.Errorf("a '?' is printed:\n%s", page.Text())
				}
				ras := rasters(t, data)
				if chinese {
					if len(ras) != 1 { // the QR
						t.Errorf("%d raster images with a Chinese font, want the QR only", len(ras))
					}
					return
				}
				if bytes.Contains(withoutRasters(data), []byte{0x1C, 0x26}) {
					t.Error("Chinese mode (FS &) sent to a printer without a Chinese font")
				}
				lines := 0
				for _, wh := range ras[:len(ras)-1] { // the last is the QR
					lines++
					if wh[0] != p.Dots || (wh[1] != 30 && wh[1] != 54) {
						t.Errorf("raster line %dx%d dots, want %d wide, 30 or 54 (double) high", wh[0], wh[1], p.Dots)
					}
				}
				if lines < 5 { // name, address, wallet, labels, footer
					t.Errorf("%d raster lines, want the name, address, wallet, labels and footer", lines)
				}
			})
		}
		if pics[0] != nil && pics[1] != nil {
			if n := diffPixels(pics[0], pics[1]); n != 0 {
				t.Errorf("%s: the raster receipt differs from the Chinese printer's by %d pixels", paper, n)
			}
			for i, pic := range pics {
				// The header (name, address, copy): the rest of the
				// receipt is drawn the same way and would only slow OCR.
				head := pic.(*image.Gray).SubImage(image.Rect(0, 0, pic.Bounds().Dx(), 150))
				if text := ocr(t, head); !strings.Contains(text, "枫叶茶馆") || !strings.Contains(text, "多伦多国王街123号") || !strings.Contains(text, "顾客联") {
					t.Errorf("%s chinese=%v: OCR does not read the shop's name 枫叶茶馆, address and copy:\n%s", paper, i == 1, text)
				}
			}
		}
	}
}

// TestRasterLineWithoutFont: with no CJK font anywhere, a line the code
// page lacks says so, labels stay English, and nothing prints '?'.
func TestRasterLineWithoutFont(t *testing.T) {
	for _, paper := range []Paper{Paper58, Paper80} {
		p := Profile{Paper: paper, Language: Bilingual, Location: time.UTC}.Normalize()
		data := Encode(chineseShop(), p)
		text := Render(data, p.Dots)[0].Text()
		if strings.Contains(text, "?") || strings.Contains(text, "合计") {
			t.Errorf("%s: '?' or Chinese labels without a font:\n%s", paper, text)
		}
		if n := strings.Count(strings.ReplaceAll(text, "\n", " "), "no font here)"); n < 3 { // name, address, footer
			t.Errorf("%s: the note %q is printed %d times, want for the name, address and footer:\n%s", paper, NoFontNote, n, text)
		}
		if len(rasters(t, data)) != 1 {
			t.Errorf("%s: raster lines without a font", paper)
		}
	}
}

// TestRasterLineKeepsCodePage: text the code page has (é in WPC1252)
// stays text; the same text on PC437 without é is drawn, one column per
// character the code page has.
func TestRasterLineKeepsCodePage(t *testing.T) {
	cjk := loadCJK(t)
	var b Builder
	b.Init().CodePage(CodePageWPC1252).RasterText(cjk, 384)
	b.Line("Café")
	if len(rasters(t, b.Bytes())) != 0 || !bytes.Contains(b.Bytes(), []byte{'C', 'a', 'f', 0xE9, '\n'}) {
		t.Errorf("Café on WPC1252 is not text: % x", b.Bytes())
	}
	if w := b.Width("€ 茶"); w != 4 {
		t.Errorf("Width(€ 茶) on WPC1252 = %d, want 4 (€ one column, 茶 two)", w)
	}
	var pc437 Builder
	if w := pc437.Init().RasterText(cjk, 384).Width("€ 茶"); w != 5 {
		t.Errorf("Width(€ 茶) on PC437 = %d, want 5 (€ drawn in a double cell)", w)
	}
	var c Builder
	c.Init().RasterText(cjk, 384).Align(AlignRight).Size(2, 2)
	c.Line("茶")
	ras := rasters(t, c.Bytes())
	if len(ras) != 1 || ras[0] != [2]int{384, 54} {
		t.Fatalf("double-size 茶: rasters %v, want one 384x54", ras)
	}
	page := Render(c.Bytes(), 384)[0]
	img := page.Image()
	minX := img.Rect.Dx()
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			if img.GrayAt(x, y).Y < 0x80 {
				minX = min(minX, x)
			}
		}
	}
	if minX < 384-48 {
		t.Errorf("right-aligned double 茶 starts at x=%d, want within the last 48 dots", minX)
	}
}

// golden compares got with testdata/name (rewritten with -update). The
// pictures and raster lines depend on the CJK font: they are pinned for
// the one scripts/setup installs (fonts-noto-cjk).
func golden(t *testing.T, name string, got []byte, font string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./printer -run TestChineseOnAnyPrinter -update)", err)
	}
	if !bytes.Equal(got, want) {
		out := filepath.Join(t.TempDir(), name)
		os.WriteFile(out, got, 0o644)
		t.Errorf("%s differs from %s (drawn with %s); this one is %s (rerun with -update if intended)", name, path, font, out)
	}
}

// ocr reads an image with tesseract (simplified Chinese and English),
// whitespace removed. scripts/setup --test installs tesseract-ocr and
// tesseract-ocr-chi-sim; without them the test is skipped, under CI it fails.
func ocr(t *testing.T, img image.Image) string {
	t.Helper()
	bin, err := exec.LookPath("tesseract")
	if err == nil {
		var langs []byte
		langs, err = exec.Command(bin, "--list-langs").CombinedOutput()
		if err == nil && !bytes.Contains(langs, []byte("chi_sim")) {
			err = os.ErrNotExist
		}
	}
	if err != nil {
		msg := "no tesseract with chi_sim on this machine, so printed Chinese cannot be read back: run scripts/setup --test (installs tesseract-ocr, tesseract-ocr-chi-sim): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// A white margin around the picture: tesseract passes over text
	// that touches the edge.
	const margin = 32
	b := img.Bounds()
	padded := image.NewGray(image.Rect(0, 0, b.Dx()+2*margin, b.Dy()+2*margin))
	for i := range padded.Pix {
		padded.Pix[i] = 0xFF
	}
	draw.Draw(padded, b.Add(image.Pt(margin-b.Min.X, margin-b.Min.Y)), img, b.Min, draw.Src)
	path := filepath.Join(t.TempDir(), "page.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, padded); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(bin, path, "stdout", "-l", "chi_sim+eng", "--psm", "6").Output()
	if err != nil {
		t.Fatalf("tesseract: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), "")
}

// TestChineseOnVirtualPrinter prints the Chinese shop's receipt over TCP
// to the virtual printer playing a printer with no Chinese font at all
// (no CJK font of its own: VirtualOptions.CJK nil). Every Chinese line
// arrives as raster, so nothing is left out, and OCR reads the shop's
// name off the PNG the printer wrote.
func TestChineseOnVirtualPrinter(t *testing.T) {
	cjk := loadCJK(t)
	for _, paper := range []Paper{Paper58, Paper80} {
		prof := Profile{Paper: paper, Language: Bilingual, Location: time.UTC, CJK: cjk}.Normalize()
		v, addr, _ := startVirtual(t, VirtualOptions{Dir: t.TempDir(), Width: prof.Dots})
		pr := newTCPPrinter(t, addr, prof, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := pr.PrintReceipt(ctx, chineseShop())
		cancel()
		if err != nil {
			t.Fatalf("%s: PrintReceipt: %v", paper, err)
		}
		got := v.Receipts()
		if len(got) != 1 {
			t.Fatalf("%s: %d receipts", paper, len(got))
		}
		page := got[0].Page
		if page.Omitted != 0 || strings.Contains(page.Text(), "?") {
			t.Errorf("%s: %d Chinese characters left out by a printer without a Chinese font, text:\n%s", paper, page.Omitted, page.Text())
		}
		f, err := os.Open(got[0].Path + ".png")
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		head := img.(*image.Gray).SubImage(image.Rect(0, 0, img.Bounds().Dx(), 150))
		if text := ocr(t, head); !strings.Contains(text, "枫叶茶馆") {
			t.Errorf("%s: OCR of the printed receipt does not read 枫叶茶馆:\n%s", paper, text)
		}
	}
}

// TestReportChineseOperatorOnAnyPrinter: a Z report with a Chinese shop
// name and a Chinese operator's name on a printer without a Chinese font
// draws them as raster lines: nothing prints as '?'.
func TestReportChineseOperatorOnAnyPrinter(t *testing.T) {
	cjk := loadCJK(t)
	r := Report{Title: "Z REPORT", Number: "#3", Merchant: "枫叶茶馆", Currency: "CAD",
		Info:     [][2]string{{"Opened by", "王小明"}, {"Lane", "LANE1"}},
		Sections: []ReportSection{{Title: "Sales", Rows: []ReportRow{{Label: "wechat", HasCount: true, Count: 2, Amount: 2500}, {Label: "收银员 王小明", Amount: 2500}}}}}
	for _, paper := range []Paper{Paper58, Paper80} {
		p := Profile{Paper: paper, Location: time.UTC, CJK: cjk}.Normalize()
		data := EncodeReport(r, p)
		page := RenderWith(data, InterpreterOptions{Width: p.Dots, CJK: cjk})[0]
		if strings.Contains(page.Text(), "?") || page.Omitted != 0 || page.Overflow != 0 {
			t.Errorf("%s: '?' or Chinese left out (%d) or overflow (%d):\n%s", paper, page.Omitted, page.Overflow, page.Text())
		}
		if n := len(rasters(t, data)); n < 3 { // the name, the operator, the row, the wallet
			t.Errorf("%s: %d raster lines, want the Chinese ones", paper, n)
		}
		for _, wh := range rasters(t, data) {
			if wh[0] != p.Dots {
				t.Errorf("%s: raster line %d dots wide, want %d", paper, wh[0], p.Dots)
			}
		}
	}
}
