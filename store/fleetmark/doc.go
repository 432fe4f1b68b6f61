// Package fleetmark is the fleet's state as the journal keeps it, and its
// high-water file beside the journal.
//
// The fleet's state is what a lane applied from head office (package
// fleet/lane, docs/fleet.md): per bundle key the highest version ever
// applied, the bundle in effect and the restart-only keys it staged. The
// journal holds it in a bucket of its own (package store: Store.FleetState,
// Store.UpdateFleet), so that it commits with the fleet.* events that speak
// of it; after every change it is also written to a small file beside the
// journal (Path). The file is the fleet's high-water mark: a journal
// restored from an older backup cannot lower the highest version a lane
// ever applied. Merge is the rule that takes the higher of the two, key by
// key.
//
// Like store/hwm (the journal's own high-water mark) it knows files and
// values only, never the journal: package store imports it.
package fleetmark
