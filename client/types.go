package client

import (
	"encoding/json"
	"time"
)

// The request and answer types of the local API, field for field as
// docs/api.md describes them. Amounts are int64 minor units (1250 =
// 12.50); times are UTC. TestTypesMatchTheAPI encodes the daemon's own
// types, every field set, and decodes them here without losing a field.

// Payment states (docs/payments.md). Succeeded, Failed, Cancelled,
// Expired and Reversed are final: they never change. InDoubt is not: the
// gateway has not said whether the customer paid.
const (
	AwaitingCode = "awaiting_code"
	Processing   = "processing"
	Queued       = "queued"
	InDoubt      = "in_doubt"
	Succeeded    = "succeeded"
	Failed       = "failed"
	Cancelled    = "cancelled"
	Expired      = "expired"
	Reversed     = "reversed"
)

// Refund states; RefundSucceeded and RefundFailed are final.
const (
	RefundPending   = "pending"
	RefundInDoubt   = "in_doubt"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)

// Final reports whether a payment state never changes again.
func Final(state string) bool {
	switch state {
	case Succeeded, Failed, Cancelled, Expired, Reversed:
		return true
	}
	return false
}

// ReasonWaitingForCustomer is Payment.Reason while the customer confirms
// a scanned payment on the phone.
const ReasonWaitingForCustomer = "waiting_for_customer"

// Payment is a payment as the API answers it.
type Payment struct {
	ID        string `json:"id"`
	OrderID   string `json:"order_id"`
	Reference string `json:"reference"`
	Mode      string `json:"mode"`   // scan | qr
	Wallet    string `json:"wallet"` // wechat | alipay | unionpay
	Amount    int64  `json:"amount"`
	Tip       int64  `json:"tip"`
	Total     int64  `json:"total"` // amount + tip: what the customer is charged
	Currency  string `json:"currency"`
	State     string `json:"state"`
	// Reason is what a processing payment waits for (ReasonWaitingForCustomer).
	Reason         string         `json:"reason,omitempty"`
	Error          *PaymentError  `json:"error"`
	CodeURL        string         `json:"code_url,omitempty"`
	QRExpiresAt    *time.Time     `json:"qr_expires_at,omitempty"`
	AuthCodeMasked string         `json:"auth_code_masked,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	History        []HistoryEntry `json:"history"`
	Refunds        []Refund       `json:"refunds"`
	Refunded       int64          `json:"refunded"`
	// Answer is the gateway's last answer about the payment.
	Answer *Answer `json:"gateway_answer,omitempty"`
	// Resolution is a manager's decision on an in-doubt payment.
	Resolution *Resolution `json:"resolution,omitempty"`
	Operator   string      `json:"operator,omitempty"`
	WalletSide *WalletSide `json:"wallet_side,omitempty"`
	// Warnings are for the cashier (possible_duplicate); nothing was refused.
	Warnings []Warning `json:"warnings,omitempty"`

	// Replayed is set by CreatePayment when the API answered from an
	// earlier request with the same Idempotency-Key (Idempotent-Replayed).
	Replayed bool `json:"-"`
}

// Final reports whether the payment's state never changes again.
func (p *Payment) Final() bool { return Final(p.State) }

// PaymentError is why a payment or refund failed, or a scan was refused.
type PaymentError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// HistoryEntry is one state a payment went through.
type HistoryEntry struct {
	State   string    `json:"state"`
	At      time.Time `json:"at"`
	Retries int       `json:"retries,omitempty"` // sends retried while queued
}

// Refund is one refund of a payment.
type Refund struct {
	ID         string        `json:"id"`
	OrderID    string        `json:"order_id"`
	Amount     int64         `json:"amount"`
	State      string        `json:"state"`
	Automatic  bool          `json:"automatic,omitempty"`
	Operator   string        `json:"operator,omitempty"`
	Approver   string        `json:"approved_by,omitempty"`
	Error      *PaymentError `json:"error,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
	Behind     string        `json:"behind,omitempty"`    // the refund of the same payment it waits for
	Ambiguous  string        `json:"ambiguous,omitempty"` // why a manager must settle it
	RetryOf    string        `json:"retry_of,omitempty"`
	Resolution *Resolution   `json:"resolution,omitempty"`
}

