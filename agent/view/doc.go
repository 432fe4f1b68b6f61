// Package view is the engine's read side: what GET /v1/status, the
// payment lists and exports, the audit trail and /metrics show. It writes
// nothing. Most of what it shows is in the journal (package store), which
// it reads directly: payments by state and their counts, the outbox's
// summary and refund jobs, the audit index, the journal's size, backups
// and check. What only the running engine knows (the open payments, the
// clocks, the devices, the cart, the gateway's meter, its error counts)
// it asks for as one snapshot, Live, through Options.Live.
//
// The engine (package agent) builds its Reader and hands it out
// (Engine.View); agent/api serves it. The same lists and exports read a
// journal file without an engine (Archive: posagent export --archive), so
// both give the same JSON and CSV. Payments come in their public form,
// Payment (PaymentOf a journal record), which the engine answers too.
//
//	r := eng.View()
//	st := r.Status()                                   // GET /v1/status
//	page, next, err := r.List(view.ListQuery{Limit: 50})
//	trail, err := r.AuditTrail(since, 100)
//	reg.MustRegister(r.Collector())                     // /metrics
//
// The package never imports agent: the engine imports it, to build the
// Reader and for the public forms it answers with and its events carry
// (Payment, Audit), as tailscale's engine (ipnlocal) imports its status
// types (ipnstate).
package view
