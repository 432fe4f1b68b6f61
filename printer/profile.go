package printer

import (
	"fmt"
	"strings"
	"time"

	"github.com/posagent/posagent/fonts"
)

// Paper is a paper roll width.
type Paper string

// Paper widths.
const (
	Paper58 Paper = "58mm"
	Paper80 Paper = "80mm"
)

// CutStyle says how (and whether) the printer cuts after a receipt.
type CutStyle int

// Cut styles. The feed-then-cut forms (GS V 65/66 n) are one command; the
// plain forms are preceded by ESC d FeedBeforeCut, which is what printers
// without a parameterised cut (Sunmi) need.
const (
	CutFeedPartial CutStyle = iota // GS V 66 n: feed n lines, partial cut (the zero value: most printers)
	CutFeedFull                    // GS V 65 n: feed n lines, full cut
	CutPartial                     // ESC d n, GS V 1 (no parameterised cut, e.g. Sunmi)
	CutFull                        // ESC d n, GS V 0
	CutNone                        // ESC d n only: no cutter (tear bar)
)

func (c CutStyle) String() string {
	switch c {
	case CutFeedPartial:
		return "feed-partial"
	case CutFeedFull:
		return "feed-full"
	case CutPartial:
		return "partial"
	case CutFull:
		return "full"
	case CutNone:
		return "none"
	}
	return fmt.Sprintf("CutStyle(%d)", int(c))
}

// DrawerKick configures the cash drawer pulse (ESC p m t1 t2).
type DrawerKick struct {
	Enabled bool
	Pin     int // 2 (m=0, the default) or 5 (m=1)
	OnMS    int // pulse on time in ms (sent as t1 = OnMS/2, default 100 ms)
	OffMS   int // pulse off time in ms (sent as t2 = OffMS/2, default 500 ms)
}

// Profile is what the encoder needs to know about one printer model. It is
// plain data: the device profiles in config fill it; zero fields take the
// defaults of the paper width (see Normalize).
type Profile struct {
	Name          string     // for logs, e.g. "epson-tm-t88"
	Paper         Paper      // 58mm or 80mm (default 80mm)
	Columns       int        // characters per line in font A (default 32 for 58mm, 48 for 80mm)
	Dots          int        // printable width in dots (default 384 / 576; Epson TM-T88: 512)
	NativeQR      bool       // the printer understands GS ( k; else the QR is sent as a GS v 0 raster image
	QRModule      int        // QR module size in dots (default 6 on 80mm, 4 on 58mm)
	GB18030       bool       // supports Chinese double-byte mode (FS &) with GB18030 text
	Cut           CutStyle   // how to cut
	FeedBeforeCut int        // lines fed before the cut (default 4)
	CodePage      int        // ESC t n for single-byte text: 0 PC437 (default), 16 WPC1252
	Drawer        DrawerKick // cash drawer kick after the receipt
	// Location is the time zone receipts print their time in (nil: time.Local).
	Location *time.Location
	// Language is the merchant's choice of receipt labels: English,
	// Chinese, or both (the default is English). Chinese needs GB18030
	// or CJK: with neither a receipt is printed in English.
	Language Language
	// CJK is the font pictures of the receipt (RenderPNG) draw Chinese
	// with; nil leaves Chinese out of them ("(Chinese text omitted)").
	// Without GB18030, Encode draws with it the lines the code page
	// cannot print, as raster images (nil: they print NoFontNote).
	CJK *fonts.CJK
}

// Language says which language a receipt's labels are printed in.
type Language string

// Receipt languages. Wallet names are printed in their own scripts
// whenever the printer has a Chinese font (WeChat Pay 微信支付).
const (
	English   Language = "en"    // the default
	Chinese   Language = "zh"    // Chinese labels only
	Bilingual Language = "en+zh" // each label in English, then Chinese
)

// ParseLanguage accepts "en", "zh", "en+zh" (also "" for en, "zh+en" and
// "both" for en+zh).
func ParseLanguage(s string) (Language, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "en":
		return English, nil
	case "zh", "zh-cn", "zh-hans":
		return Chinese, nil
	case "en+zh", "zh+en", "both":
		return Bilingual, nil
	}
	return "", fmt.Errorf("printer: receipt language %q: want en, zh or en+zh", s)
}

