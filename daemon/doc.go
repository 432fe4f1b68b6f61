// Package daemon composes a running posagent from its configuration: the
// journal, the OTTPay simulator (gateway.url: sim) and gateway client, the
// payment engine, the receipt printer, the bridge to the Android helper,
// the customer display, the feed to the chain's NATS JetStream, the local
// API and the scanners.
//
// Each is a Part: Run(ctx) works until ctx ends, Close releases what its
// constructor opened. New builds them in the order they depend on each
// other (the journal is checked before anything else); Run starts the
// simulator and the engine, waits for the engine's recovery, then starts
// the rest, the local API last; Close closes them, the journal last.
//
// What can change while the daemon runs is Live: Prepare builds the new
// part from the new configuration with no side effect and may fail; the
// Commit it returns swaps it in and cannot fail. A reload (Reload reads the
// file again; Apply takes a configuration from a component, such as a
// signed bundle from the chain) checks the configuration, splits its
// changes into the live keys (config.Live: a `live` tag in the schema) and
// those that need a restart, prepares every Live part, and commits all of
// them or none. The result (Result) is logged, journaled as
// config.reloaded or config.reload_refused and, for the API and SIGHUP, put
// on the audit trail.
//
// A caller adds parts of its own with Options.Extra (a lane applying signed
// configuration bundles from the chain: its Run calls Apply).
//
// The live parts, in the order a reload prepares them: the printer (a
// receipt being printed finishes on the old one), the display (the page and
// the pole or PNG sink; what is on screen stays), the scanners (changed
// ones reopen, the rest keep running), the API's access rules, the tip
// suggestions, the bridge's token and the log level.
//
// With fleet.enabled (fleet.go, docs/fleet.md) a reloadable daemon takes
// configuration from head office: New opens the journal first and lays the
// signed bundles in effect over the file before it builds anything (so
// staged restart-only keys take effect at a restart), every reload lays
// them again, and a fleet part (package fleet/lane) watches for new ones and
// applies each through the same path; in fleet.maintenance_window it ends
// Run with ErrFleetRestart when keys are staged, for posagent run to start
// again.
package daemon
