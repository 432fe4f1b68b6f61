// Package record is the journal's format, the bottom layer of the store
// packages: the records (Payment with its Refunds and History, Job, Idem,
// Event, Shift, ZRecord), how they are encoded (a stored payment with its
// sealed code, DecodePayment; events stored as deltas, EventReader), the
// buckets and keys they live under, and the shape of payment ids (IDAt).
// It does no I/O: store writes and reads these records through bbolt,
// store/check reads the same bytes from the pages without trusting them,
// and both import this package, never each other the wrong way.
//
// Buckets (layout.go):
//
//	payments      payment id -> Payment JSON (refunds and history inside; the
//	              code sealed: StoredPayment)
//	orders        order id (of a payment or of a refund) -> payment id
//	idem          idempotency key -> Idem JSON
//	outbox        U64(sequence) -> Job JSON, in creation order
//	events        U64(sequence) -> event JSON, or a delta of an earlier event
//	              (delta.go); the sequence never goes back
//	meta          schema version, journal id, accepted gaps ("gap/"), the
//	              newest event of a name ("latest/"), payment counts ("count/")
//	pay_state, by_state   the payment indexes (derived from the payments)
//	outbox_due, outbox_stats   the outbox's due index and counters (derived)
//	audit_at      the audit events by stamp (derived from the events)
//	ev_last       the last event about each thing (the base of the next delta)
//	shifts, zreports, reconciliations   the shifts and their Z reports
//
// Payment ids are time-ordered ("pay_" + fixed-width base-36 nanoseconds +
// random), so the payments bucket iterates in creation order.
package record
