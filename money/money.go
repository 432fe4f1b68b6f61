package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amount is an amount of money in minor units of its currency (cents for
// CAD). The currency travels beside it, as in the API's payment JSON.
type Amount int64

// currencyDigits lists the ISO 4217 currencies whose minor unit is not 1/100.
var currencyDigits = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0, "PYG": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

// Digits returns how many decimal digits the currency's minor unit has: 2
// unless the currency is listed otherwise (case does not matter; "" is 2).
func Digits(currency string) int {
	if d, ok := currencyDigits[strings.ToUpper(strings.TrimSpace(currency))]; ok {
		return d
	}
	return 2
}

// Format writes a in major units with the currency's decimals, as a
// cashier reads it: 1250 "CAD" -> "12.50", -500 -> "-5.00", 1250 "JPY" ->
// "1250", 1250 "KWD" -> "1.250". It never uses floating point.
func (a Amount) Format(currency string) string {
	digits := Digits(currency)
	neg := a < 0
	u := uint64(a)
	if neg {
		u = -u // two's complement: right for math.MinInt64 too
	}
	s := strconv.FormatUint(u, 10)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// WithCode is Format followed by the upper-case currency code: "12.50 CAD".
// An empty currency gives the number alone.
func (a Amount) WithCode(currency string) string {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	if currency == "" {
		return a.Format("")
	}
	return a.Format(currency) + " " + currency
}

// String formats a with two decimals (the default currency's), for logs.
func (a Amount) String() string { return a.Format("") }

// Errors of Parse, in a *ParseError; test with errors.Is.
var (
	ErrEmpty     = errors.New("amount is empty")
	ErrSyntax    = errors.New("not a decimal amount")
	ErrSign      = errors.New("amount has a sign")
	ErrPrecision = errors.New("too many decimals")
	ErrRange     = errors.New("amount too large")
)

// ParseError says why Parse refused its input, in words a cashier can act
// on. Err is one of ErrEmpty, ErrSyntax, ErrSign, ErrPrecision or ErrRange.
type ParseError struct {
	Input  string
	Digits int // the currency's decimals
	Err    error
}

func (e *ParseError) Error() string {
	switch e.Err {
	case ErrEmpty:
		return "amount is empty: type it like " + example(e.Digits)
	case ErrSign:
		return fmt.Sprintf("amount %q: must be a positive number like %s", e.Input, example(e.Digits))
	case ErrPrecision:
		if e.Digits == 0 {
			return fmt.Sprintf("amount %q: this currency has no decimals, type it like %s", e.Input, example(0))
		}
		return fmt.Sprintf("amount %q: use at most %s decimals, like %s", e.Input, words[e.Digits], example(e.Digits))
	case ErrRange:
		return fmt.Sprintf("amount %q is too large", e.Input)
	}
	return fmt.Sprintf("amount %q: only digits and one '.', like %s", e.Input, example(e.Digits))
}

func (e *ParseError) Unwrap() error { return e.Err }

var words = []string{"no", "one", "two", "three"}

func example(digits int) string {
	return Amount(1250 * pow10(digits) / 100).Format(currencyWith(digits))
}

// currencyWith names a currency with the given number of decimals.
func currencyWith(digits int) string {
	switch digits {
	case 0:
		return "JPY"
	case 3:
		return "KWD"
	}
	return ""
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// maxWhole bounds the whole part so that any parsed amount fits an int64
// with room to spare (15 digits, times 1000, is below 2^63).
const maxWhole = 15

// Parse reads an amount as a person types it in major units of currency
// ("12.50", "12.5", "12", ".99", surrounding spaces ignored) into minor
// units (1250). It never goes through a float: more decimals than the
// currency has are refused, not rounded. Zero is accepted; whether it makes
// sense is the caller's decision. Errors are *ParseError.
func Parse(s, currency string) (Amount, error) {
	digits := Digits(currency)
	in := s
	fail := func(err error) (Amount, error) { return 0, &ParseError{Input: in, Digits: digits, Err: err} }
	s = strings.TrimSpace(s)
	if s == "" {
		return fail(ErrEmpty)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && hasDot {
		whole = "0"
	}
	if strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return fail(ErrSign)
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return fail(ErrSyntax)
			}
		}
	}
	if hasDot && (len(frac) == 0 || len(frac) > digits) {
		return fail(ErrPrecision)
	}
	if len(whole) > maxWhole {
		return fail(ErrRange)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return fail(ErrSyntax)
	}
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64) // digits only, at most 3
		f *= pow10(digits - len(frac))
	}
	return Amount(w*pow10(digits) + f), nil
}
