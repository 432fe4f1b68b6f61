// Package profile is the table of device profiles: for each kind of
// terminal posagent runs on or beside (a Linux box, Sunmi's desktop and
// handheld terminals, Clover's, Chase's), the defaults a technician would
// otherwise look up in docs/hardware.md: paper width and dots, printer
// quirks, display kind and size, scanner transport and ids, deployment.
//
// It is data: All, Names and Lookup hand out fresh copies, so no caller
// can change what another reads. Package config layers a profile's values
// between the built-in defaults and the file (device.profile), checks
// that each key exists in its schema (TestProfiles) and names the
// profiles in its messages; config/configtext prints them.
package profile
