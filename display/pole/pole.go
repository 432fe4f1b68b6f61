package pole

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/unicode/norm"

	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/money"
)

// Width is the number of characters on each of the two lines.
const Width = 20

// Dialect is a pole display command set. Its encoders are pure.
type Dialect interface {
	// Name is the configuration name ("epson", "cd5220").
	Name() string
	// Init resets the display, clears it and hides the cursor.
	Init() []byte
	// Frame writes both lines in full (each padded or truncated to Width,
	// non-ASCII removed), overwriting whatever was shown.
	Frame(lines [2]string) []byte
}

// Compile-time interface checks.
var (
	_ Dialect = EpsonDMD{}
	_ Dialect = CD5220{}
)

// DialectNames lists the names DialectByName accepts, canonical first.
func DialectNames() []string { return []string{"epson", "cd5220"} }

// DialectByName returns the dialect for a configuration value: "epson"
// (also "dmd", "epson-dmd", "esc/pos") or "cd5220".
func DialectByName(name string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "epson", "dmd", "dm-d", "epson-dmd", "esc/pos", "escpos":
		return EpsonDMD{}, nil
	case "cd5220":
		return CD5220{}, nil
	}
	return nil, fmt.Errorf("pole: dialect %q: want one of %s", name, strings.Join(DialectNames(), ", "))
}

// Command bytes.
const (
	esc = 0x1B
	us  = 0x1F
	ff  = 0x0C // clear (CLR)
	vt  = 0x0B // home (HOM)
	cr  = 0x0D
)

// EpsonDMD is the Epson DM-D command set (DM-D110, DM-D210 and the many
// "ESC/POS mode" pole displays).
//
//	1B 40        ESC @     initialise
//	1F 01        US MD1    overwrite mode (no scrolling when a line is full)
//	1F 43 00     US C 0    cursor off
//	0C           CLR       clear
//	0B           HOM       cursor home (column 1, line 1)
//	1F 24 x y    US $ x y  cursor to column x (1-20), line y (1-2)
type EpsonDMD struct{}

func (EpsonDMD) Name() string { return "epson" }

func (EpsonDMD) Init() []byte {
	return []byte{esc, '@', us, 0x01, us, 'C', 0x00, ff}
}

func (EpsonDMD) Frame(lines [2]string) []byte {
	b := make([]byte, 0, 2*Width+5)
	b = append(b, vt)
	b = append(b, Text(lines[0])...)
	b = append(b, us, '$', 1, 2)
	b = append(b, Text(lines[1])...)
	return b
}

// CD5220 is the CD5220 "standard mode" command set, common on generic VFD
// and LCD pole displays. With GB2312 set (models with a Chinese font) the
// lines are written as GB2312 double-byte text (TextGB2312), so Chinese
// can be shown; without it, as Text.
//
//	1B 40                ESC @      initialise
//	0C                   CLR        clear, leave string mode
//	1B 5F 00             ESC _ 0    cursor off
//	1B 51 41 [20] 0D     ESC Q A    write the upper line (string mode)
//	1B 51 42 [20] 0D     ESC Q B    write the lower line (string mode)
//
// In string mode the display accepts only ESC Q A/B, CLR and CAN, so Frame
// uses nothing else.
type CD5220 struct {
	GB2312 bool // the display has a GB2312 Chinese font
}

// ChineseCapable is the optional ability of a dialect to show Chinese.
type ChineseCapable interface {
	Chinese() bool
}

var _ ChineseCapable = CD5220{}

func (CD5220) Name() string { return "cd5220" }

// Chinese reports whether the display was declared to have a GB2312 font.
func (c CD5220) Chinese() bool { return c.GB2312 }

func (CD5220) Init() []byte {
	return []byte{esc, '@', ff, esc, '_', 0x00}
}

func (c CD5220) Frame(lines [2]string) []byte {
	text := Text
	if c.GB2312 {
		text = TextGB2312
	}
	b := make([]byte, 0, 2*Width+8)
	b = append(b, esc, 'Q', 'A')
	b = append(b, text(lines[0])...)
	b = append(b, cr, esc, 'Q', 'B')
	b = append(b, text(lines[1])...)
	b = append(b, cr)
	return b
}

