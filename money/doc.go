// Package money is posagent's amount type: an integer count of a
// currency's minor units (cents for CAD: 1250 is 12.50 CAD), never a float,
// with the parsing and formatting the API, the command line, the customer
// display and the receipts share.
//
// It is a leaf: the standard library only, no I/O.
//
// # Basics
//
//	a, err := money.Parse("12.50", "CAD") // 1250; what a cashier types
//	a.Format("CAD")                       // "12.50"
//	a.WithCode("CAD")                     // "12.50 CAD"
//	money.Digits("JPY")                   // 0: yen have no minor unit
//
// The number of decimals comes from ISO 4217: two unless the currency is
// one of the few listed with none (JPY, KRW, ...) or three (KWD, BHD, ...).
// An empty currency means two. OTTPay amounts are strings of integer minor
// units of the merchant's currency; the gateway package writes them with
// strconv, not with this package.
//
// # Caveats
//
//   - Parse takes what a person types: digits with at most one '.', no
//     sign, no thousands separator, no exponent. It rejects more decimals
//     than the currency has rather than rounding, and wholes of more than 15
//     digits, so every parsed amount fits an int64 with room to add.
//   - Format works for every int64, negative ones (refunds) and
//     math.MinInt64 included.
package money
