package printer

import (
	"strconv"
	"strings"
)

// currencyDigits lists ISO 4217 currencies whose minor unit is not 1/100.
var currencyDigits = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0, "PYG": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

// CurrencyDigits returns how many decimal digits the currency's minor unit has (2 unless listed).
func CurrencyDigits(currency string) int {
	if d, ok := currencyDigits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// FormatAmount formats minor units as a decimal in major units followed by
// the currency code: FormatAmount(1250, "CAD") == "12.50 CAD",
// FormatAmount(-500, "CAD") == "-5.00 CAD", FormatAmount(1250, "JPY") == "1250 JPY".
// It never uses floating point. An empty currency prints the number alone.
func FormatAmount(cents int64, currency string) string {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	digits := CurrencyDigits(currency)
	neg := cents < 0
	u := uint64(cents)
	if neg {
		u = -u // two's complement: correct for math.MinInt64 too
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
	if currency != "" {
		s += " " + currency
	}
	return s
}
