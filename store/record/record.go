package record

import "time"

// State is a payment state, exactly as in the product contract.
type State string

// Payment states. The final ones never change.
const (
	AwaitingCode State = "awaiting_code"
	Processing   State = "processing"
	Queued       State = "queued"
	InDoubt      State = "in_doubt"
	Succeeded    State = "succeeded"
	Failed       State = "failed"
	Cancelled    State = "cancelled"
	Expired      State = "expired"
	Reversed     State = "reversed"
)

// Final reports whether s is a final state.
func (s State) Final() bool {
	switch s {
	case Succeeded, Failed, Cancelled, Expired, Reversed:
		return true
	}
	return false
}

// RefundState is the state of one refund.
type RefundState string

// Refund states.
const (
	RefundPending   RefundState = "pending"
	RefundInDoubt   RefundState = "in_doubt"
	RefundSucceeded RefundState = "succeeded"
	RefundFailed    RefundState = "failed"
)

// Final reports whether s is a final refund state.
func (s RefundState) Final() bool { return s == RefundSucceeded || s == RefundFailed }

// Error is why a payment or refund failed (contract: error {code, message}).
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// HistoryEntry is one state a payment or refund went through.
type HistoryEntry struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	// Retries counts the sends retried while the payment was queued (the
	// gateway unreachable): one queued entry for all of them.
	Retries int `json:"retries,omitempty"`
}

// Payment is the journal record of one payment.
type Payment struct {
	ID          string    `json:"id"`
	OrderID     string    `json:"order_id"`
	Reference   string    `json:"reference,omitempty"`
	Mode        string    `json:"mode"` // scan | qr
	Wallet      string    `json:"wallet,omitempty"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	State       State     `json:"state"`
	Error       *Error    `json:"error,omitempty"`
	CodeURL     string    `json:"code_url,omitempty"`
	QRExpiresAt time.Time `json:"qr_expires_at,omitzero"`
	// AuthCode is the customer's payment code; erased when the payment is final.
	AuthCode       string         `json:"auth_code,omitempty"`
	AuthCodeMasked string         `json:"auth_code_masked,omitempty"`
	CodeAt         time.Time      `json:"code_at,omitzero"` // when the code arrived (validity and polling windows start here)
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	History        []HistoryEntry `json:"history"`
	Refunds        []Refund       `json:"refunds"`
	// CancelRequested: the cashier stopped waiting (the sale is abandoned).
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Reason says what a processing payment waits for, as the gateway
	// said it: "waiting_for_customer" (the customer confirms or enters a
	// password on the phone). Cleared when the state changes.
	Reason string `json:"reason,omitempty"`
	// PaidLate: the gateway confirmed payment after the sale was abandoned;
	// an automatic refund is under way.
	PaidLate bool `json:"paid_late,omitempty"`
	// Attempts counts gateway sends of the payment action.
	Attempts int `json:"attempts,omitempty"`
	// LastOutcome is a short note of the last gateway answer (for the operator).
	LastOutcome string `json:"last_outcome,omitempty"`
	// Answer is the last gateway answer about this payment, as structure:
	// decisions read this, never LastOutcome's text.
	Answer *Answer `json:"answer,omitempty"`
	// Resolution records a manager settling an in-doubt payment by hand.
	Resolution *Resolution `json:"resolution,omitempty"`
	// Operator is the cashier who took the payment; GatewayOperator the
	// OTTPay operator_id sent for them ("" the gateway's configured one).
	Operator        string `json:"operator,omitempty"`
	GatewayOperator string `json:"gateway_operator,omitempty"`
	// Shift is the number of the shift open when the payment was created.
	Shift uint64 `json:"shift,omitempty"`
	// Tip is the customer's tip on top of Amount (Amount + Tip is charged).
	Tip int64 `json:"tip,omitempty"`
	// WalletSide is the wallet's side of the payment, as the gateway's
	// answers told it (nil until one did).
	WalletSide *WalletSide `json:"wallet_side,omitempty"`
	// DuplicateOf is an earlier payment for the same amount that failed or
	// was in doubt when this one was created (a possible duplicate).
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

// Answer is what one gateway call said, as structure.
type Answer struct {
	Action      string    `json:"action"`                 // PASSIVEPAY, STATUS_QUERY, ...
	Sent        bool      `json:"sent"`                   // the request may have reached the gateway
	Answered    bool      `json:"answered"`               // a response arrived and was verified (or was a bare refusal)
	RspCode     string    `json:"rsp_code,omitempty"`     // the gateway's rsp_code
	OrderStatus string    `json:"order_status,omitempty"` // lower-case order_status
	Outcome     string    `json:"outcome"`                // paid, failed, unknown
	At          time.Time `json:"at"`
	// ChannelSound: a probe that started after this answer proved the
	// gateway's credentials (a "no such order" counts only then).
	ChannelSound bool `json:"channel_sound,omitempty"`
	// Wallet is what the answer said of the wallet's side; the engine
	// moves it to Payment.WalletSide when it records the answer.
	Wallet *WalletSide `json:"wallet,omitempty"`
}

// Resolution is a manager's decision on an in-doubt payment.
type Resolution struct {
	Outcome  string    `json:"outcome"` // paid | not_paid (a refund: made | not_made)
	Reason   string    `json:"reason"`
	Operator string    `json:"operator,omitempty"`
	At       time.Time `json:"at"`
	// Confirmed: the gateway later agreed with the decision; Contradicted:
	// it later said otherwise (what it said, and when).
	Confirmed    bool   `json:"confirmed,omitempty"`
	Contradicted string `json:"contradicted,omitempty"`
	// Unanswered: the follow-up ended on its schedule with no final
	// answer from the gateway.
	Unanswered bool      `json:"unanswered,omitempty"`
	CheckedAt  time.Time `json:"checked_at,omitzero"`
}

// Open reports whether a payment's resolution by hand is still followed:
// the gateway has neither confirmed nor contradicted it yet.
func (r *Resolution) Open() bool {
	return r != nil && !r.Confirmed && r.Contradicted == "" && !r.Unanswered
}

// Refund is one refund of a payment, with its own order id.
type Refund struct {
	ID        string         `json:"id"`
	OrderID   string         `json:"order_id"`
	Amount    int64          `json:"amount"`
	State     RefundState    `json:"state"`
	Auto      bool           `json:"auto,omitempty"` // automatic refund of a late payment
	Error     *Error         `json:"error,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	History   []HistoryEntry `json:"history,omitempty"`
	// Operator asked for the refund, ApprovedBy (a manager) approved it
	// with a PIN; GatewayOperator is the OTTPay operator_id sent.
	Operator        string `json:"operator,omitempty"`
	ApprovedBy      string `json:"approved_by,omitempty"`
	GatewayOperator string `json:"gateway_operator,omitempty"`
	// Shift is the number of the shift open when the refund was created.
	Shift uint64 `json:"shift,omitempty"`
	// Behind is the refund of the same payment this one waits for: refunds
	// of one payment reach the gateway one at a time, so that what the
	// gateway shows refunded can always be explained.
	Behind string `json:"behind,omitempty"`
	// SentAt is when the last send that may have reached the gateway ended.
	SentAt time.Time `json:"sent_at,omitzero"`
	// Ambiguous says why an in-doubt refund cannot be settled without a
	// guess (the gateway's refunded total does not match it); a manager
	// settles it by hand (Resolution).
	Ambiguous string `json:"ambiguous,omitempty"`
	// RetryOf is the refund, proven not made, that this one makes again.
	RetryOf string `json:"retry_of,omitempty"`
	// Resolution records a manager settling an in-doubt refund by hand
	// (Outcome made or not_made).
	Resolution *Resolution `json:"resolution,omitempty"`
}

