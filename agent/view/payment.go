package view

import (
	"time"

	"github.com/posagent/posagent/agent/dupguard"
	"github.com/posagent/posagent/store"
)

// Payment is the public JSON of a payment (docs/api.md).
type Payment struct {
	ID        string      `json:"id"`
	OrderID   string      `json:"order_id"`
	Reference string      `json:"reference"`
	Mode      string      `json:"mode"`
	Wallet    string      `json:"wallet"`
	Amount    int64       `json:"amount"`
	Tip       int64       `json:"tip"`
	Total     int64       `json:"total"` // amount + tip: what the customer is charged
	Currency  string      `json:"currency"`
	State     store.State `json:"state"`
	// Reason is what a processing payment waits for (agent.ReasonWaitingForCustomer).
	Reason         string         `json:"reason,omitempty"`
	Error          *store.Error   `json:"error"`
	CodeURL        string         `json:"code_url,omitempty"`
	QRExpiresAt    *time.Time     `json:"qr_expires_at,omitempty"`
	AuthCodeMasked string         `json:"auth_code_masked,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	History        []HistoryEntry `json:"history"`
	Refunds        []Refund       `json:"refunds"`
	Refunded       int64          `json:"refunded"`
	// Answer is the gateway's last answer about the payment, as structure.
	Answer *store.Answer `json:"gateway_answer,omitempty"`
	// Resolution is a manager's decision on an in-doubt payment.
	Resolution *store.Resolution `json:"resolution,omitempty"`
	// Operator is the cashier who took the payment.
	Operator string `json:"operator,omitempty"`
	// WalletSide is the wallet's side of the payment, as the gateway told it.
	WalletSide *store.WalletSide `json:"wallet_side,omitempty"`
	// Warnings are for the cashier (possible_duplicate); nothing was refused.
	Warnings []dupguard.Warning `json:"warnings,omitempty"`
}

// HistoryEntry is one state a payment went through.
type HistoryEntry struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	// Retries is set on a queued entry: how many times the send was
	// retried while the gateway could not be reached (the history keeps
	// one entry per state change, not a processing/queued pair per retry).
	Retries int `json:"retries,omitempty"`
}

// Refund is the public JSON of one refund.
type Refund struct {
	ID        string            `json:"id"`
	OrderID   string            `json:"order_id"`
	Amount    int64             `json:"amount"`
	State     store.RefundState `json:"state"`
	Automatic bool              `json:"automatic,omitempty"`
	Operator  string            `json:"operator,omitempty"`
	Approver  string            `json:"approved_by,omitempty"`
	Error     *store.Error      `json:"error,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	// Behind: the refund of the same payment this one waits for (refunds
	// of one payment reach the gateway one at a time).
	Behind string `json:"behind,omitempty"`
	// Ambiguous: why this in-doubt refund cannot be settled without a
	// guess; a manager settles it (POST .../refunds/{id}/resolve).
	Ambiguous string `json:"ambiguous,omitempty"`
	// RetryOf: the refund, proven not made, this one makes again.
	RetryOf    string            `json:"retry_of,omitempty"`
	Resolution *store.Resolution `json:"resolution,omitempty"`
}

// PaymentOf is the public JSON of a journal record (what the engine
// answers and its events, lists and exports show).
func PaymentOf(p *store.Payment) *Payment {
	out := &Payment{
		ID: p.ID, OrderID: p.OrderID, Reference: p.Reference, Mode: p.Mode, Wallet: p.Wallet,
		Amount: p.Amount, Currency: p.Currency, State: p.State, Reason: p.Reason, Error: p.Error, CodeURL: p.CodeURL,
		AuthCodeMasked: p.AuthCodeMasked, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
		History: []HistoryEntry{}, Refunds: []Refund{}, Refunded: p.Refunded(),
		Answer: p.Answer, Resolution: p.Resolution, Operator: p.Operator,
		Tip: p.Tip, Total: p.Amount + p.Tip, WalletSide: p.WalletSide, Warnings: dupguard.Warnings(p),
	}
	if !p.QRExpiresAt.IsZero() {
		t := p.QRExpiresAt.UTC()
		out.QRExpiresAt = &t
	}
	for _, h := range p.History {
		out.History = append(out.History, HistoryEntry{State: h.State, At: h.At.UTC(), Retries: h.Retries})
	}
	for _, r := range p.Refunds {
		out.Refunds = append(out.Refunds, Refund{ID: r.ID, OrderID: r.OrderID, Amount: r.Amount, State: r.State,
			Automatic: r.Auto, Operator: r.Operator, Approver: r.ApprovedBy, Error: r.Error, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
			Behind: r.Behind, Ambiguous: r.Ambiguous, RetryOf: r.RetryOf, Resolution: r.Resolution})
	}
	return out
}
