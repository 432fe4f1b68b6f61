// Package drivers holds how bytes reach hardware. Each sub-package is a
// transport that hands out plain io.Reader / io.Writer values; the packages
// that give those bytes meaning (scanner, printer, display) take them.
//
//   - drivers/serial: serial ports on github.com/tarm/serial, with timeouts
//     that return (0, nil), hang-up detection (ErrGone), exclusive opens and
//     errors that say not found / permission denied / busy.
//   - drivers/usbhid: USB HID devices on github.com/karalabe/hid (cgo),
//     selected by VID, PID, interface (and serial number); each Read is one
//     input report. Without cgo (CGO_ENABLED=0, android) it builds but Open
//     and Enumerate return usbhid.ErrUnsupported.
//
// # Reconnecting
//
// A driver value is one open device and never reopens itself: when the
// device goes away its Read returns an error and the value is dead. The
// owner of the stream reconnects. For scanners that is scanner.SerialSource
// and scanner.HIDSource, whose Run loops open -> read -> (error) -> wait ->
// open again with a bounded exponential backoff (scanner.Backoff: 100 ms
// doubling to 5 s by default, reset after a successful open) until the
// context ends, and report connected / disconnected / error through an
// OnState callback. Printers and displays follow the same rule in their own
// packages.
//
// # Permissions
//
// scripts/99-posagent.rules gives the posagent group access to serial
// ports and to /dev/bus/usb nodes of the known scanner vendors (karalabe/hid
// uses libusb on Linux, not hidraw). `posagent devices` lists what is
// present and says when /dev/bus/usb is not readable.
package drivers
