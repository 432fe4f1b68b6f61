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

	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/money"
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
	// CJK draws Chinese. Nil: frames are English only, and large ones say
	// "(Chinese text omitted)".
	CJK *fonts.CJK
	// Language is which language a screen shows first: "en" (default),
	// "zh", or "auto" (see PrimaryLanguage); ShopLanguage is auto's
	// language for screens that are not WeChat Pay or Alipay (default "en").
	Language, ShopLanguage string
	// IdleQR is the merchant's static QR: the idle screen shows it beside
	// the shop's name and "Scan to pay us" ("" none).
	IdleQR string
}

// OmittedNote is shown on a large frame whose Chinese was left out for
// want of a CJK font.
const OmittedNote = "(Chinese text omitted)"

// Renderer draws Screens as grey images: text with golang.org/x/image fonts
// (basicfont 7x13 on small screens, Go Regular/Bold at larger sizes, the
// CJK font for Chinese) and, on the qr screen, the QR as large as fits at
// an integer module scale. Large frames show each text in the primary
// language with the other language smaller beneath it; small frames
// (under 120 pixels high) show the primary language only. Safe for
// concurrent use.
type Renderer struct {
	w, h       int
	merchant   string
	lang, shop string
	cjk        *fonts.CJK
	idleQR     string

	mu       sync.Mutex // mu guards faces and cjkFaces (opentype faces are not safe for concurrent use)
	regular  *opentype.Font
	bold     *opentype.Font
	faces    map[faceKey]font.Face
	cjkFaces map[faceKey]font.Face
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
	lang, err := ParseLanguage(o.Language)
	if err != nil {
		return nil, err
	}
	shop, err := ParseLanguage(o.ShopLanguage)
	if err != nil || shop == LangAuto {
		return nil, fmt.Errorf("display: frame: shop language %q: want en or zh", o.ShopLanguage)
	}
	reg, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("display: frame: font: %w", err)
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("display: frame: font: %w", err)
	}
	return &Renderer{w: o.Width, h: o.Height, merchant: o.MerchantName, lang: lang, shop: shop, cjk: o.CJK, idleQR: o.IdleQR,
		regular: reg, bold: bold, faces: map[faceKey]font.Face{}, cjkFaces: map[faceKey]font.Face{}}, nil
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
	content := ""
	switch {
	case s.Kind == KindQR:
		content = s.CodeURL
	case s.Kind == KindIdle:
		content = r.idleQR
	}
	if content != "" {
		if m, err := QRMatrix(content); err == nil {
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

// text is one text of a screen in both languages; shared texts (the
// amount, the merchant's name) are the same in both. A "\n" in the English
// text breaks the line on small frames and is a space on large ones.
type text struct {
	en, zh string
	size   int
	bold   bool
	shared bool
}

// screenTexts is what each screen says, largest first.
func (r *Renderer) screenTexts(s Screen) []text {
	amount := strings.TrimSpace(s.Currency + " " + money.Amount(s.Amount+s.Tip).Format(s.Currency))
	money := func(size int, bold bool) text { return text{en: amount, size: size, bold: bold, shared: true} }
	msg := func(m string, size int) []text {
		if m == "" {
			return nil
		}
		return []text{{en: m, zh: messageZH(m), size: size}}
	}
	// tip is the line under the total when there is a tip: amount + tip.
	tip := func() []text {
		if s.Tip == 0 {
			return nil
		}
		return []text{{en: TipLine(s), zh: "含小费", size: 5}}
	}
	switch s.Kind {
	case KindAmountDue:
		return append(append([]text{{en: "Amount due", zh: "应付金额", size: 6}, money(16, true)}, tip()...), msg(s.Message, 6)...)
	case KindScanPrompt:
		return append(append([]text{money(16, true)}, tip()...), text{en: "Please show your\npayment code", zh: "请出示付款码", size: 7})
	case KindQR:
		return append(append([]text{money(12, true)}, tip()...), text{en: "Scan with\n" + WalletName(s.Wallet), zh: "请使用" + walletZH(s.Wallet) + "扫码", size: 7, bold: true})
	case KindPaid:
		return []text{{en: "PAID", zh: "支付成功", size: 16, bold: true}, {en: "Thank you", zh: "谢谢惠顾", size: 8}, money(7, false)}
	case KindFailed:
		return append(append([]text{{en: "DECLINED", zh: "支付失败", size: 14, bold: true}}, msg(s.Message, 6)...), money(7, false))
	case KindCancelled:
		return []text{{en: "CANCELLED", zh: "支付已取消", size: 14, bold: true}, money(7, false)}
	}
	if r.idleQR != "" {
		// The static QR is drawn beside: the shop's name and "scan to pay us".
		scan := text{en: MsgScanToPayUs, zh: "扫码向我们付款", size: 8, bold: true}
		if r.merchant == "" {
			return []text{scan}
		}
		return []text{{en: r.merchant, size: 10, bold: true, shared: true}, scan}
	}
	if r.merchant == "" {
		return []text{{en: "Welcome", zh: "欢迎光临", size: 12, bold: true}}
	}
	return []text{{en: r.merchant, size: 12, bold: true, shared: true}, {en: "Welcome", zh: "欢迎光临", size: 7}}
}

// lines lays out a screen's texts in its primary language (see
// PrimaryLanguage), with the other language beneath on large frames.
// Without a CJK font Chinese is left out: English is primary, and a large
// frame ends with OmittedNote.
func (r *Renderer) lines(s Screen) []line {
	small := r.h < smallFrame
	zhFirst := PrimaryLanguage(r.lang, r.shop, s) == LangZH && r.cjk != nil
	var out []line
	omitted := false
	add := func(t string, size int, bold bool) {
		if r.cjk == nil && hasCJK(t) {
			omitted = true
			t = strings.TrimSpace(stripCJK(t))
		}
		if t != "" {
			out = append(out, line{t, size, bold})
		}
	}
	for _, t := range r.screenTexts(s) {
		first, second := t.en, t.zh
		if zhFirst && t.zh != "" {
			first, second = t.zh, t.en
		}
		if t.shared {
			second = ""
		}
		if small {
			for _, part := range strings.Split(first, "\n") {
				add(part, t.size, t.bold)
			}
			continue
		}
		add(strings.ReplaceAll(first, "\n", " "), t.size, t.bold)
		if second != "" {
			add(strings.ReplaceAll(second, "\n", " "), max(t.size*6/10, 4), false)
		}
	}
	if omitted && !small {
		out = append(out, line{OmittedNote, 4, false})
	}
	return out
}

// messagesZH are the Chinese forms of the status lines and failure reasons.
var messagesZH = map[string]string{
	MsgScanPrompt: "请出示付款码", MsgCheckingPay: "正在确认支付", MsgPreparingQR: "正在生成二维码",
	MsgQRExpired: "二维码已过期", MsgConnecting: "正在连接支付服务", MsgPaid: "支付成功，谢谢",
	MsgCancelled: "支付已取消", MsgDeclined: "支付被拒绝", MsgCheckingEarlier: "请稍候，正在核实您之前的付款",
	MsgConfirmOnPhone:      "请在手机上确认付款",
	"invalid payment code": "付款码无效", "payment code expired": "付款码已过期",
	"payment service unreachable":                                      "无法连接支付服务",
	"payment code expired before the payment service could be reached": "付款码在连接支付服务前已过期",
}

// messageZH returns the Chinese form of a status line, "" when there is none.
func messageZH(m string) string { return messagesZH[m] }

// MessageChinese returns the Chinese form of a Screen's Message ("" for a
// message it does not know, such as a gateway's own reason).
func MessageChinese(m string) string { return messageZH(m) }

// WalletNameChinese is a wallet's name in Chinese (微信支付, 支付宝, 银联云闪付).
func WalletNameChinese(w string) string { return walletZH(w) }

// walletZH is a wallet's name in Chinese.
func walletZH(w string) string {
	switch w {
	case "wechat":
		return "微信支付"
	case "alipay":
		return "支付宝"
	case "unionpay":
		return "银联云闪付"
	}
	return WalletName(w)
}

func hasCJK(s string) bool {
	for _, r := range s {
		if fonts.IsCJK(r) {
			return true
		}
	}
	return false
}

func stripCJK(s string) string {
	return strings.Map(func(r rune) rune {
		if fonts.IsCJK(r) {
			return -1
		}
		return r
	}, s)
}

// textFace draws text with a Latin face and, for CJK characters, the CJK face.
type textFace struct {
	latin, cjk font.Face // cjk may be nil
}

func (f textFace) faceFor(r rune) font.Face {
	if f.cjk != nil && fonts.IsCJK(r) {
		return f.cjk
	}
	return f.latin
}

func (f textFace) measure(s string) int {
	var w fixed.Int26_6
	for _, r := range s {
		a, _ := f.faceFor(r).GlyphAdvance(r)
		w += a
	}
	return w.Ceil()
}

func (f textFace) draw(img draw.Image, x, y int, s string) {
	dot := fixed.P(x, y)
	for _, r := range s {
		face := f.faceFor(r)
		d := font.Drawer{Dst: img, Src: image.Black, Face: face, Dot: dot}
		d.DrawString(string(r))
		dot = d.Dot
	}
}

// drawLines centres ls vertically and horizontally in area. On large
// frames sizes are percent of the frame height, shrunk until each line fits
// the width; on small frames every line uses the 7x13 bitmap font (13
// pixel Chinese) and lines that do not fit the height are dropped from the end.
func (r *Renderer) drawLines(img *image.Gray, area image.Rectangle, ls []line) {
	type placed struct {
		face   textFace
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
		f := textFace{latin: basicfont.Face7x13, cjk: r.cjkFace(false, 12)}
		text := l.text
		if r.h >= smallFrame {
			px := r.h * l.size / 100
			for px > 8 {
				f = r.textFace(l.bold, px)
				if f.measure(text) <= area.Dx()-8 {
					break
				}
				px = px * 9 / 10
			}
			f = r.textFace(l.bold, px)
		}
		text = truncate(f, text, area.Dx()-4)
		m := f.latin.Metrics()
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
		wd := p.face.measure(p.text)
		p.face.draw(img, area.Min.X+(area.Dx()-wd)/2, y+p.ascent, p.text)
		y += p.height + gap
	}
}

func (r *Renderer) textFace(bold bool, px int) textFace {
	return textFace{latin: r.face(bold, px), cjk: r.cjkFace(bold, px)}
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

// cjkFace returns a cached CJK face, nil without a CJK font. With mu held.
func (r *Renderer) cjkFace(bold bool, px int) font.Face {
	if r.cjk == nil {
		return nil
	}
	k := faceKey{bold, px}
	if f, ok := r.cjkFaces[k]; ok {
		return f
	}
	src := r.cjk.Regular
	if bold && r.cjk.Bold != nil {
		src = r.cjk.Bold
	}
	f, err := opentype.NewFace(src, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil
	}
	r.cjkFaces[k] = f
	return f
}

// truncate shortens text with "..." until it fits width pixels.
func truncate(f textFace, text string, width int) string {
	if f.measure(text) <= width {
		return text
	}
	rs := []rune(text)
	for len(rs) > 0 {
		rs = rs[:len(rs)-1]
		t := string(rs) + "..."
		if f.measure(t) <= width {
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
