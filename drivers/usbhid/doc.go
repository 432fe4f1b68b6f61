// Package usbhid reads USB HID devices (barcode scanners in keyboard-wedge
// or HID POS mode) through github.com/karalabe/hid.
//
// # Basics
//
//	sel, err := usbhid.ParseSelector("0c2e:0b61:0")   // VID:PID[:IFACE], hex ids
//	d, err := usbhid.Open(usbhid.Config{Selector: sel})
//	n, err := d.Read(buf) // one input report, or (0, nil) after ReadTimeout (100 ms)
//
// Devices are selected by vendor id, product id and interface number (and
// optionally the USB serial number): a scanner's PID often changes with its
// interface mode, and one scanner may expose a keyboard and a POS interface.
// Enumerate lists every HID interface with its manufacturer, product and path.
//
// # Builds
//
// karalabe/hid compiles a bundled libusb and hidapi with cgo. In a build
// without cgo (CGO_ENABLED=0, and always for android) this package still
// compiles, Supported returns false, and Open and Enumerate return
// ErrUnsupported - never an empty list that looks like "no scanner".
//
// # Caveats
//
//   - On Linux karalabe/hid uses libusb on /dev/bus/usb, not hidraw, so a
//     udev rule must grant access (scripts/99-posagent.rules). hidapi cannot
//     tell "no device" from "no permission": when Enumerate finds nothing it
//     returns CheckAccess's verdict on /dev/bus/usb (ErrNoAccess) if the bus is
//     missing or no node can be opened.
//   - Opening a keyboard-wedge scanner detaches the kernel keyboard driver: it
//     stops typing into the focused window while posagent holds it.
//   - UsagePage and Usage read 0 on Linux, so HID POS vs keyboard mode is a
//     configuration choice, not detected.
//   - hidapi frees the device in Close; Device makes Close from any goroutine
//     safe by deferring the release to the reading goroutine, but the project
//     rule stays: the goroutine that reads is the one that closes.
//   - Several devices matching a selector (two identical scanners, or a
//     composite scanner with AnyInterface) is ErrAmbiguous: set the interface
//     or the serial. A selector with a zero VID or PID is ErrSelector.
//   - An unplugged device makes Read return an error; the device value is then
//     dead and the owner reopens it (scanner.HIDSource does, with backoff).
package usbhid
