// Package bridgeclient is the reference helper of the Android bridge
// protocol (docs/bridge.md), in Go. The tests use it to play the Android
// helper; it is also the template for the real one.
//
// # Basics
//
// Dial connects to ws://agent/v1/bridge with the bearer token, says hello and
// waits for welcome; it fails with ErrUnauthorized (HTTP 401) or
// ErrUnsupportedVersion (close 4001) when the agent refuses. Run(ctx) then
// serves the connection: print jobs go to the print handler one at a time,
// in order; display frames to the display handler, latest-wins; each job is
// answered ack or nack. When the connection drops, Run reconnects with
// exponential backoff and re-sends the last device state. Cancelling ctx
// closes the connection cleanly and Run returns nil; a permanent refusal
// (token, version, replaced by another helper) ends Run with that error.
//
// Scan and ReportState are requests: they wait for the agent's ack while Run
// is running, and fail with ErrNotConnected between connections (scans are
// not queued: a payment code is only good while the customer waits).
//
// # Printing once
//
// The agent delivers print jobs at least once: after a reconnect it may send
// a job again whose ack was lost. The client remembers the ids of the jobs it
// printed in an AckedStore (default an in-memory LRU of 1024 ids) and
// acknowledges a known id without calling the print handler. An id is added
// only after the handler succeeded, so a failed print is printed on retry.
//
// # Caveats
//
//   - The AckedStore must be persistent (FileStore here; a file or
//     SharedPreferences on Android), or a helper restarted between the print
//     and the retry prints twice. The in-memory LRU only covers reconnects.
//   - A print handler that blocks holds up later jobs (they are ordered);
//     give it its own timeout.
package bridgeclient
