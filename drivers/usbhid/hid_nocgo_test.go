//go:build !(cgo && !android && !ios && (linux || darwin || windows || freebsd))

package usbhid

import (
	"errors"
	"strings"
	"testing"
)

func TestUnsupported(t *testing.T) {
	if Supported() {
		t.Fatal("Supported in a no-cgo build")
	}
	if _, err := Enumerate(); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "built without it") {
		t.Errorf("Enumerate: %v", err)
	}
	if _, err := Open(Config{Selector: Selector{VID: 1, PID: 2}}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Open: %v", err)
	}
}
