// Package walletside reads what the gateway's answers say about the
// wallet's side of a payment: the buyer's masked account, the wallet's own
// transaction number (the one the customer sees in their app), the
// wallet's trade time, a convenience fee, the total charged, and the
// exchange rate and amount in CNY. The receipt prints them and the
// exports carry them; none of them decides the payment's state.
//
// It is pure: Of reads one answer (a *gateway.Result) into a
// store.WalletSide; Keep merges the side carried by a payment's last
// answer into what the payment keeps, so that a later answer adds what an
// earlier one lacked and never erases it; ReadTradeTime reads the
// wallet's yyyyMMddHHmmss trade time in the gateway's zone, once. The
// engine (package agent) calls Of when it records an answer and Keep with
// ReadTradeTime when it writes the payment.
package walletside
