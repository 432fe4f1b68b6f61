package gateway

import (
	"errors"
	"fmt"
)

// Wallet is the wallet a payment is made with, in the product's own words.
type Wallet string

const (
	WeChat   Wallet = "wechat"
	Alipay   Wallet = "alipay"
	UnionPay Wallet = "unionpay"
)

// BizType is OTTPay's name for the wallet (biz_type on the wire).
func (w Wallet) BizType() (string, error) {
	switch w {
	case WeChat:
		return "WECHATPAY", nil
	case Alipay:
		return "ALIPAY", nil
	case UnionPay:
		return "UNIONPAY", nil
	}
	return "", fmt.Errorf("unknown wallet %q (want wechat, alipay or unionpay)", string(w))
}

// Outcome is what a gateway answer means for the money. Every answer is
// reduced to one of these by Classify, the one place that decides.
type Outcome int

const (
	// Unknown: the gateway may or may not have charged (or refunded);
	// the caller must query, never resend a payment.
	Unknown Outcome = iota
	// Paid: the order is paid (or, for REFUND, the refund is done;
	// for ACTIVEPAY, the QR was issued).
	Paid
	// Failed: final, nothing was charged (or refunded).
	Failed
)

func (o Outcome) String() string {
	switch o {
	case Paid:
		return "paid"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Action names on the wire. They stay inside this package's callers' logs
// only as OTTPay's names; the product says "scan" and "qr".
const (
	ActionPassivePay  = "PASSIVEPAY"   // scan: charge a payment code read from the customer's phone
	ActionActivePay   = "ACTIVEPAY"    // qr: obtain a code_url the customer's wallet scans
	ActionStatusQuery = "STATUS_QUERY" // state of one order
	ActionRefund      = "REFUND"       // full or partial refund
	ActionExRateQuery = "EX_RATE_QUERY"
)

// Sentinel errors callers may test with errors.Is.
var (
	// ErrNotSent: the request certainly never reached the gateway (connection
	// refused, no route, DNS failure: no byte of the request was written).
	// Safe to resend with the same order id.
	ErrNotSent = errors.New("request not sent")
	// ErrUnverified: a response arrived but failed decryption or verification
	// (digest, merchant id, order id or amount mismatch). It is not believed.
	ErrUnverified = errors.New("response failed verification")
)