// Answer is what one gateway call said, as structure.
type Answer struct {
	Action       string      `json:"action"`
	Sent         bool        `json:"sent"`
	Answered     bool        `json:"answered"`
	RspCode      string      `json:"rsp_code,omitempty"`
	OrderStatus  string      `json:"order_status,omitempty"`
	Outcome      string      `json:"outcome"` // paid, failed, unknown
	At           time.Time   `json:"at"`
	ChannelSound bool        `json:"channel_sound,omitempty"`
	Wallet       *WalletSide `json:"wallet,omitempty"`
}

// Resolution is a manager's decision on an in-doubt payment or refund,
// and what the gateway said of it later.
type Resolution struct {
	Outcome      string    `json:"outcome"` // paid | not_paid (a refund: made | not_made)
	Reason       string    `json:"reason"`
	Operator     string    `json:"operator,omitempty"`
	At           time.Time `json:"at"`
	Confirmed    bool      `json:"confirmed,omitempty"`
	Contradicted string    `json:"contradicted,omitempty"`
	Unanswered   bool      `json:"unanswered,omitempty"`
	CheckedAt    time.Time `json:"checked_at,omitzero"`
}

// WalletSide is what the gateway said of the customer's side of a payment.
type WalletSide struct {
	BuyerLoginID  string    `json:"buyer_login_id,omitempty"`
	TradeTime     string    `json:"trade_time,omitempty"` // yyyyMMddHHmmss in the gateway's zone
	TradeAt       time.Time `json:"trade_at,omitzero"`
	TransactionID string    `json:"transaction_id,omitempty"`
	Fee           int64     `json:"fee,omitempty"`
	Total         int64     `json:"total,omitempty"`
	Rate          int64     `json:"rate,omitempty"`
	CNYAmount     int64     `json:"cny_amount,omitempty"`
}

// Warning is something for the cashier to look at; nothing was refused.
type Warning struct {
	Code      string `json:"code"` // possible_duplicate
	Message   string `json:"message"`
	PaymentID string `json:"payment_id,omitempty"`
}

// Approval is a manager's PIN given in a request: a refund above
// refunds.approval_above, a tip above tips.max_percent. The API checks it,
// counts the attempt and forgets the PIN.
type Approval struct {
	Operator string `json:"operator"`
	PIN      string `json:"pin"`
}

// PaymentRequest is POST /v1/payments.
type PaymentRequest struct {
	Amount    int64  `json:"amount"`
	Tip       int64  `json:"tip,omitempty"`
	Mode      string `json:"mode"`             // scan | qr
	Wallet    string `json:"wallet,omitempty"` // qr: wechat, alipay, unionpay
	Currency  string `json:"currency,omitempty"`
	Reference string `json:"reference,omitempty"` // the sale number
	AuthCode  string `json:"auth_code,omitempty"` // scan: the customer's code, when known
	Replace   bool   `json:"replace,omitempty"`   // replace the scan payment waiting for a code
	Operator  string `json:"operator,omitempty"`
	// Approval: a manager's PIN for a tip above tips.max_percent.
	Approval *Approval `json:"approval,omitempty"`
}

// RefundRequest is POST /v1/payments/{id}/refunds: Amount, or (0) all
// that is left.
type RefundRequest struct {
	Amount   int64     `json:"-"`
	Operator string    `json:"operator,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
}

// Resolve outcomes: a payment is settled Paid or NotPaid, a refund Made
// or NotMade.
const (
	Paid    = "paid"
	NotPaid = "not_paid"
	Made    = "made"
	NotMade = "not_made"
)

// Resolution requests: POST .../resolve (a payment: Paid, NotPaid) and
// POST .../refunds/{refund}/resolve (a refund: Made, NotMade).
type ResolveRequest struct {
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
	Operator string `json:"operator,omitempty"`
}

// ListQuery filters GET /v1/payments. Zero fields do not filter.
type ListQuery struct {
	State     string // one state
	Reference string // that sale number exactly
	Find      string // part of a wallet transaction number, buyer, order id or reference (4 characters or more)
	Limit     int    // 1..500 (the API's default 50)
	After     string // the cursor: PaymentPage.NextAfter
}

// PaymentPage is one page of a list, newest first.
type PaymentPage struct {
	Payments  []Payment `json:"payments"`
	NextAfter string    `json:"next_after,omitempty"` // "" on the last page
}

// Cart is the amount due (PUT /v1/cart): shown on the display, and with
// agent.scan_auto_start taken by the next payment code scanned.
type Cart struct {
	Amount     int64      `json:"amount"`
	Currency   string     `json:"currency"`
	Reference  string     `json:"reference,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	Tip        int64      `json:"tip,omitempty"`
	TipPrompt  bool       `json:"tip_prompt,omitempty"`
	TipChoices []int      `json:"tip_choices,omitempty"`
	TipChosen  bool       `json:"tip_chosen,omitempty"`
}

