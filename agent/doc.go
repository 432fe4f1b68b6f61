// Package agent is the payment engine of posagent: the payment state
// machine and its flows, the reconciler and outbox worker, recovery after a
// crash; it reads the device registry the daemon
// owns (Options.Devices) and journals its changes (RecordDevice). A shop trusts it
// with its money; every rule below is about never charging twice, never
// losing a charge, and never keeping money for a sale that was abandoned.
//
// It speaks no HTTP: its callers are Go methods (CreatePayment, GiveCode,
// Cancel, RefundPayment, Resolve, Subscribe, Intake().HandleScan, ...) and
// its refusals are error kinds and codes (see Errors). The local API, its
// routes and statuses, its front door and OTTPay's call-backs are package
// agent/api (docs/api.md is the reference); the live side of the event
// log is package agent/events. Beside the engine, each in a package of its
// own: the shifts, X/Z reports and reconciliations (agent/books, built over
// the engine, which never imports it), the refund desk (agent/refund, built
// by the engine, which it never imports), the exchange rate (agent/rate),
// the clock-jump watch (agent/clockwatch), the proof of the gateway's
// credentials (agent/gwauth), the gateway's meter (agent/gwmeter), the
// possible-duplicate warning (agent/dupguard), what the gateway's answers
// say of the wallet's side (agent/walletside), where a scan goes with
// the cart and its tips (agent/route's Intake: HandleScan, SetCart,
// ClearCart, CurrentCart, ChooseTip, SetTipChoices; the engine builds it
// over itself, and Engine.Intake hands it to the API and the daemon), and
// the read side (agent/view: the status, payment lists and exports, the
// audit trail and the metrics, which the engine builds over its journal
// and hands out with View).
//
// # Basics
//
//	st, _ := store.Open(path, store.Options{})
//	e, _ := agent.New(agent.Options{Gateway: client, Store: st, Logger: log})
//	go e.Run(ctx)                    // recovery, outbox worker, compaction
//	<-e.Ready()                      // recovered; payments are accepted (not_running before)
//	bk, _ := books.New(books.Options{Store: st, Engine: e, Clock: e.Clock()})
//	go bk.Run(ctx)                   // shifts closed at close_at, reconciliations
//	p, _, err := e.CreatePayment(ctx, agent.CreateRequest{Amount: 1250, Mode: "scan"}, agent.IdemKey{})
//
// New installs the engine's commit hook on the store (store.SetOnCommit):
// one engine per store.
//
// Every state change is one journal transaction (store.Update, fsync) that
// writes the payment, its payment.updated event and any outbox job
// together; only after the commit is it acted on (sent to the gateway) or
// announced (events, API answers).
//
// # States
//
// Exactly those of docs/payments.md; [CanTransition] is the table. Final states
// (succeeded, failed, cancelled, expired, reversed) never change. A
// payment's history lists every state with its time. Refunds are records
// on the payment: pending, in_doubt, succeeded, failed.
//
// # scan (PASSIVEPAY)
//
// The code is classified locally (paycode.Classify); anything that is not
// a payment code is refused (invalid_code) and never reaches the gateway.
// The payment is committed as processing, with its device-generated order
// id (20 letters and digits) and the code, before the send. Then:
//
//	Paid                 -> succeeded
//	Failed               -> failed, error.code from rsp_code (FAIL declined,
//	                        PWD_INCORRECT wrong_password, PARAM_* invalid_code,
//	                        ORDER_TYPE_ERROR wallet_not_supported)
//	Unknown              -> STATUS_QUERY 3 s after the reply (5 s after a system
//	                        error or no answer), then every 3 s until 60 s after
//	                        the code arrived; still unknown -> in_doubt
//	NotSent (no byte     -> queued; retried with the same order id every 3 s
//	reached the gateway)    (each retry is committed as processing first) until
//	                        the code's 60 s validity ends -> expired
//
// PASSIVEPAY is never resent for an order that may have reached the
// gateway: after a crash a processing payment is only ever queried.
//
// # qr (ACTIVEPAY)
//
// Committed as processing, then ACTIVEPAY; the code_url and qr_expires_at
// (now + 3 min) are stored and the order is polled every 2 s. The display
// shows the QR only while the payment is processing, so the QR leaves the
// screen at the end of the window or on cancel, and one answer decides:
// paid -> succeeded (after a cancel: refunded, reversed); closed or failure
// -> cancelled; notpay or no answer -> in_doubt, because a customer can
// still pay a QR they already scanned. ACTIVEPAY refused -> failed;
// ACTIVEPAY not sent -> failed gateway_unreachable (nothing can be paid: no
// QR was shown; the API answers such a payment as unavailable).
//
// # Cancel, in doubt, and the automatic refund
//
// Cancel of awaiting_code or queued (nothing sent) -> cancelled at once.
// Cancel of processing: the driver stops waiting and queries once:
// closed/failed -> cancelled; paid -> automatic refund; else in_doubt.
//
// An in_doubt payment belongs to the reconciler (an outbox query job at
// +2 min, +10 min, +1 h, +6 h, +24 h, then every 24 h). Our rule: a sale in
// doubt has been abandoned (the cashier was told it did not go through),
// so when the gateway later says paid, the agent refunds the whole amount
// automatically (a refund record with its own persisted order id, sent by
// the outbox: agent/refund's Reverse) and the payment becomes reversed
// when the refund succeeds.
// Confirmed not paid -> cancelled (or failed for a scan payment the
// cashier did not cancel). The automatic refund is carried through: one
// proven not made is made again under a new refund order id, with
// backoff, until it is made (error.code reversal_stuck after
// ReversalEscalate). A manager's resolution is followed until the gateway
// confirms or contradicts it (resolve.go).
//
// A FAIL to STATUS_QUERY counts as "no such order" only when a probe
// started after it proved the gateway's credentials (agent/gwauth); refused
// credentials hold payments with gateway_auth (unavailable).
//
// A crash between committing processing and sending leaves an order the
// gateway never saw; it can never be charged, because the agent never
// resends. When STATUS_QUERY answers FAIL ("no such order") twice in a
// row after the code's validity (or the QR window) has ended, the payment
// is failed (cancelled if the cashier cancelled) with error.code
// gateway_unreachable.
//
// # Refunds
//
// The refund desk, package agent/refund, takes, sends and settles refunds
// (refund.Desk; see its doc): only of a succeeded payment, never more than
// what is left, judged and recorded in one transaction; sent one at a time
// per payment; NotSent -> stays pending and is retried (backoff 3 s, 15 s,
// 1 min, 5 min, 15 min, 1 h...); Unknown (including ORDER_USED) ->
// in_doubt, never sent again, settled from the original order's refunded
// total or by a manager (ResolveRefund). The engine builds the desk, runs
// its jobs in the outbox and keeps RefundPayment, ResolveRefund,
// RetryRefund and Refundable for its callers.
//
// # Outbox
//
// Durable jobs in the journal (query, refund, receipt) with attempts,
// next_at and last_error; they survive restarts. The worker wakes on every
// commit and at the next due time; Sync makes every job due now.
// Receipts are queued in the same transaction that makes a payment
// succeeded or reversed (and for each succeeded refund) when AutoPrint is
// on; a failing printer is retried forever and never touches a payment.
//
// # Events
//
// Every change appends an event (seq, kind, at, payload) in the same
// transaction. Subscribe(after) replays the journal and then streams live
// events with no gap and no duplicate, so a subscriber resumes from the
// last seq it saw (the API serves them as server-sent events). Kinds:
// payment.updated, scan.barcode, scan.ignored (code masked),
// scan.refused, device.changed, cart.updated.
//
// # Scans
//
// Intake().HandleScan suppresses the same code within
// DedupWindow (2 s); a payment code goes to the one scan payment in
// awaiting_code, else (with ScanAutoStart and an amount due set with
// SetCart) starts a payment for the cart, else becomes a scan.ignored
// event: never charged; two candidates, or a code already used, make a
// scan.refused event. Other codes become scan.barcode events for the POS.
// The engine's part is the payments: which wait for a code (awaitingCode,
// cancelling those that waited AwaitCodeTimeout), a code given to one
// (giveCode, the code's one use checked in its transaction), a payment
// started from the cart (createPayment); intakeEngine hands them to Intake.
//
// # Idempotency
//
// Every money-moving operation (payments, code, cancel, refunds, resolve)
// may carry an IdemKey: the caller's key and the SHA-256 of its request.
// The key, the hash and the payment (and refund) it produced are stored in
// the same transaction as the change, so they survive restarts: the same
// key and request returns the same payment (replayed); the same key with
// another request is refused with idempotency_conflict.
//
// # Errors
//
// A refusal or failure of an operation is an *OpError (errors.As): a Kind
// (invalid, not found, conflict, wrong state, unavailable, forbidden,
// internal) and a stable Code, one of the constants of agent/operr, whose
// kind is fixed. The engine decides on kinds only; agent/api turns a kind
// into an HTTP status with one table, and docs/api.md lists every code.
//
// Operations that start work wait up to Timing.APIWait (3 s) for a first
// answer (a qr payment's code_url, a scan payment leaving processing, a
// refund's result) and otherwise return the payment as it is; follow it
// with Payment or Subscribe.
//
// # Time
//
// Every delay is a field of one Timing value (DefaultTiming has the
// documented defaults); Options.TimeScale multiplies all of them
// (Timing.Scaled), so tests run real flows in compressed time. The Clock
// is injectable.
//
// # Caveats
//
//   - The reconciler never gives up on an in-doubt payment; the status
//     endpoint shows the outbox depth and the oldest job's age.
//   - A subscriber more than 10000 events behind is dropped (its channel
//     closes); an SSE client reconnects with Last-Event-ID.
//   - Payment codes are erased from the journal record in the transaction
//     that makes a payment final; see package store for bbolt's free pages.
package agent
