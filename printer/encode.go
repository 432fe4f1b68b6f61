package printer

import (
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/money"
)

// walletNames are the printed wallet names: English, Chinese.
var walletNames = map[string][2]string{
	"wechat":   {"WeChat Pay", "微信支付"},
	"alipay":   {"Alipay", "支付宝"},
	"unionpay": {"UnionPay", "银联"},
}

// WalletName returns the printed name of a wallet id, with its Chinese name
// when chinese is true ("WeChat Pay 微信支付"). Unknown ids print as given.
func WalletName(wallet string, chinese bool) string {
	n, ok := walletNames[strings.ToLower(wallet)]
	if !ok {
		return wallet
	}
	if chinese {
		return n[0] + " " + n[1]
	}
	return n[0]
}

// StateLabel returns the word a receipt prints for a payment: PAID,
// DECLINED, REFUNDED (all of it refunded), PARTIALLY REFUNDED, REVERSED,
// CANCELLED, EXPIRED, PENDING (not final yet).
func StateLabel(r Receipt) string {
	switch strings.ToLower(r.State) {
	case "succeeded", "paid":
		var refunded int64
		for _, f := range r.Refunds {
			if strings.EqualFold(f.State, "succeeded") {
				refunded += f.Amount
			}
		}
		switch {
		case refunded > 0 && refunded >= r.Amount+r.Tip:
			return "REFUNDED"
		case refunded > 0:
			return "PARTIALLY REFUNDED"
		}
		return "PAID"
	case "failed":
		return "DECLINED"
	case "reversed":
		return "REVERSED"
	case "cancelled", "canceled":
		return "CANCELLED"
	case "expired":
		return "EXPIRED"
	case "awaiting_code", "processing", "queued", "in_doubt":
		return "PENDING"
	case "":
		return "UNKNOWN"
	}
	return strings.ToUpper(r.State)
}

// labelsZH are the Chinese labels of a receipt, by their English text.
var labelsZH = map[string]string{
	"CUSTOMER COPY": "顾客联", "MERCHANT COPY": "商户联", "REPRINT": "重印",
	"Date": "日期", "Terminal": "终端", "Payment": "支付编号", "Order": "订单号",
	"Wallet": "支付方式", "Type": "类型", "Scan": "扫码", "QR": "二维码", "Code": "付款码",
	"TOTAL": "合计", "Refund": "退款", "Amount": "金额", "Tip": "小费", "Fee": "手续费", "Sale": "销售单号",
	"Buyer": "付款账户", "Rate of": "汇率时间", "Wallet time": "支付时间", "Wallet txn": "交易单号", "CNY (est.)": "人民币(估)",
	"PAID": "支付成功", "DECLINED": "支付失败", "REFUNDED": "已退款", "PARTIALLY REFUNDED": "部分退款",
	"REVERSED": "已撤销", "CANCELLED": "已取消", "EXPIRED": "已过期", "PENDING": "处理中", "UNKNOWN": "状态未知",
	"SUCCEEDED": "成功", "FAILED": "失败", "IN_DOUBT": "待确认",
	"(QR too large to print)": "(二维码太大，无法打印)",
}

// Label returns an English receipt label in a language: "TOTAL" is "合计"
// in Chinese and "TOTAL 合计" in both. A label without a translation
// stays English.
func Label(en string, l Language) string {
	zh, ok := labelsZH[en]
	switch {
	case !ok || l == English || l == "":
		return en
	case l == Chinese:
		return zh
	}
	return en + " " + zh
}

// walletLabel is the printed wallet name: in its own script when the
// printer has Chinese (Chinese only on a Chinese receipt).
func walletLabel(wallet string, l Language, chinese bool) string {
	if n, ok := walletNames[strings.ToLower(wallet)]; ok && l == Chinese {
		return n[1]
	}
	return WalletName(wallet, chinese)
}

// Encode turns a receipt into ESC/POS bytes for a printer profile. It is
// pure: the same receipt and profile always give the same bytes.
//
// Layout: merchant name (double size, centred), address lines, the copy
// ("CUSTOMER COPY" / "MERCHANT COPY"), REPRINT when reprinted, then
// label/value lines (date, terminal, payment, order, wallet, code), the
// amount (double height) and state, refund lines, footer, the optional QR
// (native GS ( k or GS v 0 raster, per profile), the cut and the drawer kick
// (when the profile enables it and the receipt is not a reprint).
//
// Labels follow p.Language (en, zh, en+zh) when the printer has Chinese
// (GB18030); amounts, dates and ids are the same in every language. Every
// line fits the profile's columns, a Chinese character counting two.
func Encode(r Receipt, p Profile) []byte {
	e := newReceiptEncoder(r, p)
	e.header()
	e.details()
	e.amounts()
	e.refunds()
	e.footer()
	e.finish()
	return e.b.Bytes()
}

