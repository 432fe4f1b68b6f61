//go:build cgo && !android && !ios && (linux || darwin || windows || freebsd)

package usbhid

import (
	"errors"
	"os"
	"runtime"
	"testing"
)

// TestEnumerateExplainsEmpty: on a Linux machine without a readable
// /dev/bus/usb, an empty enumeration says so instead of "no devices".
func TestEnumerateExplainsEmpty(t *testing.T) {
	if !Supported() {
		t.Fatal("cgo build but hid not supported")
	}
	devs, err := Enumerate()
	if runtime.GOOS != "linux" || len(devs) > 0 {
		t.Skipf("found %d devices", len(devs))
	}
	access := CheckAccess(USBRoot)
	if access == nil {
		if err != nil {
			t.Fatalf("readable %s but Enumerate failed: %v", USBRoot, err)
		}
		return
	}
	if !errors.Is(err, ErrNoAccess) {
		t.Fatalf("Enumerate with unusable %s: %v, want ErrNoAccess", USBRoot, err)
	}
	_, err = Open(Config{Selector: Selector{VID: 0x0c2e, PID: 0x0b61}})
	if !errors.Is(err, ErrNoAccess) {
		t.Fatalf("Open: %v, want ErrNoAccess", err)
	}
	if _, statErr := os.Stat(USBRoot); statErr != nil {
		t.Logf("as expected here: %v", err)
	}
}
