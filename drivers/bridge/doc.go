// Package bridge is the agent's end of the Android bridge: a versioned,
// token-protected WebSocket protocol on which a thin helper app on a Sunmi,
// Clover or Chase terminal posts scans and device state, and receives print
// jobs and display frames. The protocol is specified in docs/bridge.md; the
// Go reference helper is package bridgeclient.
//
// # Basics
//
// A Hub is three things at once:
//
//   - an http.Handler (Handler) mounted at /v1/bridge. A request without the
//     right "Authorization: Bearer <token>" is answered 401 before any
//     upgrade. The first message must be a hello naming the versions the
//     helper speaks; the hub answers welcome with the chosen version and a
//     session id, or closes with 4001 and a reason when none fits.
//     SetToken (a config reload) puts a new token in force and closes the
//     sessions opened with the old one;
//   - a print-job sender: SendJob(ctx, id, data) sends bytes the caller
//     encoded (ESC/POS for a Sunmi, a PNG at the printer's dot width for a
//     Clover: Options.Format) as a job and returns nil only when the helper
//     acknowledged it. printer.JobPrinter{Sender: hub, Encode: ...} makes it
//     the engine's receipt printer;
//   - a display sink: ShowFrame(png) sends customer-display frames,
//     latest-wins; FrameSink(hub, renderer.PNG) adapts it to display.Sink.
//
// Scans arrive through Options.OnScan as a Scan{Device: "bridge:" + device}
// (the fields of scanner.Scan: the caller converts); hello, state reports and disconnects through Options.OnState.
// Run(ctx) owns the hub's lifetime: when ctx ends it closes every session
// (1001 going away) and waits for their goroutines.
//
// # Delivery: at least once, printed once
//
// The hub keeps no queue: the engine's outbox is the one durable queue for
// every printer, and it prints until the print returns nil. The job id is
// derived from the receipt (printer.JobID: the outbox job's key, or payment
// id, copy, reprint), so every retry of one outbox job carries the same
// job_id. The helper
// remembers the ids it printed (bridgeclient.AckedStore) and answers a job
// it has already printed with ack, without printing it again. That covers the
// one window at-least-once leaves open: printed, then the connection dropped
// before the ack reached the agent.
//
// SendJob returns at once with ErrNoHelper when no helper is connected,
// ErrHelperGone when the connection ended before the answer, a *NackError
// when the helper refused the job (paper out), and the context's error when
// ctx ends first.
//
// # Caveats
//
//   - One helper at a time: a newer connection replaces the current one
//     (close 4003); the reference client then stops instead of fighting back.
//   - Liveness uses WebSocket ping frames (Options.PingInterval); a helper
//     that misses a pong is dropped so jobs fail fast rather than hang.
//   - Two reprints with identical content get the same derived job id; use
//     JobPrinter.PrintReceiptJob with the outbox's own job id (or set
//     Receipt.JobKey, as the agent does) to tell them apart.
//   - The package imports nothing of posagent's above the drivers: it
//     knows bytes, job ids and scans, not receipts or payments.
//   - Codes are logged masked (paycode.Mask); the token never appears in
//     logs or errors.
package bridge
