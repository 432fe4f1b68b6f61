package usbhid

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in   string
		want Selector
		err  string
	}{
		{"0c2e:0b61", Selector{VID: 0x0c2e, PID: 0x0b61, Interface: AnyInterface}, ""},
		{"0x1EAB:0x1D10:0", Selector{VID: 0x1eab, PID: 0x1d10, Interface: 0}, ""},
		{" 05e0:1200:2 ", Selector{VID: 0x05e0, PID: 0x1200, Interface: 2}, ""},
		{"0c2e", Selector{}, "want VID:PID or VID:PID:IFACE"},
		{"0c2e:0b61:0:1", Selector{}, "want VID:PID or VID:PID:IFACE"},
		{"zz:0b61", Selector{}, `vendor id "zz"`},
		{"0c2e:", Selector{}, `product id ""`},
		{"0c2e:10000", Selector{}, `product id "10000"`},
		{"0:1", Selector{}, "must not be 0"},
		{"0c2e:0b61:x", Selector{}, `interface "x"`},
		{"0c2e:0b61:256", Selector{}, `interface "256"`},
	}
	for _, tt := range tests {
		got, err := ParseSelector(tt.in)
		if tt.err != "" {
			if err == nil || !errors.Is(err, ErrSelector) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSelector(%q) error %v, want ErrSelector containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSelector(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if back, err := ParseSelector(got.String()); err != nil || back != got {
			t.Errorf("round trip %q -> %q -> %+v, %v", tt.in, got.String(), back, err)
		}
	}
}

func TestSelectorValidate(t *testing.T) {
	for _, s := range []Selector{{PID: 1}, {VID: 1}, {VID: 1, PID: 1, Interface: -2}, {VID: 1, PID: 1, Interface: 256}} {
		if err := s.Validate(); !errors.Is(err, ErrSelector) {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []Selector{{VID: 1, PID: 1}, {VID: 1, PID: 1, Interface: AnyInterface}, {VID: 1, PID: 1, Interface: 255}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

func TestPick(t *testing.T) {
	devs := []DeviceInfo{
		{VID: 0x0c2e, PID: 0x0b61, Interface: 0, Serial: "A1", Path: "1-1:1.0"},
		{VID: 0x0c2e, PID: 0x0b61, Interface: 1, Serial: "A1", Path: "1-1:1.1"},
		{VID: 0x0c2e, PID: 0x0b61, Interface: 0, Serial: "B2", Path: "1-2:1.0"},
		{VID: 0x1eab, PID: 0x1d10, Interface: 0, Path: "1-3:1.0"},
	}
	tests := []struct {
		sel  Selector
		path string
		err  error
	}{
		{Selector{VID: 0x1eab, PID: 0x1d10, Interface: AnyInterface}, "1-3:1.0", nil},
		{Selector{VID: 0x0c2e, PID: 0x0b61, Interface: 1}, "1-1:1.1", nil},
		{Selector{VID: 0x0c2e, PID: 0x0b61, Interface: 0, Serial: "B2"}, "1-2:1.0", nil},
		{Selector{VID: 0x0c2e, PID: 0x0b61, Interface: 0}, "", ErrAmbiguous},                          // two scanners
		{Selector{VID: 0x0c2e, PID: 0x0b61, Interface: AnyInterface, Serial: "A1"}, "", ErrAmbiguous}, // two interfaces
		{Selector{VID: 0x0c2e, PID: 0x0b61, Interface: 2}, "", ErrNotFound},
		{Selector{VID: 0x05e0, PID: 0x1200, Interface: AnyInterface}, "", ErrNotFound},
	}
	for _, tt := range tests {
		got, err := pick(devs, tt.sel)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("pick(%v) error %v, want %v", tt.sel, err, tt.err)
			}
			continue
		}
		if err != nil || got.Path != tt.path {
			t.Errorf("pick(%v) = %q, %v; want %q", tt.sel, got.Path, err, tt.path)
		}
	}
}

func TestCheckAccess(t *testing.T) {
	dir := t.TempDir()
	if err := CheckAccess(filepath.Join(dir, "missing")); !errors.Is(err, ErrNoAccess) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing root: %v", err)
	}
	if err := CheckAccess(dir); err != nil {
		t.Errorf("empty readable root: %v", err)
	}
	bus := filepath.Join(dir, "001")
	if err := os.MkdirAll(bus, 0o755); err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(bus, "002")
	if err := os.WriteFile(node, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckAccess(dir); err != nil {
		t.Errorf("openable node: %v", err)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: the permission-denied case cannot be shown")
		return
	}
	if err := os.Chmod(node, 0); err != nil {
		t.Fatal(err)
	}
	if err := CheckAccess(dir); !errors.Is(err, ErrNoAccess) || !strings.Contains(err.Error(), "99-posagent.rules") {
		t.Errorf("unopenable node: %v", err)
	}
}

// blockingRaw stands in for hidapi at the cgo boundary: ReadTimeout waits
// for a report or its timeout; Close records who closed it and when.
type blockingRaw struct {
	reports chan []byte
	mu      sync.Mutex
	inRead  bool
	closes  int
	badFree bool // Close called while a read was in progress
}

func (r *blockingRaw) ReadTimeout(b []byte, ms int) (int, error) {
	r.mu.Lock()
	r.inRead = true
	r.mu.Unlock()
	defer func() { r.mu.Lock(); r.inRead = false; r.mu.Unlock() }()
	select {
	case rep := <-r.reports:
		return copy(b, rep), nil
	case <-time.After(time.Duration(ms) * time.Millisecond):
		return 0, nil
	}
}

func (r *blockingRaw) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closes++
	if r.inRead {
		r.badFree = true
	}
	return nil
}

// TestCloseDuringRead: Close from another goroutine never frees the device
// under a Read in progress; the reader frees it, exactly once.
func TestCloseDuringRead(t *testing.T) {
	raw := &blockingRaw{reports: make(chan []byte, 1)}
	d := &Device{info: DeviceInfo{Path: "test"}, timeout: 20 * time.Millisecond, dev: raw}
	raw.reports <- []byte{0x02, 0x05}
	buf := make([]byte, 64)
	if n, err := d.Read(buf); n != 2 || err != nil || buf[0] != 0x02 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if n, err := d.Read(buf); n != 0 || err != nil {
		t.Fatalf("idle Read = %d, %v; want 0, nil", n, err)
	}
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := d.Read(buf); err != nil {
				errc <- err
				return
			}
		}
	}()
	for i := 0; i < 5; i++ {
		time.Sleep(3 * time.Millisecond)
		d.Close()
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	raw.mu.Lock()
	defer raw.mu.Unlock()
	if raw.badFree || raw.closes != 1 {
		t.Errorf("raw device closed %d times, during a read: %v", raw.closes, raw.badFree)
	}
}
