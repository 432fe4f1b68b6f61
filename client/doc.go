// Package client is the Go client of posagent's local API (docs/api.md):
// what a Go POS imports to take payments through the agent running beside
// it.
//
// # Basics
//
// Make one Client and share it:
//
//	c, err := client.New(client.Options{Token: os.Getenv("POS_TOKEN")}) // http://127.0.0.1:7420
//	p, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 1250, Mode: "scan", Reference: "INV-1001"})
//	// the cashier scans the customer's code; or give it:
//	p, err = c.GiveCode(ctx, p.ID, code)
//	for ev, err := range c.Events(ctx, lastSeq) { ... } // until p is final
//
// Amounts are int64 minor units (1250 is 12.50). Every method takes a
// context; a request is bounded by Options.Timeout as well.
//
// # Where the daemon is
//
// Options.URL is "http://127.0.0.1:7420" by default, "unix:///path" for
// api.socket, or "https://host:port" with Options.Fingerprint pinning the
// certificate of api.tls.cert: auto (posagent status prints it). The token
// goes in Authorization: Bearer; a manager's PIN, where a refund or a tip
// needs one, goes in the request (Approval), as the API expects it.
//
// # Money moves once
//
// The methods that move money (CreatePayment, GiveCode, Cancel, Refund,
// Resolve, ResolveRefund, RetryRefund) send an Idempotency-Key: a fresh
// one per call unless you give yours (a Key). When the answer is lost on
// the way the client sends the request again with the same key
// (Options.Retries), and the daemon does it once. Give your own key (the
// sale number and the step) to make a call safe to repeat after your
// program restarted.
//
// # Errors
//
// An answer that is not a success is an *Error: the HTTP status, the API's
// code ("payment_waiting", "code_already_used", ...), its message and the
// request's Idempotency-Key. A daemon that does not listen is a
// *NotRunningError.
//
// # Caveats
//
// The payment returned by CreatePayment is seldom final: follow it with
// Events (payment.updated) or Payment until Final, and treat in_doubt as
// "not known yet", never as failed. This package depends on the standard
// library only: it links none of the daemon.
package client