// Refunded is the sum of succeeded refunds.
func (p *Payment) Refunded() int64 {
	var n int64
	for _, r := range p.Refunds {
		if r.State == RefundSucceeded {
			n += r.Amount
		}
	}
	return n
}

// Committed is the sum of refunds that are or may become money returned
// (pending, in_doubt and succeeded): what may no longer be refunded.
func (p *Payment) Committed() int64 {
	var n int64
	for _, r := range p.Refunds {
		if r.State != RefundFailed {
			n += r.Amount
		}
	}
	return n
}

// Refund returns the refund with the given id, or nil.
func (p *Payment) Refund(id string) *Refund {
	for i := range p.Refunds {
		if p.Refunds[i].ID == id {
			return &p.Refunds[i]
		}
	}
	return nil
}

// Job kinds of the outbox.
const (
	JobQuery   = "query"   // reconcile an in-doubt payment by STATUS_QUERY
	JobRefund  = "refund"  // send (or resend with the same order id) a refund
	JobReceipt = "receipt" // print a receipt
)

// Job is one durable background task.
type Job struct {
	Seq       uint64    `json:"seq"` // key in the outbox bucket, set by AddJob
	Kind      string    `json:"kind"`
	PaymentID string    `json:"payment_id"`
	RefundID  string    `json:"refund_id,omitempty"`
	Reprint   bool      `json:"reprint,omitempty"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Last is the last attempt's gateway answer, as structure.
	Last *Answer `json:"last,omitempty"`
	// NotFound counts consecutive verified STATUS_QUERY answers that the
	// gateway has no such order (rsp_code FAIL).
	NotFound int `json:"not_found,omitempty"`
}

// Idem is a stored idempotency key.
type Idem struct {
	Hash      string    `json:"hash"` // hash of method, path and body
	PaymentID string    `json:"payment_id"`
	RefundID  string    `json:"refund_id,omitempty"`
	Status    int       `json:"status,omitempty"` // HTTP status of the first answer
	CreatedAt time.Time `json:"created_at"`
}

// Event is one journal event: its sequence and its JSON (which the caller
// builds; it must contain an "at" RFC 3339 time for Compact).
type Event struct {
	Seq  uint64
	Data []byte
	// Value is what the appender handed AppendEventWith (never stored):
	// set only on events passed to OnCommit or listed by Uncommitted.
	Value any
}
