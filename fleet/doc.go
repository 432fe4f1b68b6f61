// Package fleet is the wire format shared by head office (posagent-hq) and
// the lanes for configuration pushed from head office and for the lanes'
// reports back: signed configuration bundles and heartbeats.
//
// It is a leaf: the standard library only, pure functions, no I/O. The
// lane's watcher and head office's publisher build on it.
//
// # Bundles
//
// A [Bundle] carries a YAML fragment of the lane configuration for one
// target: a store (every lane of it) or one lane. Head office signs it with
// its ed25519 key ([Sign]); a lane accepts it only through [Open], which
// checks the signature against the lane's fleet.public_key, the format,
// the target (the lane's own chain and store, and either every lane or this
// one) and the expiry. The version check (higher than the highest version
// the lane ever applied for that key) needs the lane's journal and is the
// lane's ([CheckVersion] says it the one way).
//
// The signature covers a domain-separation prefix and the exact payload
// bytes that travel: nothing is re-encoded before it is verified, so there is
// no canonical-JSON question.
//
// Bundles live in the JetStream key-value bucket [Bucket] under the key
// [Target.Key]; heartbeats in [LanesBucket] under [LaneKey].
package fleet
