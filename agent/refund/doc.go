// Package refund is the payment engine's refund desk: it takes a refund
// of a succeeded payment (within what is left, and within the limits of
// what a cashier may refund without a manager's approval), sends it to
// the gateway, settles it when its outcome is unknown, makes again the
// automatic refund of a sale paid after it was abandoned until it is
// made, and takes a manager's word on a refund only the merchant portal
// can settle.
//
// # Taking a refund
//
// Only of a succeeded payment; never more than what is left, counting
// pending, in_doubt and succeeded refunds as used. A refund is judged and
// recorded in one journal transaction, against what the journal holds at
// that moment: what is left, and the limits without approval (Limits:
// per payment, and per shift, counted on the shift), so that refunds
// split into small ones, sent at once, or asked as "all" cannot pass a
// limit that one refund could not. The refund is committed with its own
// order id and an outbox job; Take waits up to Options.APIWait for its
// answer.
//
// # One at a time, and judging the refunded total
//
// Refunds of one payment reach the gateway one at a time, in the order
// they were asked for: the first refund that is not final (the head) is
// sent or settled; the others wait behind it (store.Refund.Behind) and
// are woken when it ends. NotSent: it stays pending and is sent again
// (Options.RetryBackoff). A refusal of a cashier's refund on a channel
// just proven sound (agent/gwauth): failed. Anything else: in_doubt, never
// sent again. The gateway reports a refund only as its original order's
// refunded total, so with one refund at a time of unknown outcome that
// total can always be explained: it equals the succeeded refunds (the
// head was not made, once it has had Options.RefundSettle on both the
// wall and the monotonic clock), or those plus the head (it was).
// Anything else is not guessed at: the refund stays in doubt with
// Refund.Ambiguous set, and a manager settles it by hand (Resolve) with
// the merchant portal in hand. A cashier's refund proven not made can be
// made again in one step (Retry). The decisions are pure functions of
// the record and the answer (judge.go), run inside the transaction that
// records their result.
//
// # Reversal
//
// A sale the gateway reports paid after it was abandoned is refunded in
// full automatically (Reverse); the payment stays in_doubt until the
// refund succeeds, and then is reversed. One proven not made is made
// again under a new refund order id, later and later, and after
// Options.ReversalEscalate the payment says so (reversal_stuck).
//
// # The engine
//
// The desk reads and writes the engine's journal (package store) and
// reaches the engine (package agent) through interfaces of its own:
// Engine (the payment's transaction, idempotency keys, ids and shift, the
// outbox's bookkeeping, the engine's names for gateway answers) and Clock.
// It never imports package agent; the engine builds it in agent.New,
// hands it its refund jobs (Send) and keeps thin methods for its callers
// (agent.Engine.RefundPayment, ResolveRefund, RetryRefund, Refundable),
// which answer with the payment as the API shows it.
package refund