// receiptEncoder is what the steps of Encode share: the receipt, the
// normalized profile and the bytes built so far.
type receiptEncoder struct {
	r    Receipt
	p    Profile
	b    *Builder
	loc  *time.Location
	lang Language
	cols int
	rule string
	m    cells // how many columns a character takes
	zh   bool  // wallet names in Chinese: the printer's font, or raster lines on a Chinese receipt
}

// newReceiptEncoder normalizes the profile, picks the time zone and the
// language and starts the bytes: ESC @, the code page, Chinese mode or
// raster lines (startText).
func newReceiptEncoder(r Receipt, p Profile) *receiptEncoder {
	p = p.Normalize()
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	b, m, zh := startText(p)
	lang := p.Language
	if !zh || lang == "" {
		lang = English // no Chinese font anywhere: Chinese labels could not print
	}
	// Wallet names in their own scripts: always with the printer's font;
	// drawn as raster lines only on a receipt that has Chinese labels, so
	// that an English receipt stays text (and small) on such a printer.
	zh = p.GB18030 || (zh && lang != English)
	return &receiptEncoder{r: r, p: p, b: b, loc: loc, lang: lang, cols: p.Columns, rule: strings.Repeat("-", p.Columns), m: m, zh: zh}
}

// L is an English label in the receipt's language.
func (e *receiptEncoder) L(en string) string { return Label(en, e.lang) }

// wrapped prints text wrapped to width columns.
func (e *receiptEncoder) wrapped(text string, width int) {
	for _, l := range wrap(text, width, e.m) {
		e.b.Line(l)
	}
}

// pair prints a label/value line; an empty value prints nothing.
func (e *receiptEncoder) pair(label, value string) {
	if value == "" {
		return
	}
	for _, l := range columns(label, value, e.cols, e.m) {
		e.b.Line(l)
	}
}

// reprint marks a reprint: double width at the top, plain at the bottom.
func (e *receiptEncoder) reprint(wide bool) {
	b, cols := e.b, e.cols
	w := 1
	if wide {
		w = 2
		b.Bold(true).Size(2, 1)
	} else {
		b.Bold(true)
	}
	text := "** " + e.L("REPRINT") + " **"
	if e.m.width(text) > cols/w {
		text = e.L("REPRINT")
	}
	e.wrapped(text, cols/w)
	if wide {
		b.Size(1, 1)
	}
	b.Bold(false)
}

// header prints the merchant, the address, the copy and the reprint mark.
func (e *receiptEncoder) header() {
	b, r := e.b, e.r
	b.Align(AlignCenter)
	if r.Merchant != "" {
		b.Bold(true).Double(true)
		e.wrapped(r.Merchant, e.cols/2)
		b.Double(false).Bold(false)
	}
	for _, a := range r.Address {
		e.wrapped(a, e.cols)
	}
	b.LF()
	copyLabel := "CUSTOMER COPY"
	if strings.EqualFold(r.Copy, "merchant") {
		copyLabel = "MERCHANT COPY"
	}
	b.Bold(true).Line(e.L(copyLabel)).Bold(false)
	if r.Reprint {
		e.reprint(true)
	}
	b.Align(AlignLeft).Line(e.rule)
}

// details prints the label/value lines: date, ids, wallet, type, code.
func (e *receiptEncoder) details() {
	r, L := e.r, e.L
	if !r.Time.IsZero() {
		e.pair(L("Date"), r.Time.In(e.loc).Format("2006-01-02 15:04:05"))
	}
	e.pair(L("Terminal"), r.Terminal)
	e.pair(L("Payment"), r.PaymentID)
	e.pair(L("Order"), r.OrderID)
	e.pair(L("Wallet"), walletLabel(r.Wallet, e.lang, e.zh))
	switch strings.ToLower(r.Mode) {
	case "scan":
		e.pair(L("Type"), L("Scan"))
	case "qr":
		e.pair(L("Type"), L("QR"))
	}
	e.pair(L("Code"), r.CodeMasked)
	e.pair(L("Sale"), r.Reference)
	e.pair(L("Buyer"), r.Buyer)
	if !r.TradeAt.IsZero() {
		e.pair(L("Wallet time"), r.TradeAt.In(e.loc).Format("2006-01-02 15:04:05"))
	} else {
		e.pair(L("Wallet time"), r.TradeTime)
	}
	e.pair(L("Wallet txn"), r.WalletTxn)
	e.b.Line(e.rule)
}

// amounts prints the amount and tip, TOTAL, the fee, the CNY amount and
// the state.
func (e *receiptEncoder) amounts() {
	b, r, L := e.b, e.r, e.L
	if r.Tip != 0 {
		e.pair(L("Amount"), money.Amount(r.Amount).WithCode(r.Currency))
		e.pair(L("Tip"), money.Amount(r.Tip).WithCode(r.Currency))
	}
	b.Bold(true).Size(1, 2)
	for _, l := range columns(L("TOTAL"), money.Amount(r.Amount+r.Tip).WithCode(r.Currency), e.cols, e.m) {
		b.Line(l)
	}
	b.Size(1, 1)
	if r.Fee != 0 {
		e.pair(L("Fee"), money.Amount(r.Fee).WithCode(r.Currency))
	}
	if r.CNYAmount != 0 {
		e.cny()
	}
	b.Align(AlignCenter)
	e.wrapped(L(StateLabel(r)), e.cols)
	b.Bold(false).Align(AlignLeft)
}

