package record

import "time"

// WalletSide is what the gateway's answers said about the customer's side
// of a payment: who paid, when and under which transaction number of the
// wallet, and what the gateway added or converted. Every field is as
// answered; empty when no answer carried it.
type WalletSide struct {
	// BuyerLoginID is the wallet account (buyer_login_id), as the gateway
	// masks it.
	BuyerLoginID string `json:"buyer_login_id,omitempty"`
	// TradeTime is the wallet's time of the payment (trade_time, as sent:
	// yyyyMMddHHmmss in the gateway's zone).
	TradeTime string `json:"trade_time,omitempty"`
	// TradeAt is TradeTime read in the gateway's zone (gateway.time_zone):
	// the time a person is shown, in the shop's zone. Zero when TradeTime
	// is not a yyyyMMddHHmmss time.
	TradeAt time.Time `json:"trade_at,omitzero"`
	// TransactionID is the wallet's own transaction number, the one the
	// customer sees in their app (bizpay_order_id or transaction_id).
	TransactionID string `json:"transaction_id,omitempty"`
	// Fee is a convenience fee the gateway added to the customer's total.
	Fee int64 `json:"fee,omitempty"`
	// Total is what the customer was charged: amount + tip + fee.
	Total int64 `json:"total,omitempty"`
	// Rate is the exchange rate to CNY x 10^8 and CNYAmount the amount in
	// CNY fen, when the answer carries them.
	Rate      int64 `json:"rate,omitempty"`
	CNYAmount int64 `json:"cny_amount,omitempty"`
}