// TextGB2312 is Text for a display with a GB2312 font: printable ASCII as
// one byte, a character of GB2312 (Chinese, full-width punctuation) as two
// bytes, both from 0xA1 to 0xFE, so no byte of it can be a command; it
// takes two of the 20 columns. Other characters are dropped, a Chinese
// character that would pass column 20 too, and the line is padded with
// spaces to exactly 20 columns (bytes).
func TextGB2312(s string) string {
	enc := simplifiedchinese.GBK.NewEncoder()
	b := make([]byte, 0, Width)
	for _, r := range norm.NFC.String(s) {
		if len(b) == Width {
			break
		}
		switch {
		case r >= 0x20 && r < 0x7F:
			b = append(b, byte(r))
			continue
		case r < 0x20 || r == 0x7F:
			b = append(b, ' ')
			continue
		}
		if len(b)+2 > Width {
			break
		}
		e, err := enc.Bytes([]byte(string(r)))
		if err != nil || len(e) != 2 || e[0] < 0xA1 || e[0] > 0xFE || e[1] < 0xA1 || e[1] > 0xFE {
			// Not GB2312: try the letter without its accent (É -> E).
			for _, d := range norm.NFD.String(string(r)) {
				if d >= 0x20 && d < 0x7F && len(b) < Width {
					b = append(b, byte(d))
				}
			}
			continue
		}
		b = append(b, e...)
	}
	for len(b) < Width {
		b = append(b, ' ')
	}
	return string(b)
}

// Text makes s safe and exact for one line: control characters become
// spaces, accents are stripped (É becomes E), other characters outside
// printable ASCII are dropped (the display's code page is unknown, and a
// stray ESC would be a command), then the line is padded with spaces or
// truncated to Width.
func Text(s string) string {
	b := make([]byte, 0, Width)
	for _, r := range norm.NFD.String(s) {
		if len(b) == Width {
			break
		}
		switch {
		case r >= 0x20 && r < 0x7F:
			b = append(b, byte(r))
		case r < 0x20 || r == 0x7F:
			b = append(b, ' ')
		}
	}
	for len(b) < Width {
		b = append(b, ' ')
	}
	return string(b)
}

// Lines is what a two-line display shows for a screen. Idle shows the
// merchant name (ASCII part) and WELCOME.
//
//	amount_due   TOTAL CAD 12.50 / (status, e.g. CHECKING PAYMENT, CONFIRM ON PHONE)
//	scan_prompt  TOTAL CAD 12.50 / PLEASE SCAN CODE
//	qr           TOTAL CAD 12.50 / SCAN QR: WECHAT PAY
//	paid         TOTAL CAD 12.50 / PAID - THANK YOU
//	failed       TOTAL CAD 12.50 / DECLINED
//	cancelled    TOTAL CAD 12.50 / CANCELLED
func Lines(s display.Screen, merchant string) [2]string { return lines(s, merchant, english) }

// LinesChinese is Lines in Chinese, for displays with a GB2312 font:
//
//	amount_due   合计 CAD 12.50 / (status, e.g. 正在确认支付, 请在手机上确认付款)
//	scan_prompt  合计 CAD 12.50 / 请出示付款码
//	qr           合计 CAD 12.50 / 请用微信支付扫码
//	paid         合计 CAD 12.50 / 支付成功 谢谢惠顾
//	failed       合计 CAD 12.50 / 支付失败
//	cancelled    合计 CAD 12.50 / 支付已取消
//
// Idle shows the merchant name (Chinese kept) and 欢迎光临.
func LinesChinese(s display.Screen, merchant string) [2]string { return lines(s, merchant, chinese) }

// wording is what a language puts on the two lines.
type wording struct {
	total, wait, scan, paid, failed, cancelled, welcome, confirm string
	message                                                      func(msg string) string      // a status message on the second line
	qr                                                           func(wallet string) string   // the QR prompt
	name                                                         func(merchant string) string // the merchant's name as the display can show it ("": none)
}

var english = wording{
	total: "TOTAL", wait: "PLEASE WAIT", scan: "PLEASE SCAN CODE", paid: "PAID - THANK YOU",
	failed: "DECLINED", cancelled: "CANCELLED", welcome: "WELCOME", confirm: "CONFIRM ON PHONE",
	message: strings.ToUpper,
	qr:      func(w string) string { return strings.ToUpper("SCAN QR: " + display.WalletName(w)) },
	name:    func(m string) string { return strings.TrimSpace(Text(m)) },
}

var chinese = wording{
	total: "合计", wait: "请稍候", scan: "请出示付款码", paid: "支付成功 谢谢惠顾",
	failed: "支付失败", cancelled: "支付已取消", welcome: "欢迎光临", confirm: "请在手机上确认付款",
	message: func(m string) string {
		if zh := display.MessageChinese(m); zh != "" {
			return zh
		}
		return strings.ToUpper(m)
	},
	qr: func(w string) string { return "请用" + display.WalletNameChinese(w) + "扫码" },
	name: func(m string) string {
		m = strings.TrimSpace(m)
		if strings.TrimSpace(TextGB2312(m)) == "" {
			return ""
		}
		return m
	},
}