// cny prints the amount in CNY, with the rate and, for the agent's own
// estimate, the time of its rate.
func (e *receiptEncoder) cny() {
	r, L := e.r, e.L
	cny := "CNY " + money.Amount(r.CNYAmount).String()
	if r.Rate != 0 {
		cny += " @" + strconv.FormatFloat(float64(r.Rate)/1e8, 'f', 4, 64)
	}
	label := "CNY" // as the gateway answered it
	if !r.RateAt.IsZero() {
		label = "CNY (est.)" // the agent's estimate at its last rate
	}
	e.pair(L(label), cny)
	if !r.RateAt.IsZero() {
		e.pair("  "+L("Rate of"), r.RateAt.In(e.loc).Format("2006-01-02 15:04"))
	}
}

// refunds prints a block per refund: its state and amount, order, date.
func (e *receiptEncoder) refunds() {
	r, L := e.r, e.L
	if len(r.Refunds) == 0 {
		return
	}
	e.b.Line(e.rule)
	for _, f := range r.Refunds {
		st := strings.ToUpper(f.State)
		label := "Refund " + st
		switch e.lang {
		case Chinese:
			label = L("Refund") + Label(st, Chinese)
		case Bilingual:
			label += " " + labelsZH["Refund"] + Label(st, Chinese)
		}
		e.pair(label, money.Amount(-f.Amount).WithCode(r.Currency))
		e.pair("  "+L("Order"), f.OrderID)
		if !f.Time.IsZero() {
			e.pair("  "+L("Date"), f.Time.In(e.loc).Format("2006-01-02 15:04:05"))
		}
	}
}

// footer prints the footer lines and the QR.
func (e *receiptEncoder) footer() {
	b, r, p := e.b, e.r, e.p
	if len(r.Footer) > 0 || r.QR != "" {
		b.Line(e.rule)
	}
	b.Align(AlignCenter)
	for _, f := range r.Footer {
		e.wrapped(f, e.cols)
	}
	if r.QR != "" {
		b.LF()
		if p.NativeQR {
			b.QRNative(r.QR, p.QRModule)
			b.LF()
		} else if err := b.QRRaster(r.QR, p.QRModule, p.Dots); err != nil {
			b.Line(e.L("(QR too large to print)"))
		}
	}
}

// finish prints the closing reprint mark, leaves Chinese mode, cuts and
// kicks the drawer (not for a reprint).
func (e *receiptEncoder) finish() {
	b, r, p := e.b, e.r, e.p
	if r.Reprint {
		e.reprint(false)
	}
	b.Align(AlignLeft)
	if p.GB18030 {
		b.ChineseOff()
	}
	b.Cut(p.Cut, p.FeedBeforeCut)
	if p.Drawer.Enabled && !r.Reprint {
		b.DrawerKick(p.Drawer.Pin, p.Drawer.OnMS, p.Drawer.OffMS)
	}
}

// columns lays out label on the left and value on the right of a line of
// cols columns; a value too long for one line goes on its own line(s),
// right-aligned.
func columns(label, value string, cols int, m cells) []string {
	lw, vw := m.width(label), m.width(value)
	if lw+1+vw <= cols {
		return []string{label + strings.Repeat(" ", cols-lw-vw) + value}
	}
	indent := label[:len(label)-len(strings.TrimLeft(label, " "))]
	var out []string
	for _, l := range wrap(label, cols-len(indent), m) {
		out = append(out, indent+l)
	}
	for _, l := range wrap(value, cols, m) {
		out = append(out, strings.Repeat(" ", cols-m.width(l))+l)
	}
	return out
}

// wrap breaks s into lines of at most cols columns, at spaces when it can.
func wrap(s string, cols int, m cells) []string {
	s = strings.TrimSpace(sanitize(s))
	if cols < 1 {
		cols = 1
	}
	var out []string
	for m.width(s) > cols {
		cut, w, lastSpace := 0, 0, -1
		for i, r := range s {
			rw := m.of(r)
			if w+rw > cols {
				break
			}
			if r == ' ' {
				lastSpace = i
			}
			w += rw
			cut = i + len(string(r))
		}
		if cut == 0 { // one character wider than the line
			_, size := firstRune(s)
			cut = size
		}
		if lastSpace > 0 {
			cut = lastSpace
		}
		out = append(out, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut:], " ")
	}
	if s != "" || len(out) == 0 {
		out = append(out, s)
	}
	return out
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}
