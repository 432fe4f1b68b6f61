package scanner

import "time"

// Wallet names, as the product says them (the same strings as gateway.Wallet).
const (
	WeChat   = "wechat"
	Alipay   = "alipay"
	UnionPay = "unionpay"
)

// Scan is one code read by a scanner (or posted by a bridge or the POS).
type Scan struct {
	Code      string    // the code, AIM prefix stripped
	Symbology string    // the AIM identifier when the scanner sent one ("]Q1"), else ""
	Device    string    // the configured scanner name ("counter"), "api", "bridge", ...
	At        time.Time // when the terminator (or idle flush) was seen
}

// Classify says whether code is a customer payment code and for which wallet.
// It is pure and does no I/O. Rules (hardware.md section 6, ottpay-api.md):
//
//	WeChat Pay  18 digits, prefix 10-15
//	Alipay      16-24 digits, prefix 25-30 (Alipay+ wallets: 17-32 digits)
//	UnionPay    19 digits, prefix 62
//
// Anything else (an EAN-13, a URL, a loyalty card) is not a payment code and
// must never reach the gateway. The 62 prefix may collide with bank wallets:
// the gateway has the last word.
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
	case p >= 25 && p <= 30 && n >= 16 && n <= 32:
		return Alipay, true
	}
	return "", false
}

// MaskCode hides the middle of a payment code for logs, receipts and the
// API: the first 4 and last 4 digits stay visible ("1345**********6789").
// Codes of 8 characters or fewer are fully masked.
func MaskCode(code string) string {
	n := len(code)
	if n <= 8 {
		b := make([]byte, n)
		for i := range b {
			b[i] = '*'
		}
		return string(b)
	}
	b := []byte(code)
	for i := 4; i < n-4; i++ {
		b[i] = '*'
	}
	return string(b)
}
