// Package devices is the device registry: the last known state of each
// scanner, printer, display and bridge a running posagent drives, plain
// data behind one lock (standard library only).
//
// The parts that own the devices Set their state as it changes; Watch
// tells each watcher of every change (the daemon journals a
// device.changed event through the engine); the engine reads the registry
// for its status and metrics and stamps a scanner's last scan (Scanned).
// Nothing here knows a device driver or the engine.
package devices
