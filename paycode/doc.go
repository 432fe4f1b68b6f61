// Package paycode knows the customer payment codes of the wallets posagent
// takes: which wallet a code belongs to (Classify), how to show one without
// giving it away (Mask, MaskIn), how to find the code inside what a scanner
// sent (Bare), how long a code can be charged (Validity), and the one
// rule for what may arrive as a scan at all, however it arrives
// (CheckInput: at most MaxInput bytes of UTF-8, no control characters).
//
// It is a leaf: pure functions over strings, the standard library only, no
// I/O, no clock. The scanner, the agent, the gateway client, the simulator
// and the bridge all use it, so a payment code means the same thing
// everywhere.
//
// # The rules
//
//	wallet      length      prefix
//	WeChat Pay  18 digits   10-15 (15: Hong Kong)
//	UnionPay    19 digits   62
//	Alipay      16-32       25-30 (16-24 for Alipay itself; Alipay+ wallets up to 32)
//
// Only ASCII digits count. Anything else (an EAN-13, a URL, a loyalty card)
// is not a payment code and must never reach the gateway: the agent reports
// it as an ordinary barcode. The 62 prefix also belongs to some bank
// wallets, so Classify can say UnionPay for a code the gateway then refuses;
// the gateway has the last word.
//
// # Secrets of a sort
//
// A payment code charges the customer's wallet once, within about a minute
// (Validity). It is masked in logs, events, receipts and the API: Mask keeps
// the first and last four digits ("1345**********6789"); MaskIn finds codes
// inside longer text (wrapped in an AIM symbology identifier, split by
// invisible characters, written with full-width digits) and masks them too.
//
// # Caveats
//
//   - Classify is a shape check, not a check digit: wallets publish none.
//   - Bare accepts one AIM identifier in front; a code embedded in a longer
//     string ("PAY:134567890123456789") is masked by MaskIn but is not a
//     payment code (the agent never charges it).
//   - Validity is the wallets' published figure, not something a code
//     carries: the gateway may refuse a code earlier.
package paycode
