package usbhid

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AnyInterface in Selector.Interface accepts any USB interface number.
const AnyInterface = -1

// DefaultReadTimeout bounds each Read so the reader can notice cancellation.
const DefaultReadTimeout = 100 * time.Millisecond

// UnsupportedMessage is the text of ErrUnsupported.
const UnsupportedMessage = "HID needs a build with cgo; this binary was built without it - use the bridge or a serial scanner"

// Sentinel errors; test with errors.Is.
var (
	ErrUnsupported = errors.New(UnsupportedMessage)
	ErrNotFound    = errors.New("no matching HID device")
	ErrNoAccess    = errors.New("USB devices are not readable")
	ErrClosed      = errors.New("device closed")
	ErrSelector    = errors.New("bad device selector")
	ErrAmbiguous   = errors.New("several HID devices match")
)

// Selector picks one HID device. A scanner's PID often changes with its
// interface mode, so both VID and PID are required.
type Selector struct {
	VID, PID  uint16
	Interface int    // USB interface number (0 for most scanners); AnyInterface accepts any
	Serial    string // optional: the USB serial number, to tell two identical scanners apart
}

// String formats the selector as ParseSelector reads it: "0c2e:0b61:0".
func (s Selector) String() string {
	out := fmt.Sprintf("%04x:%04x", s.VID, s.PID)
	if s.Interface != AnyInterface {
		out += ":" + strconv.Itoa(s.Interface)
	}
	if s.Serial != "" {
		out += " serial " + s.Serial
	}
	return out
}

// ParseSelector reads "VID:PID" or "VID:PID:IFACE" (VID and PID in hex,
// with or without 0x; IFACE decimal). Without IFACE any interface matches.
func ParseSelector(s string) (Selector, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Selector{}, fmt.Errorf("usbhid: selector %q: %w: want VID:PID or VID:PID:IFACE, e.g. 0c2e:0b61:0", s, ErrSelector)
	}
	hex := func(what, v string) (uint16, error) {
		v = strings.TrimPrefix(strings.ToLower(v), "0x")
		n, err := strconv.ParseUint(v, 16, 16)
		if err != nil || v == "" {
			return 0, fmt.Errorf("usbhid: selector %q: %w: %s %q is not a 4-digit hex number", s, ErrSelector, what, v)
		}
		return uint16(n), nil
	}
	var sel Selector
	var err error
	if sel.VID, err = hex("vendor id", parts[0]); err != nil {
		return Selector{}, err
	}
	if sel.PID, err = hex("product id", parts[1]); err != nil {
		return Selector{}, err
	}
	if sel.VID == 0 || sel.PID == 0 {
		return Selector{}, fmt.Errorf("usbhid: selector %q: %w: vendor and product id must not be 0", s, ErrSelector)
	}
	sel.Interface = AnyInterface
	if len(parts) == 3 {
		n, err := strconv.Atoi(parts[2])
		if err != nil || n < 0 || n > 255 {
			return Selector{}, fmt.Errorf("usbhid: selector %q: %w: interface %q is not a number 0-255", s, ErrSelector, parts[2])
		}
		sel.Interface = n
	}
	return sel, nil
}

// DeviceInfo describes one HID interface of a USB device.
type DeviceInfo struct {
	VID, PID     uint16
	Interface    int
	Release      uint16
	Serial       string
	Manufacturer string
	Product      string
	Path         string // platform path (libusb "bus:addr:iface" on Linux)
}

// Validate reports a selector that can never match (an error wrapping ErrSelector).
func (s Selector) Validate() error {
	if s.VID == 0 || s.PID == 0 {
		return fmt.Errorf("usbhid: selector %s: %w: vendor and product id must not be 0 (posagent devices lists them)", s, ErrSelector)
	}
	if s.Interface < AnyInterface || s.Interface > 255 {
		return fmt.Errorf("usbhid: selector %s: %w: interface %d is not 0-255 or %d (any)", s, ErrSelector, s.Interface, AnyInterface)
	}
	return nil
}

// Match reports whether d is selected by s.
func (s Selector) Match(d DeviceInfo) bool {
	return d.VID == s.VID && d.PID == s.PID &&
		(s.Interface == AnyInterface || s.Interface == d.Interface) &&
		(s.Serial == "" || s.Serial == d.Serial)
}