func lines(s display.Screen, merchant string, w wording) [2]string {
	total := strings.TrimSpace(w.total + " " + s.Currency + " " + money.Amount(s.Amount+s.Tip).Format(s.Currency)) // what is charged: amount + tip
	switch s.Kind {
	case display.KindAmountDue:
		switch s.Message {
		case "":
			return [2]string{total, ""}
		case display.MsgConnecting, display.MsgPreparingQR:
			return [2]string{total, w.wait}
		case display.MsgConfirmOnPhone: // 20 columns: the short form
			return [2]string{total, w.confirm}
		}
		return [2]string{total, w.message(s.Message)}
	case display.KindScanPrompt:
		return [2]string{total, w.scan}
	case display.KindQR:
		return [2]string{total, w.qr(s.Wallet)}
	case display.KindPaid:
		return [2]string{total, w.paid}
	case display.KindFailed:
		return [2]string{total, w.failed}
	case display.KindCancelled:
		return [2]string{total, w.cancelled}
	}
	if name := w.name(merchant); name != "" {
		return [2]string{name, w.welcome}
	}
	return [2]string{w.welcome, ""}
}

// Options configures a Pole.
type Options struct {
	Merchant string // shown on the idle screen
	// Language and ShopLanguage choose the language of each screen as on
	// the other displays (display.PrimaryLanguage: en, zh or auto). A
	// screen is shown in Chinese only when the dialect can show it
	// (ChineseCapable, a CD5220 with GB2312); otherwise in English.
	Language, ShopLanguage string
	// Shared prefixes every write with ESC = 2 (select the display) for a
	// pole display that shares its serial line with a printer.
	Shared bool
}

// Pole is a display.Sink writing to a pole display through w (a serial
// port opened by the caller; 9600 8N1 is the usual setting). The first Show,
// and the first after a write error, initialises the display. Safe for
// concurrent use.
type Pole struct {
	d    Dialect
	o    Options
	open func() (io.WriteCloser, error) // nil: w is fixed

	mu     sync.Mutex // mu guards the fields below
	w      io.Writer  // nil while closed (with open set)
	inited bool
	last   [2]string
}

var _ display.Sink = (*Pole)(nil)

// New returns a Pole writing d's commands to w.
func New(w io.Writer, d Dialect, o Options) *Pole {
	return &Pole{w: w, d: d, o: o}
}

// NewReopening returns a Pole that opens its port with open on the first
// Show, and after a write error closes it and opens it again on the next
// Show, so an unplugged display comes back by itself (for example open =
// func() (io.WriteCloser, error) { return serial.Open(cfg) }).
func NewReopening(open func() (io.WriteCloser, error), d Dialect, o Options) *Pole {
	return &Pole{open: open, d: d, o: o}
}

// Close closes a port opened by a reopening Pole; it does nothing for New.
func (p *Pole) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closeLocked()
}

func (p *Pole) closeLocked() error {
	if p.open == nil || p.w == nil {
		return nil
	}
	err := p.w.(io.Closer).Close()
	p.w, p.inited = nil, false
	if err != nil {
		return fmt.Errorf("pole: %s: close: %w", p.d.Name(), err)
	}
	return nil
}

// lines is what the display shows for s, in the screen's language.
func (p *Pole) lines(s display.Screen) [2]string {
	if c, ok := p.d.(ChineseCapable); ok && c.Chinese() && display.PrimaryLanguage(p.o.Language, p.o.ShopLanguage, s) == display.LangZH {
		return LinesChinese(s, p.o.Merchant)
	}
	return Lines(s, p.o.Merchant)
}

// Show writes the screen's two lines in one Write; it writes nothing when
// the lines are unchanged.
func (p *Pole) Show(s display.Screen) error {
	lines := p.lines(s)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inited && lines == p.last {
		return nil
	}
	if p.w == nil {
		w, err := p.open()
		if err != nil {
			return fmt.Errorf("pole: %s: open: %w", p.d.Name(), err)
		}
		p.w, p.inited = w, false
	}
	var b []byte
	if p.o.Shared {
		b = append(b, esc, '=', 0x02)
	}
	if !p.inited {
		b = append(b, p.d.Init()...)
	}
	b = append(b, p.d.Frame(lines)...)
	if _, err := p.w.Write(b); err != nil {
		p.inited = false
		p.closeLocked() // a reopening Pole opens the port again next time
		return fmt.Errorf("pole: %s: write: %w", p.d.Name(), err)
	}
	p.inited, p.last = true, lines
	return nil
}
