//go:build cgo && !android && !ios && (linux || darwin || windows || freebsd)

package usbhid

import (
	"fmt"
	"runtime"

	"github.com/karalabe/hid"
)

// Supported reports whether this build can talk to HID devices.
func Supported() bool { return hid.Supported() }

// Enumerate lists every HID interface present. When it finds nothing on
// Linux it returns the reason from CheckAccess (an error wrapping
// ErrNoAccess) if /dev/bus/usb is not usable, since hidapi cannot tell
// "no device" from "no permission".
func Enumerate() ([]DeviceInfo, error) {
	raw, err := hid.Enumerate(0, 0)
	if err != nil {
		return nil, fmt.Errorf("usbhid: enumerate: %w", err)
	}
	out := make([]DeviceInfo, 0, len(raw))
	for _, r := range raw {
		out = append(out, DeviceInfo{
			VID: r.VendorID, PID: r.ProductID, Interface: r.Interface, Release: r.Release,
			Serial: r.Serial, Manufacturer: r.Manufacturer, Product: r.Product, Path: r.Path,
		})
	}
	if len(out) == 0 && runtime.GOOS == "linux" {
		if err := CheckAccess(USBRoot); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Open finds the device c selects and opens it. On Linux this detaches the
// kernel keyboard driver: an opened keyboard-wedge scanner stops typing
// into the focused window.
func Open(c Config) (*Device, error) {
	if err := c.Selector.Validate(); err != nil {
		return nil, err
	}
	devs, err := Enumerate()
	if err != nil {
		return nil, fmt.Errorf("usbhid: open %s: %w", c.Selector, err)
	}
	info, err := pick(devs, c.Selector)
	if err != nil {
		return nil, err
	}
	raw, err := hid.DeviceInfo{Path: info.Path, VendorID: info.VID, ProductID: info.PID, Interface: info.Interface}.Open()
	if err != nil {
		return nil, fmt.Errorf("usbhid: open %s at %s: %w (busy, or no permission: see scripts/99-posagent.rules)", c.Selector, info.Path, err)
	}
	return &Device{info: info, timeout: c.timeout(), dev: raw}, nil
}