// pick returns the one device s selects. Several matches are an error
// unless they are the same device seen twice.
func pick(devs []DeviceInfo, s Selector) (DeviceInfo, error) {
	var found []DeviceInfo
	for _, d := range devs {
		if s.Match(d) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return DeviceInfo{}, fmt.Errorf("usbhid: open %s: %w", s, ErrNotFound)
	case 1:
		return found[0], nil
	}
	paths := make([]string, len(found))
	for i, d := range found {
		paths[i] = fmt.Sprintf("%s (interface %d, serial %q)", d.Path, d.Interface, d.Serial)
	}
	return DeviceInfo{}, fmt.Errorf("usbhid: open %s: %w: %d of them (%s); add the interface number or the serial", s, ErrAmbiguous, len(found), strings.Join(paths, ", "))
}

// Config says which device to open and how to read it.
type Config struct {
	Selector
	ReadTimeout time.Duration // default 100 ms
}

// USBRoot is where Linux exposes USB device nodes; libusb needs read-write
// access to them.
const USBRoot = "/dev/bus/usb"

// CheckAccess explains why an enumeration may have found nothing: it returns
// nil when root (normally USBRoot) can be listed and at least one device node
// in it can be opened for reading, else an error wrapping ErrNoAccess that
// says what is wrong. It is only meaningful on Linux.
func CheckAccess(root string) error {
	buses, err := os.ReadDir(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("usbhid: %w: %s does not exist (no USB bus visible here; in a container pass the device in)", ErrNoAccess, root)
	case err != nil:
		return fmt.Errorf("usbhid: %w: %s: %v", ErrNoAccess, root, err)
	}
	nodes, denied := 0, 0
	var firstDenied string
	for _, b := range buses {
		devs, err := os.ReadDir(root + "/" + b.Name())
		if err != nil {
			continue
		}
		for _, d := range devs {
			nodes++
			p := root + "/" + b.Name() + "/" + d.Name()
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				denied++
				if firstDenied == "" {
					firstDenied = p
				}
				continue
			}
			f.Close()
		}
	}
	switch {
	case nodes == 0:
		return nil // readable, simply empty
	case denied == nodes:
		return fmt.Errorf("usbhid: %w: none of the %d nodes under %s can be opened read-write (e.g. %s): install scripts/99-posagent.rules (udev) and add the service user to the posagent group", ErrNoAccess, nodes, root, firstDenied)
	}
	return nil
}

// Device is one open HID interface. Each Read returns one input report
// (with the report id as first byte when the device numbers its reports),
// or (0, nil) when nothing arrived within ReadTimeout.
//
// hidapi frees the device in Close, so closing while another goroutine is
// inside Read would be a use-after-free. Device makes it safe: Close from
// another goroutine only marks the device, and the reading goroutine closes
// it when its Read returns (within ReadTimeout).
type Device struct {
	info    DeviceInfo
	timeout time.Duration
	dev     rawDevice

	mu      sync.Mutex // guards reading, closed and the release of dev
	reading bool
	closed  bool
	freed   bool
}

// rawDevice is the part of karalabe/hid's Device that Device uses.
type rawDevice interface {
	ReadTimeout(b []byte, timeoutMillis int) (int, error)
	Close() error
}

var _ io.ReadCloser = (*Device)(nil)

// Info returns what enumeration said about the open device.
func (d *Device) Info() DeviceInfo { return d.info }

// Read reads one input report into b (64 bytes hold any full-speed report).
func (d *Device) Read(b []byte) (int, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return 0, fmt.Errorf("usbhid: read %s: %w", d.info.Path, ErrClosed)
	}
	d.reading = true
	d.mu.Unlock()

	n, err := d.dev.ReadTimeout(b, int(d.timeout/time.Millisecond))

	d.mu.Lock()
	d.reading = false
	closed := d.closed
	if closed {
		d.free()
	}
	d.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("usbhid: read %s: %w", d.info.Path, ErrClosed)
	}
	if err != nil {
		// hidapi's libusb backend reports an unplugged device as a read error.
		return 0, fmt.Errorf("usbhid: read %04x:%04x %s: %w", d.info.VID, d.info.PID, d.info.Path, err)
	}
	return n, nil
}

// Close releases the device, at once or (when another goroutine is inside
// Read) as soon as that Read returns. It is safe to call more than once.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if !d.reading {
		d.free()
	}
	return nil
}

// free closes the raw device once; d.mu is held.
func (d *Device) free() {
	if !d.freed {
		d.freed = true
		d.dev.Close()
	}
}

func (c Config) timeout() time.Duration {
	switch {
	case c.ReadTimeout <= 0:
		return DefaultReadTimeout
	case c.ReadTimeout < time.Millisecond:
		return time.Millisecond
	}
	return c.ReadTimeout
}
