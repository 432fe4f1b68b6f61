// Package store is the payment journal of posagent: one bbolt file that holds
// every payment with its refunds and history, the order-id index, the
// idempotency keys of the local API, the durable outbox of background jobs and
// the event log that the local API streams.
//
// # Basics
//
// Open the file once per process with [Open]; a second process gets
// [ErrLocked] after Options.LockTimeout (default 1 s; a zero value never means
// "wait forever"). A file that is not a readable bbolt journal gives
// [ErrCorrupt]; the file is then left exactly as it was, never replaced.
//
// Every state change is one [Store.Update]: a closure that reads and writes
// records through [Tx], appends its events and queues its outbox jobs. The
// transaction is committed with fsync (bbolt's default) before Update returns,
// and only then are the appended events handed to Options.OnCommit, in
// sequence order. A caller therefore acts on a change, or announces it, only
// once it is durable.
//
// Buckets:
//
//	payments   payment id -> Payment JSON (refunds and history inside)
//	orders     order id (of a payment or of a refund) -> payment id
//	idem       idempotency key -> request hash + payment id (+ refund id)
//	outbox     uint64 sequence (big-endian) -> Job JSON, in creation order
//	events     uint64 sequence (big-endian) -> event JSON; the sequence
//	           never goes back, even after Compact or a restart
//	meta       schema version
//
// Payment ids are time-ordered ("pay_" + fixed-width base-36 nanoseconds +
// random), so the payments bucket iterates in creation order and listing
// newest-first is a reverse cursor walk.
//
// # Payment codes
//
// The customer's payment code (auth_code) is kept only while a payment may
// still need it. [Tx.PutPayment] erases it in the same transaction that writes
// a final state, so the live record of a final payment never holds it.
//
// # Caveats
//
//   - bbolt is copy-on-write: a page freed by a later transaction keeps its
//     old bytes until it is reused, so an erased payment code can survive in a
//     free page of the file for a while (until the page is reused, or the file
//     is compacted with "bbolt compact"). The live record never holds it.
//   - One process at a time: the file lock is exclusive.
//   - [Store.Compact] deletes final, synced payments (no pending outbox job)
//     older than a cut-off, with their order-index and idempotency entries,
//     and events older than the cut-off. It does not shrink the file; bbolt
//     reuses the freed pages.
package store
