// Package hq is the head office's side of the feed (posagent-hq): a
// durable JetStream consumer that keeps the chain's books in a bbolt file
// of its own, and a read-only, token-guarded API and web page over them.
//
// Books.Apply takes feed envelopes (package feed) in batches, in one
// transaction each: an event is stored once by (lane, feed id, sequence),
// so a message delivered again (JetStream delivers at least once) or
// published again by a lane is counted a duplicate and dropped; per lane
// and feed id, the sequences not received are kept as gaps, and filled
// when they arrive late. A message that is not an envelope is kept aside
// (Aside), never fatal. The money is kept per payment (its latest state by
// update time, then sequence), so the same payment seen twice counts once;
// the day's totals (sales, tips, refunds, net, by wallet and mode, per
// store and for the chain) are sums over the payments, with the lanes' own
// rule: a payment counts when the gateway took its money (succeeded or
// reversed), a refund when it succeeded.
//
// # The fleet
//
// Head office's side of package fleet (docs/fleet.md): Publisher checks a
// configuration fragment as a lane would (config.CheckFragment), takes a
// chain-wide version from a counter moved by compare-and-set, signs the
// bundle and puts it under its target's key with compare-and-set on the
// key's revision (so the bundle standing last under a key has the highest
// version). Fleet watches the lanes' heartbeats and the published bundles,
// keeps each lane's last heartbeat with its arrival on head office's
// monotonic clock, calls a lane stale after Limits.StaleAfter without one,
// and says each lane's problems in words (Problems, pure); View is what
// posagent-hq fleet ls, GET /api/fleet, the page and /metrics show.
package hq
