// Package lane is the lane's side of the fleet (docs/fleet.md): it watches
// head office's configuration bundles for its store and for itself in the
// chain's NATS JetStream key-value bucket ([fleet.Bucket]), applies only
// what it can prove, and reports back with heartbeats ([fleet.LanesBucket]).
//
// A bundle is applied when [fleet.Open] accepts it (head office's signature,
// the format, the target, the expiry) and its version is above the highest
// the lane ever applied for its key ([fleet.CheckVersion]; the highest is kept
// in the journal and in a file beside it: fleetmark.State). What the
// bundle says is then checked and applied by an [Applier] (the daemon's
// reload path: the local file, then the store's bundle, then the lane's).
// Every bundle accepted or refused is a journal event (fleet.applied,
// fleet.staged, fleet.refused) and an audit entry, committed with the
// state it changes.
//
// The watcher reads the latest value of each key when it starts and again
// after every reconnection, so a lane that was off during a push catches
// up; the value it already applied is recognised and changes nothing, and
// an older one a broker replays is refused (version).
//
// The package knows no configuration: the [Applier] does. It depends on
// fleet (the wire format) and store (the journal).
package lane