// CartRequest is PUT /v1/cart.
type CartRequest struct {
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency,omitempty"`
	Reference string    `json:"reference,omitempty"`
	Tip       int64     `json:"tip,omitempty"`
	TipPrompt bool      `json:"tip_prompt,omitempty"` // the display asks the customer for a tip
	Approval  *Approval `json:"approval,omitempty"`
}

// TipChoice is POST /v1/cart/tip: one of Percent (a suggestion) or Tip
// (cents; 0 no tip).
type TipChoice struct {
	Percent  *int      `json:"percent,omitempty"`
	Tip      *int64    `json:"tip,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
}

// ScanRequest is POST /v1/scans: a code routed like a hardware scan.
type ScanRequest struct {
	Code      string `json:"code"`
	Symbology string `json:"symbology,omitempty"`
	Device    string `json:"device,omitempty"`
}

// Event kinds on the stream (docs/api.md, "Events").
const (
	KindPaymentUpdated         = "payment.updated"
	KindPaymentResolved        = "payment.resolved"
	KindResolutionContradicted = "payment.resolution_contradicted"
	KindScanBarcode            = "scan.barcode"
	KindScanIgnored            = "scan.ignored"
	KindScanRefused            = "scan.refused"
	KindDeviceChanged          = "device.changed"
	KindCartUpdated            = "cart.updated"
	KindClockJumped            = "clock.jumped"
	KindGatewayAuth            = "gateway.auth"
	KindShiftOpened            = "shift.opened"
	KindReportZ                = "report.z"
	KindReportReconciled       = "report.reconciled"
	KindRateUpdated            = "rate.updated"
	KindConfigReloaded         = "config.reloaded"
)

// Event is one event of GET /v1/events. The fields a kind does not carry
// are zero; Data is the event's JSON as sent, for the members of kinds
// not typed here (report.z, report.reconciled, shift.opened).
type Event struct {
	Seq     uint64        `json:"seq"`
	Kind    string        `json:"kind"`
	At      time.Time     `json:"at"`
	Payment *Payment      `json:"payment,omitempty"`
	Scan    *ScanInfo     `json:"scan,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Device  *Device       `json:"device,omitempty"`
	Cart    *Cart         `json:"cart,omitempty"`
	Error   *PaymentError `json:"error,omitempty"` // why a scan was refused
	Audit   *Audit        `json:"audit,omitempty"`
	Rate    *ExRate       `json:"rate,omitempty"`

	Data json.RawMessage `json:"-"`
}

// ScanInfo is a scan in an event (masked when it is a payment code).
type ScanInfo struct {
	Code      string `json:"code"`
	Symbology string `json:"symbology,omitempty"`
	Device    string `json:"device,omitempty"`
}

// Device is one scanner, printer or display.
type Device struct {
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	State      string    `json:"state"`
	LastError  string    `json:"last_error,omitempty"`
	LastScanAt time.Time `json:"last_scan_at,omitzero"`
}

// ExRate is the exchange rate of the merchant's currency to CNY.
type ExRate struct {
	Currency string    `json:"currency"`
	Rate     int64     `json:"rate"` // CNY per unit x 10^8
	At       time.Time `json:"at"`
}

// Audit is one entry of the audit trail: a request that moved money or
// changed a setting.
type Audit struct {
	Action     string `json:"action"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Credential string `json:"credential"`
	Operator   string `json:"operator,omitempty"`
	Approver   string `json:"approver,omitempty"`
	Client     string `json:"client"`
	Payment    string `json:"payment_id,omitempty"`
	Amount     int64  `json:"amount,omitempty"`
	Tip        int64  `json:"tip,omitempty"`
	Status     int    `json:"status"`
	Result     string `json:"result"`
	Detail     string `json:"detail,omitempty"`
}

// AuditEntry is an audit event as GET /v1/audit lists it.
type AuditEntry struct {
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	Audit
}
