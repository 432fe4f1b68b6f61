// Package fleetmark is the fleet's state as the journal keeps it, and its
// high-water file beside the journal.
//
// The fleet's state is what a lane applied from head office (package
// fleet/lane, docs/fleet.md): per bundle key the highest version ever
// applied, the bundle in effect and the restart-only keys it staged. The
// journal holds it as its document "fleet" (store.Tx.Doc), so that it
// commits with the fleet.* events that speak of it; Get reads it and
// Update changes it in one transaction, and after every change it is also
// written to a small file beside the journal (Path). The file is the
// fleet's high-water mark: a journal restored from an older backup cannot
// lower the highest version a lane ever applied. Merge is the rule that
// takes the higher of the two, key by key.
//
// It reads and writes the journal through store's exported Tx API only
// (package store knows neither the document nor its type); fleet/lane and
// the daemon import it.
package fleetmark
