// Package api is posagent's local HTTP API (docs/api.md) in front of the
// payment engine (package agent): the routes, their JSON, the event stream
// (SSE), the audit trail, /metrics, and OTTPay's call-back endpoint.
//
// Every request passes the front door (door.go) before a handler
// sees it: the Host (DNS rebinding), the browser context (Origin,
// Sec-Fetch-Site), the Unix socket caller's uid, the credentials and their
// role, the route, then the body's size and type. Money-moving routes need
// an Idempotency-Key, and bodies are decoded strictly (exact keys, no
// duplicates, no nulls). Loopback without tokens is open to local
// programs and closed to web pages; anything wider needs a token of the
// least role that works (auth.go). A valid token is always served; wrong
// ones are counted per client (all of loopback is one) and per token. The
// bridge's WebSocket (Options.Bridge) and OTTPay's call-back
// (Options.Callback, no token, refusals limited per client) pass the same
// door.
//
// What a role may do is judged where the money moves: a refund without a
// manager's approval is bounded in the engine's transaction that records
// it (refund.Limits, cumulative per payment and per shift), and each
// PIN attempt is counted in the journal before the PIN is compared, one
// check per manager at a time (roles.go). The event stream (stream.go)
// gives the display token the present only, with a screen's fields, and
// each role its own quota with a slot kept for the display.
//
// The API holds the concrete parts it serves: the engine (*agent.Engine:
// payments, the cart, events, the audit trail's writes), its read side
// (*view.Reader, from Engine.View: status, lists, exports, the audit
// trail, metrics) and its books (*books.Books: shifts, reports,
// reconciliations).
//
// Only the API knows HTTP statuses. The refusals of the engine and of its
// books are *agent.OpError (agent/operr's Error), with a Kind and a Code
// (the constants of agent/operr); kindStatus in codes.go is the one table
// from a kind to its status. The API's own refusals (the front door, a
// request's form, streams, rendering, a PIN) have their codes and statuses
// beside it. docs/api.md lists every code under its status, and
// codes_test.go checks that it does.
//
//	srv := api.New(engine, books, api.Options{Token: tok, Access: acc})
//	api.Serve(ctx, api.NewServer(srv, log), listeners...)
//
// SetAccess puts new access rules in force at once (a config reload); event
// streams opened with a credential it removed are closed.
package api
