package paycode

import (
	"strings"
	"time"
	"unicode"
)

// Wallet names, as the product says them (the same strings as gateway.Wallet).
const (
	WeChat   = "wechat"
	Alipay   = "alipay"
	UnionPay = "unionpay"
)

// Validity is how long after it is shown a wallet's payment code can still
// be charged: about a minute for WeChat Pay and Alipay. A scan payment that
// could not reach the gateway is retried with the same order id only inside
// this window, then ends expired with nothing charged.
const Validity = 60 * time.Second

// Classify says whether code is a customer payment code and for which
// wallet. It is pure and does no I/O. The rules (see the package doc):
//
//	WeChat Pay  18 digits, prefix 10-15
//	Alipay      16-32 digits, prefix 25-30
//	UnionPay    19 digits, prefix 62
//
// Anything else is not a payment code and must never reach the gateway.
func Classify(code string) (wallet string, ok bool) {
	n := len(code)
	if n < 16 || n > 32 {
		return "", false
	}
	for i := 0; i < n; i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	p := int(code[0]-'0')*10 + int(code[1]-'0')
	switch {
	case n == 18 && p >= 10 && p <= 15:
		return WeChat, true
	case n == 19 && p == 62:
		return UnionPay, true
	case p >= 25 && p <= 30:
		return Alipay, true
	}
	return "", false
}

// Valid reports whether code is a payment code of any wallet.
func Valid(code string) bool {
	_, ok := Classify(code)
	return ok
}

// Mask hides the middle of a payment code for logs, receipts and the API:
// the first 4 and last 4 characters stay visible ("1345**********6789").
// Codes of 8 characters or fewer are fully masked. The length is kept.
func Mask(code string) string {
	n := len(code)
	if n <= 8 {
		return strings.Repeat("*", n)
	}
	b := []byte(code)
	for i := 4; i < n-4; i++ {
		b[i] = '*'
	}
	return string(b)
}

// MaskIn masks every payment code found inside s, for echoing a barcode
// that is not itself a bare payment code (a scan.barcode event, a log
// line). Classify accepts only a bare code; a code is still recognised here
// when it is
//
//   - wrapped in an AIM symbology identifier ("]Q1134567890123456789",
//     "]E0..."), whose modifier digit would otherwise run into the code;
//   - split or surrounded by control, format or bidirectional characters
//     (CR, GS, U+200E, U+202E, U+2066, zero-width spaces, a BOM ...);
//   - written with full-width digits;
//   - embedded in a longer string ("PAY:134567890123456789;").
//
// When s holds a payment code, the result is s without its invisible
// characters and with each code masked as Mask does (first and last 4
// digits kept). When it holds none, s is returned unchanged, control
// characters included (GS1 barcodes use GS as a separator). It is pure.
func MaskIn(s string) string {
	type ch struct {
		r     rune
		digit byte // '0'-'9' for a (half- or full-width) digit, else 0
	}
	var cs []ch
	for _, r := range s {
		if Invisible(r) {
			continue
		}
		c := ch{r: r}
		switch {
		case r >= '0' && r <= '9':
			c.digit = byte(r)
		case r >= '０' && r <= '９':
			c.digit = byte('0' + (r - '０'))
		}
		cs = append(cs, c)
	}
	mask := make([]bool, len(cs))
	found := false
	for i := 0; i < len(cs); {
		if cs[i].digit == 0 {
			i++
			continue
		}
		j := i
		var d []byte
		for j < len(cs) && cs[j].digit != 0 {
			d = append(d, cs[j].digit)
			j++
		}
		start := -1
		if Valid(string(d)) {
			start = i
		} else if i >= 2 && cs[i-2].r == ']' && isASCIILetter(cs[i-1].r) && len(d) > 1 && Valid(string(d[1:])) {
			// "]Q1" + code: the AIM modifier digit is not part of the code.
			start = i + 1
		}
		if start >= 0 {
			found = true
			n := j - start
			for k := start + 4; k < j-4 && n > 8; k++ {
				mask[k] = true
			}
		}
		i = j
	}
	if !found {
		return s
	}
	var b strings.Builder
	for i, c := range cs {
		if mask[i] {
			b.WriteByte('*')
		} else {
			b.WriteRune(c.r)
		}
	}
	return b.String()
}

// Bare returns the payment code a scan carries when the scanner wrapped
// it: an AIM symbology identifier in front ("]Q1", "]C0": a bracket, a
// letter and one modifier character), invisible control, format or
// bidirectional characters (and spaces) around or inside it. ok is false
// unless what remains is exactly one payment code (Classify): a code
// embedded in a longer string is not a payment code, only masked (MaskIn).
// symbology is the AIM identifier, when there was one.
func Bare(s string) (code, symbology string, ok bool) {
	var b strings.Builder
	for _, r := range s {
		if Invisible(r) || r == ' ' {
			continue
		}
		b.WriteRune(r)
	}
	t := b.String()
	if len(t) >= 3 && t[0] == ']' && isASCIILetter(rune(t[1])) {
		symbology, t = t[:3], t[3:]
	}
	if !Valid(t) {
		return "", "", false
	}
	return t, symbology, true
}

// Invisible reports whether r is a character a display does not show but
// which splits a code for a naive search: control and format characters
// (bidirectional controls, zero-width characters, the BOM) and U+FFFD.
func Invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
}

func isASCIILetter(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }
