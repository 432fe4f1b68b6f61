package display

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/posagent/posagent/money"
)

// Screen kinds, the values of Screen.Kind.
const (
	KindIdle       = "idle"
	KindAmountDue  = "amount_due"
	KindScanPrompt = "scan_prompt"
	KindQR         = "qr"
	KindPaid       = "paid"
	KindFailed     = "failed"
	KindCancelled  = "cancelled"
)

// Screen is what the customer should see right now. It is plain data: the
// web page, the pole display and the PNG renderer each draw it their own way.
type Screen struct {
	Kind      string    `json:"kind"`                 // idle | amount_due | scan_prompt | qr | paid | failed | cancelled
	Amount    int64     `json:"amount"`               // minor units (cents)
	Tip       int64     `json:"tip,omitempty"`        // added to Amount: the screen shows the total, and the amount and tip under it
	Currency  string    `json:"currency,omitempty"`   // ISO 4217
	Wallet    string    `json:"wallet,omitempty"`     // wechat | alipay | unionpay (qr)
	CodeURL   string    `json:"code_url,omitempty"`   // the QR content (qr)
	Reference string    `json:"reference,omitempty"`  // the POS reference (invoice number)
	Message   string    `json:"message,omitempty"`    // English status line; for failed, the reason
	ExpiresAt time.Time `json:"expires_at,omitzero"`  // when the QR stops being valid (qr)
	PaymentID string    `json:"payment_id,omitempty"` // the payment this screen shows, "" for idle and cart screens
}

// Final reports whether s closes a sale (paid, failed, cancelled): such a
// screen is held for a while and then returns to idle.
func (s Screen) Final() bool {
	return s.Kind == KindPaid || s.Kind == KindFailed || s.Kind == KindCancelled
}

// Equal reports whether two screens show the same thing (times compared with
// time.Time.Equal).
func (s Screen) Equal(o Screen) bool {
	return s.Kind == o.Kind && s.Amount == o.Amount && s.Tip == o.Tip && s.Currency == o.Currency &&
		s.Wallet == o.Wallet && s.CodeURL == o.CodeURL && s.Reference == o.Reference &&
		s.Message == o.Message && s.ExpiresAt.Equal(o.ExpiresAt) && s.PaymentID == o.PaymentID
}

// Messages shown with the screens (English; the page and the renderers add
// the Chinese line themselves).
const (
	MsgScanPrompt  = "please show your payment code"
	MsgCheckingPay = "checking payment"
	MsgPreparingQR = "preparing QR code"
	MsgQRExpired   = "QR code expired"
	MsgConnecting  = "connecting to the payment service"
	MsgPaid        = "paid - thank you"
	MsgCancelled   = "payment cancelled"
	MsgDeclined    = "payment declined"
	// MsgCheckingEarlier: a new payment waits for its code while the
	// cashier checks an earlier one of the same amount that failed or is
	// in doubt (the payment's possible_duplicate warning).
	MsgCheckingEarlier = "please wait, we are checking your earlier payment"
	// MsgScanToPayUs is shown with the merchant's static QR on the idle
	// screen (display.idle_qr). Such payments do not pass through the agent.
	MsgScanToPayUs = "Scan to pay us"
	// MsgConfirmOnPhone: the wallet asks the customer to confirm the scan
	// payment on the phone (a password, or a confirmation above a limit):
	// the payment's reason waiting_for_customer.
	MsgConfirmOnPhone = "Please confirm the payment on your phone"
)

// Payment is the part of the contract's payment JSON (docs/architecture.md,
// "events and the payment JSON") that the display needs.
type Payment struct {
	ID          string        `json:"id"`
	OrderID     string        `json:"order_id,omitempty"`
	Reference   string        `json:"reference,omitempty"`
	Mode        string        `json:"mode"`   // scan | qr
	Wallet      string        `json:"wallet"` // wechat | alipay | unionpay, may be "" for scan until the code is read
	Amount      int64         `json:"amount"`
	Tip         int64         `json:"tip,omitempty"`
	Currency    string        `json:"currency"`
	State       string        `json:"state"`
	Reason      string        `json:"reason,omitempty"` // waiting_for_customer: the customer confirms on the phone
	Error       *PaymentError `json:"error"`
	CodeURL     string        `json:"code_url,omitempty"`
	QRExpiresAt time.Time     `json:"qr_expires_at,omitzero"`
	UpdatedAt   time.Time     `json:"updated_at,omitzero"`
	Warnings    []Warning     `json:"warnings,omitempty"`
}

// Warning is a payment's warning for the cashier (code possible_duplicate).
type Warning struct {
	Code string `json:"code"`
}

// PaymentError is the contract's error object {code, message}.
type PaymentError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// UnmarshalJSON accepts the contract's payment JSON. Times may be RFC 3339
// strings, "" or null (a scan payment has no qr_expires_at).
func (p *Payment) UnmarshalJSON(b []byte) error {
	type plain Payment
	var aux struct {
		plain
		QRExpiresAt *string `json:"qr_expires_at"`
		UpdatedAt   *string `json:"updated_at"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return fmt.Errorf("display: decode payment: %w", err)
	}
	*p = Payment(aux.plain)
	var err error
	if p.QRExpiresAt, err = parseOptTime(aux.QRExpiresAt); err != nil {
		return fmt.Errorf("display: decode payment %s: qr_expires_at: %w", p.ID, err)
	}
	if p.UpdatedAt, err = parseOptTime(aux.UpdatedAt); err != nil {
		return fmt.Errorf("display: decode payment %s: updated_at: %w", p.ID, err)
	}
	return nil
}

func parseOptTime(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, *s)
}

// Payment states (docs/payments.md).
const (
	stateAwaitingCode = "awaiting_code"
	stateProcessing   = "processing"
	stateQueued       = "queued"
	stateInDoubt      = "in_doubt"
	stateSucceeded    = "succeeded"
	stateFailed       = "failed"
	stateCancelled    = "cancelled"
	stateExpired      = "expired"
	stateReversed     = "reversed"
	// reasonWaitingForCustomer is a processing payment's reason while the
	// customer confirms it on the phone (agent.ReasonWaitingForCustomer).
	reasonWaitingForCustomer = "waiting_for_customer"
)

// finalState reports whether a payment state never changes again.
func finalState(state string) bool {
	switch state {
	case stateSucceeded, stateFailed, stateCancelled, stateExpired, stateReversed:
		return true
	}
	return false
}

// ScreenFor says what the customer display shows for payment p at time now.
// It is pure. Rules:
//
//	scan  processing, waiting_for_customer       -> amount_due "Please confirm the payment on your phone"
//	scan  awaiting_code, processing, queued     -> scan_prompt with the amount
//	qr    processing with a code_url not expired -> qr
//	qr    processing, QR expired                 -> amount_due "QR code expired"
//	qr    awaiting_code/processing without a QR  -> amount_due "preparing QR code"
//	qr    queued                                 -> amount_due "connecting ..."
//	in_doubt                                     -> amount_due "checking payment"
//	succeeded                                    -> paid
//	failed, expired                              -> failed, Message = the reason
//	cancelled, reversed                          -> cancelled
//	anything else (a state this build does not know) -> amount_due
func ScreenFor(p Payment, now time.Time) Screen {
	s := Screen{
		Amount:    p.Amount,
		Tip:       p.Tip,
		Currency:  p.Currency,
		Wallet:    p.Wallet,
		Reference: p.Reference,
		PaymentID: p.ID,
	}
	switch p.State {
	case stateSucceeded:
		s.Kind, s.Message = KindPaid, MsgPaid
	case stateFailed, stateExpired:
		s.Kind, s.Message = KindFailed, failureReason(p)
	case stateCancelled, stateReversed:
		s.Kind, s.Message = KindCancelled, MsgCancelled
	case stateInDoubt:
		s.Kind, s.Message = KindAmountDue, MsgCheckingPay
	case stateAwaitingCode, stateProcessing, stateQueued:
		if p.State == stateAwaitingCode && possibleDuplicate(p) {
			s.Kind, s.Message = KindAmountDue, MsgCheckingEarlier
			break
		}
		if p.Mode != "qr" && p.State == stateProcessing && p.Reason == reasonWaitingForCustomer {
			s.Kind, s.Message = KindAmountDue, MsgConfirmOnPhone
			break
		}
		if p.Mode != "qr" {
			s.Kind, s.Message = KindScanPrompt, MsgScanPrompt
			break
		}
		s.Kind = KindAmountDue
		switch {
		case p.State == stateQueued:
			s.Message = MsgConnecting
		case p.CodeURL == "":
			s.Message = MsgPreparingQR
		case !p.QRExpiresAt.IsZero() && !now.Before(p.QRExpiresAt):
			s.Message = MsgQRExpired
		default:
			s.Kind = KindQR
			s.CodeURL = p.CodeURL
			s.ExpiresAt = p.QRExpiresAt
		}
	default:
		s.Kind = KindAmountDue
	}
	return s
}

// failureReason is the line shown under "payment failed": the gateway's
// message when there is one, else a readable form of the error code.
func failureReason(p Payment) string {
	if p.State == stateExpired {
		return "payment code expired before the payment service could be reached"
	}
	if p.Error == nil {
		return MsgDeclined
	}
	if m := strings.TrimSpace(p.Error.Message); m != "" {
		return m
	}
	switch p.Error.Code {
	case "declined", "":
		return MsgDeclined
	case "invalid_code":
		return "invalid payment code"
	case "code_expired":
		return "payment code expired"
	case "gateway_unreachable":
		return "payment service unreachable"
	}
	return strings.ReplaceAll(p.Error.Code, "_", " ")
}

// Display languages: which language a screen shows first (the other is
// shown too, second, where there is room).
const (
	LangEN   = "en"
	LangZH   = "zh"
	LangAuto = "auto" // Chinese first for WeChat Pay and Alipay payments, else the shop's language
)

// ParseLanguage accepts en (also ""), zh (zh-cn, zh-hans) and auto.
func ParseLanguage(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "en":
		return LangEN, nil
	case "zh", "zh-cn", "zh-hans":
		return LangZH, nil
	case "auto":
		return LangAuto, nil
	}
	return "", fmt.Errorf("display: language %q: want en, zh or auto", s)
}

// PrimaryLanguage says which language s is shown in first, for a display
// set to language (en, zh or auto) in a shop whose own language is shop
// (en or zh). With auto, a WeChat Pay or Alipay payment is Chinese first:
// most of their customers read Chinese first; every other screen (UnionPay,
// a scan before its code is read, the cart, idle) is in the shop's language.
// page.html's primary() mirrors it.
func PrimaryLanguage(language, shop string, s Screen) string {
	switch language {
	case LangZH:
		return LangZH
	case LangAuto:
		if s.Wallet == "wechat" || s.Wallet == "alipay" || shop == LangZH {
			return LangZH
		}
	}
	return LangEN
}

// TipLine is the line under the total of a screen with a tip:
// "12.50 + tip 2.00" ("" without a tip).
func TipLine(s Screen) string {
	if s.Tip == 0 {
		return ""
	}
	return money.Amount(s.Amount).Format(s.Currency) + " + tip " + money.Amount(s.Tip).Format(s.Currency)
}

// possibleDuplicate reports whether a payment carries the agent's
// possible_duplicate warning.
func possibleDuplicate(p Payment) bool {
	for _, w := range p.Warnings {
		if w.Code == "possible_duplicate" {
			return true
		}
	}
	return false
}
