package printer

import "time"

// Receipt is a receipt as plain data: what the merchant and the customer
// read, before any printer dialect. The agent builds one from a payment;
// Encode turns it into ESC/POS bytes; RenderPNG shows it as a picture.
type Receipt struct {
	Copy       string    // "customer" or "merchant"
	Merchant   string    // merchant name, the header
	Address    []string  // optional header lines under the name
	Terminal   string    // terminal_no / lane
	Time       time.Time // when the payment was created (printed in local time)
	PaymentID  string    // the agent's payment id
	OrderID    string    // OTTPay order_id
	Mode       string    // "scan" or "qr"
	Wallet     string    // "wechat", "alipay", "unionpay"
	Amount     int64     // minor units
	Currency   string    // ISO 4217, e.g. "CAD"
	CodeMasked string    // masked payment code, scan only
	State      string    // payment state: succeeded, failed, reversed, ...
	Refunds    []RefundLine
	Footer     []string // free text lines at the bottom
	QR         string   // optional QR content (e.g. a payment or receipt link)
	Reprint    bool     // printed again on request: marked "REPRINT"
	// Tip is added to Amount: the receipt shows the amount, the tip and
	// TOTAL (Amount + Tip). 0: TOTAL is Amount, as before tips.
	Tip int64
	// Fee is a convenience fee the gateway added (printed when not 0).
	Fee int64
	// Reference is the POS's sale number.
	Reference string
	// The wallet's side, as the gateway answered it ("" / 0: not printed):
	// the buyer's masked account, the wallet's time and transaction
	// number, the amount in CNY fen and the rate (x 10^8) it used.
	Buyer, TradeTime, WalletTxn string
	CNYAmount, Rate             int64
	// TradeAt is the wallet's time read from TradeTime: printed in the
	// profile's zone like Time (zero: TradeTime is printed as answered).
	TradeAt time.Time
	// RateAt is when the rate was fetched: set for an estimate made by
	// the agent (printed "CNY (est.)" with the rate and its time).
	RateAt time.Time
	// JobKey identifies one print job across its retries (the agent uses
	// the payment id and its outbox job's sequence): printers that
	// deduplicate deliveries, like the Android bridge, key on it. Not printed.
	JobKey string
}

// RefundLine is one refund printed under the payment.
type RefundLine struct {
	OrderID string
	Amount  int64
	State   string // pending, in_doubt, succeeded, failed
	Time    time.Time
}
