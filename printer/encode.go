package printer

import (
	"strings"
	"time"
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
		case refunded > 0 && refunded >= r.Amount:
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

// Encode turns a receipt into ESC/POS bytes for a printer profile. It is
// pure: the same receipt and profile always give the same bytes.
//
// Layout: merchant name (double size, centred), address lines, the copy
// ("CUSTOMER COPY" / "MERCHANT COPY"), REPRINT when reprinted, then
// label/value lines (date, terminal, payment, order, wallet, code), the
// amount (double height) and state, refund lines, footer, the optional QR
// (native GS ( k or GS v 0 raster, per profile), the cut and the drawer kick
// (when the profile enables it and the receipt is not a reprint).
func Encode(r Receipt, p Profile) []byte {
	p = p.Normalize()
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	cols := p.Columns
	b := &Builder{}
	b.Init()
	if p.CodePage != CodePagePC437 {
		b.CodePage(p.CodePage)
	}
	if p.GB18030 {
		b.ChineseOn()
	}
	rule := strings.Repeat("-", cols)

	// Header.
	b.Align(AlignCenter)
	if r.Merchant != "" {
		b.Bold(true).Double(true)
		for _, l := range wrap(r.Merchant, cols/2, p.GB18030) {
			b.Line(l)
		}
		b.Double(false).Bold(false)
	}
	for _, a := range r.Address {
		for _, l := range wrap(a, cols, p.GB18030) {
			b.Line(l)
		}
	}
	b.LF()
	copyLabel := "CUSTOMER COPY"
	if strings.EqualFold(r.Copy, "merchant") {
		copyLabel = "MERCHANT COPY"
	}
	b.Bold(true).Line(copyLabel).Bold(false)
	if r.Reprint {
		b.Bold(true).Size(2, 1).Line("** REPRINT **").Size(1, 1).Bold(false)
	}
	b.Align(AlignLeft).Line(rule)

	// Details.
	pair := func(label, value string) {
		if value == "" {
			return
		}
		for _, l := range columns(label, value, cols, p.GB18030) {
			b.Line(l)
		}
	}
	if !r.Time.IsZero() {
		pair("Date", r.Time.In(loc).Format("2006-01-02 15:04:05"))
	}
	pair("Terminal", r.Terminal)
	pair("Payment", r.PaymentID)
	pair("Order", r.OrderID)
	pair("Wallet", WalletName(r.Wallet, p.GB18030))
	switch strings.ToLower(r.Mode) {
	case "scan":
		pair("Type", "Scan")
	case "qr":
		pair("Type", "QR")
	}
	pair("Code", r.CodeMasked)
	b.Line(rule)

	// Amount and state.
	b.Bold(true).Size(1, 2)
	for _, l := range columns("TOTAL", FormatAmount(r.Amount, r.Currency), cols, p.GB18030) {
		b.Line(l)
	}
	b.Size(1, 1)
	b.Align(AlignCenter).Line(StateLabel(r)).Bold(false).Align(AlignLeft)

	// Refunds.
	if len(r.Refunds) > 0 {
		b.Line(rule)
		for _, f := range r.Refunds {
			pair("Refund "+strings.ToUpper(f.State), FormatAmount(-f.Amount, r.Currency))
			pair("  Order", f.OrderID)
			if !f.Time.IsZero() {
				pair("  Date", f.Time.In(loc).Format("2006-01-02 15:04:05"))
			}
		}
	}

	// Footer and QR.
	if len(r.Footer) > 0 || r.QR != "" {
		b.Line(rule)
	}
	b.Align(AlignCenter)
	for _, f := range r.Footer {
		for _, l := range wrap(f, cols, p.GB18030) {
			b.Line(l)
		}
	}
	if r.QR != "" {
		b.LF()
		if p.NativeQR {
			b.QRNative(r.QR, p.QRModule)
			b.LF()
		} else if err := b.QRRaster(r.QR, p.QRModule, p.Dots); err != nil {
			b.Line("(QR too large to print)")
		}
	}
	if r.Reprint {
		b.Bold(true).Line("** REPRINT **").Bold(false)
	}
	b.Align(AlignLeft)
	if p.GB18030 {
		b.ChineseOff()
	}
	b.Cut(p.Cut, p.FeedBeforeCut)
	if p.Drawer.Enabled && !r.Reprint {
		b.DrawerKick(p.Drawer.Pin, p.Drawer.OnMS, p.Drawer.OffMS)
	}
	return b.Bytes()
}

// columns lays out label on the left and value on the right of a line of
// cols columns; a value too long for one line goes on its own line(s),
// right-aligned.
func columns(label, value string, cols int, chinese bool) []string {
	lw, vw := textWidth(label, chinese), textWidth(value, chinese)
	if lw+1+vw <= cols {
		return []string{label + strings.Repeat(" ", cols-lw-vw) + value}
	}
	out := wrap(label, cols, chinese)
	for _, l := range wrap(value, cols, chinese) {
		out = append(out, strings.Repeat(" ", cols-textWidth(l, chinese))+l)
	}
	return out
}

// wrap breaks s into lines of at most cols columns, at spaces when it can.
func wrap(s string, cols int, chinese bool) []string {
	s = strings.TrimSpace(sanitize(s))
	if cols < 1 {
		cols = 1
	}
	var out []string
	for textWidth(s, chinese) > cols {
		cut, w, lastSpace := 0, 0, -1
		for i, r := range s {
			rw := 1
			if r >= 0x80 && chinese {
				rw = 2
			}
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
