// Package scanner gives barcode scanner bytes their meaning: it decodes
// what USB HID and serial scanners send into Scans and reads codes from
// pictures (DecodeImage). What a payment code is belongs to package paycode.
//
// # Concepts
//
// A Decoder is pure: bytes and the time they arrived in, framed codes (Raw)
// out, no I/O, no clock, no panic on any input (each has a fuzz target).
//
//   - KeyboardDecoder: keyboard-wedge scanners. 8-byte boot keyboard reports
//     (or numbered 9-byte reports), keys detected as new against the previous
//     report (so "11" needs the release in between), both Shifts, US layout,
//     keypad digits, Enter / KP Enter (and optionally Tab) end a code, and an
//     idle gap (50 ms) flushes a code that has no terminator. Roll-over error
//     reports, wrong lengths, unknown usages and Ctrl/Alt chords are counted
//     in Stats and skipped.
//   - HIDPOSDecoder: HID POS scanners (report id 0x02), Honeywell layout with
//     continuation reports and the Newland layout; both length conventions.
//   - LineFramer: serial scanners; CR, LF or CR LF, chunks split anywhere, a
//     maximum line length so garbage is never buffered forever.
//
// Then SplitAIM moves a known AIM symbology identifier ("]Q1", "]E0", ...)
// from the code into Scan.Symbology (only known identifiers: a code that
// merely starts with "]" is left alone), and Dedup drops the same code seen
// again within a window.
//
// A Source owns one scanner: SerialSource (drivers/serial) or HIDSource
// (drivers/usbhid). Run(ctx, emit) opens the device, decodes, calls emit for
// each Scan, and when anything fails closes the device and opens it again
// with a bounded backoff (Backoff: 100 ms doubling to 5 s) until ctx ends;
// it returns nil then - cancellation is not an error. OnState reports each
// change (connected, disconnected, error with its text) for the agent's
// device.changed events. Errors no retry can fix (a build without HID, a
// bad setting) are reported once and the source idles. HIDSource.Open and
// SerialSource.Open are seams: tests replay recorded report streams
// (testdata/hid/*.hex) through the same code path a device uses.
//
// # Payment codes
//
// paycode.Classify says whether a code is a WeChat Pay, Alipay or UnionPay
// payment code; anything else is an ordinary barcode and must never reach
// the gateway. Payment codes are secrets of a sort: this package logs them
// masked (paycode.Mask), and Describe shows them masked for people.
//
// # Caveats
//
//   - The keyboard table is the US layout; a scanner configured for another
//     keyboard layout sends other usages. Configure scanners for US.
//   - HID POS layout auto-detection looks for ']' where Honeywell puts the AIM
//     identifier; set HIDPOSOptions.Layout when the scanner is known.
//   - The testdata recordings are synthesised from the documented report
//     formats, not captured from devices: replace them with real captures
//     when hardware is at hand (same format: one report per line in hex).
//   - DecodeImage misses some QR codes rotated about 45 degrees (gozxing).
package scanner
