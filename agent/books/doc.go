// Package books keeps the books of one lane beside the payment engine:
// its shifts, their X and Z reports, and the reconciliation of each Z
// report with the gateway.
//
// A shift is a period of one lane between an opening and a Z report.
// Every payment and refund carries the number of the shift open when it
// was created (the engine stamps it, and opens a shift silently with the
// first payment when none is open); OpenShift opens one by hand. Closing a
// shift writes its Z report in the same journal transaction as the
// shift's end and the report.z event: after a crash either all exist or
// none, and a Z number once committed is never used again. A shift still
// open at Options.CloseAt is closed by Run.
//
// A report counts what was settled when it was made; what was not (a
// payment in doubt, a refund pending) is listed as unsettled and looked at
// again by the next report, whose late settlements add it to its net, so
// that the Z reports' nets over a run of shifts add up to the gateway's
// net (late.go). Reconcile queries every order of a Z report's shift at
// the gateway and lists each difference with a suggested action; Run
// starts one after every Z report, after a random delay of up to
// Options.ReconcileSpread.
//
// The books read and write the engine's journal (package store) directly
// and reach the engine through a small interface of their own (Engine:
// the metered STATUS_QUERY, a follow-up made due now, a journal error to
// count). They never import package agent, and the engine never imports
// them: the daemon (cmd/posagent) builds them over the engine, and the
// local API (agent/api) serves them.
//
//	bk, err := books.New(books.Options{Store: st, Engine: eng, Clock: eng.Clock(),
//		Merchant: "Maple Tea", Currency: "CAD", Lane: "LANE1", CloseAt: "03:00", ReconcileRate: 5})
//	go bk.Run(ctx)
//	rep, err := bk.CloseShift("mia", false) // the Z report, stored with its checksum
package books