// Code pages the encoder knows how to encode text for (ESC t n).
const (
	CodePagePC437   = 0
	CodePageWPC1252 = 16
)

// Profile58 and Profile80 return the generic profiles for a paper width.
func Profile58() Profile { return Profile{Name: "generic-58mm", Paper: Paper58}.Normalize() }

// Profile80 returns the generic 80 mm profile (576 dots, 48 columns).
func Profile80() Profile { return Profile{Name: "generic-80mm", Paper: Paper80}.Normalize() }

// ProfileFor returns the generic profile for a paper name ("58mm" or "80mm").
func ProfileFor(paper string) (Profile, error) {
	switch Paper(strings.ToLower(strings.TrimSpace(paper))) {
	case Paper58, "58":
		return Profile58(), nil
	case Paper80, "80", "":
		return Profile80(), nil
	}
	return Profile{}, fmt.Errorf("printer: profile: paper %q is not 58mm or 80mm", paper)
}

// Normalize fills zero fields with the defaults of the paper width.
func (p Profile) Normalize() Profile {
	if p.Paper == "" {
		p.Paper = Paper80
	}
	small := p.Paper == Paper58
	if p.Columns <= 0 {
		p.Columns = 48
		if small {
			p.Columns = 32
		}
	}
	if p.Dots <= 0 {
		p.Dots = 576
		if small {
			p.Dots = 384
		}
	}
	if p.QRModule <= 0 {
		p.QRModule = 6
		if p.Dots < 512 {
			p.QRModule = 4
		}
	}
	if p.QRModule > 16 {
		p.QRModule = 16
	}
	if p.FeedBeforeCut <= 0 {
		p.FeedBeforeCut = 4
	}
	if p.Drawer.Enabled {
		if p.Drawer.Pin != 5 {
			p.Drawer.Pin = 2
		}
		if p.Drawer.OnMS <= 0 {
			p.Drawer.OnMS = 100
		}
		if p.Drawer.OffMS <= 0 {
			p.Drawer.OffMS = 500
		}
	}
	return p
}

// Validate reports every problem with an explicit profile at once.
func (p Profile) Validate() error {
	var probs []string
	if p.Paper != "" && p.Paper != Paper58 && p.Paper != Paper80 {
		probs = append(probs, fmt.Sprintf("paper %q is not 58mm or 80mm", p.Paper))
	}
	if p.Columns < 0 || p.Columns > 96 {
		probs = append(probs, fmt.Sprintf("columns %d is outside 1..96", p.Columns))
	}
	if p.Dots < 0 || p.Dots > 1024 {
		probs = append(probs, fmt.Sprintf("dots %d is outside 1..1024", p.Dots))
	}
	if p.QRModule < 0 || p.QRModule > 16 {
		probs = append(probs, fmt.Sprintf("qr module %d is outside 1..16", p.QRModule))
	}
	if p.Cut < CutFeedPartial || p.Cut > CutNone {
		probs = append(probs, fmt.Sprintf("cut style %d is unknown", int(p.Cut)))
	}
	if p.CodePage != CodePagePC437 && p.CodePage != CodePageWPC1252 {
		probs = append(probs, fmt.Sprintf("code page %d is not 0 (PC437) or 16 (WPC1252)", p.CodePage))
	}
	if _, err := ParseLanguage(string(p.Language)); err != nil {
		probs = append(probs, fmt.Sprintf("language %q is not en, zh or en+zh", p.Language))
	}
	if p.Drawer.Enabled && p.Drawer.Pin != 0 && p.Drawer.Pin != 2 && p.Drawer.Pin != 5 {
		probs = append(probs, fmt.Sprintf("drawer pin %d is not 2 or 5", p.Drawer.Pin))
	}
	if len(probs) > 0 {
		return fmt.Errorf("printer: profile %s: %s", p.Name, strings.Join(probs, "; "))
	}
	return nil
}
