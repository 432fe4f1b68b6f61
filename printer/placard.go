package printer

import (
	"fmt"
	"strings"
)

// Placard is a counter sign for the merchant's own OTTPay QR codes: the
// shop's name, "SCAN TO PAY US" and the static QR, then each item payment
// link under its name with its own QR. Payments made with them go to
// OTTPay directly and never pass through the agent (no journal record, no
// receipt, not in reports): the placard says so to the cashier in its
// last line. EncodePlacard turns it into ESC/POS bytes; RenderPlacardPNG
// shows it as a picture for a printed sign.
type Placard struct {
	Merchant string        // the header
	StaticQR string        // the static QR's URL ("" none: links only)
	Links    []PlacardLink // item payment links, each printed with its QR
}

// PlacardLink is one payment link: its name and URL.
type PlacardLink struct {
	Name, URL string
}

// Empty reports whether the placard has no QR to print.
func (pl Placard) Empty() bool { return pl.StaticQR == "" && len(pl.Links) == 0 }

// placardZH are the placard's Chinese lines, by their English text.
var placardZH = map[string]string{
	"SCAN TO PAY US": "扫码向我们付款",
	"PAYMENT LINKS":  "商品付款链接",
	"Show the cashier your payment confirmation": "付款后请向收银员出示付款成功页面",
}

// EncodePlacard turns a placard into ESC/POS bytes for a printer profile.
// It is pure. The static QR is printed twice the receipt's module size
// where it fits (a counter sign is scanned from further away), the links'
// QRs at the receipt's; with a GB18030 printer the titles are English then
// Chinese whatever the receipt language (a placard speaks to every
// customer). Every line fits the profile's columns.
func EncodePlacard(pl Placard, p Profile) []byte {
	p = p.Normalize()
	cols := p.Columns
	b, m, chinese := startText(p)
	both := func(en string, w, h int) {
		b.Size(w, h)
		for _, l := range wrap(en, cols/w, m) {
			b.Line(l)
		}
		if zh, ok := placardZH[en]; ok && chinese {
			for _, l := range wrap(zh, cols/w, m) {
				b.Line(l)
			}
		}
		b.Size(1, 1)
	}
	qr := func(data string, module int) {
		if p.NativeQR {
			// Native symbols come without a quiet zone on some printers:
			// blank lines keep text and rules off the code.
			b.LF().QRNative(data, module)
			b.LF().LF()
			return
		}
		if err := b.QRRaster(data, module, p.Dots); err != nil {
			b.Line(Label("(QR too large to print)", English))
		}
	}
	rule := strings.Repeat("-", cols)
	b.Align(AlignCenter)
	if pl.Merchant != "" {
		b.Bold(true)
		both(pl.Merchant, 2, 2)
		b.Bold(false)
	}
	if pl.StaticQR != "" {
		b.LF().Bold(true)
		both("SCAN TO PAY US", 2, 2)
		b.Bold(false).LF()
		qr(pl.StaticQR, min(p.QRModule*2, 16))
	}
	if len(pl.Links) > 0 {
		b.Line(rule).Bold(true)
		both("PAYMENT LINKS", 1, 2)
		b.Bold(false)
		for i, l := range pl.Links {
			if i > 0 {
				b.LF()
			}
			b.Bold(true)
			both(l.Name, 1, 1)
			b.Bold(false)
			qr(l.URL, p.QRModule)
		}
	}
	b.Line(rule)
	both("Show the cashier your payment confirmation", 1, 1)
	b.Align(AlignLeft)
	if p.GB18030 {
		b.ChineseOff()
	}
	b.Cut(p.Cut, p.FeedBeforeCut)
	return b.Bytes()
}

// RenderPlacardPNG renders a placard as the virtual printer would print it.
func RenderPlacardPNG(pl Placard, p Profile) ([]byte, error) {
	p = p.Normalize()
	pages := RenderWith(EncodePlacard(pl, p), InterpreterOptions{Width: p.Dots, CJK: p.CJK})
	if len(pages) == 0 {
		return nil, fmt.Errorf("printer: render placard: nothing printed")
	}
	b, err := pages[0].PNG()
	if err != nil {
		return nil, fmt.Errorf("printer: render placard: %w", err)
	}
	return b, nil
}
