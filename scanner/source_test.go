package scanner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/paycode"
)

// waitFor reads from c until want arrives, failing on anything else.
func waitState(t *testing.T, c <-chan Status, want string, allow ...string) Status {
	t.Helper()
	for s := range c {
		if s.State == want {
			return s
		}
		ok := false
		for _, a := range allow {
			ok = ok || s.State == a
		}
		if !ok {
			t.Fatalf("state %+v while waiting for %s", s, want)
		}
	}
	t.Fatalf("state channel closed while waiting for %s", want)
	return Status{}
}

func nextScan(t *testing.T, c <-chan Scan) Scan {
	t.Helper()
	return <-c
}

// writeChunks writes s to the pty master in odd pieces, pausing between
// them so the port really sees separate reads.
func writeChunks(t *testing.T, m *os.File, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		if _, err := m.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
}

// TestSerialSourcePTY runs SerialSource on a real pseudo-terminal behind a
// symlink (like socat's link=): split chunks become scans, a repeat inside
// the dedup window is one scan, and when the device goes away and a new one
// appears at the same path the source reconnects by itself.
func TestSerialSourcePTY(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyScanner")
	m1, s1, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer m1.Close()
	if err := os.Symlink(s1.Name(), link); err != nil {
		t.Fatal(err)
	}
	s1.Close()

	states := make(chan Status, 100)
	scans := make(chan Scan, 100)
	src := SerialSource{
		Name:     "counter",
		Port:     serial.Config{Device: link},
		Decoding: Decoding{DedupWindow: time.Minute},
		Backoff:  Backoff{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond},
		OnState:  func(s Status) { states <- s },
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, func(s Scan) { scans <- s }) }()

	waitState(t, states, StateConnected)
	writeChunks(t, m1, "1345", "678901", "23456789\r", "69012", "34567892\r", "\n")
	writeChunks(t, m1, "134567890123456789\r") // the customer's phone again: duplicate
	writeChunks(t, m1, "]E0400638", "1333931\n")
	want := []Scan{
		{Code: "134567890123456789", Device: "counter"},
		{Code: "6901234567892", Device: "counter"},
		{Code: "4006381333931", Symbology: "]E0", Device: "counter"},
	}
	for _, w := range want {
		s := nextScan(t, scans)
		if s.Code != w.Code || s.Symbology != w.Symbology || s.Device != w.Device || s.At.IsZero() {
			t.Fatalf("scan %+v, want %+v", s, w)
		}
	}
	if w, ok := paycode.Classify(want[0].Code); !ok || w != paycode.WeChat {
		t.Errorf("first scan classified %q", w)
	}

	// Unplug: like udev, remove the link, then the device goes away. (The
	// link goes first so that a pty another test opens meanwhile, which may
	// reuse the number, is never reached through it.)
	m2, s2, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	m1.Close()
	gone := waitState(t, states, StateDisconnected)
	if !strings.Contains(gone.Err, "serial") {
		t.Errorf("disconnect error %q does not say what failed", gone.Err)
	}
	waitState(t, states, StateError) // reopening the missing path fails
	// Plug in again: the link reappears, pointing at the new device.
	if err := os.Symlink(s2.Name(), link); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	waitState(t, states, StateConnected, StateError)
	writeChunks(t, m2, "28765432", "10987654\r\n")
	if s := nextScan(t, scans); s.Code != "2876543210987654" {
		t.Fatalf("after reconnect: %+v", s)
	}

	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run returned %v after cancel; cancellation is not an error", err)
	}
	select {
	case s := <-scans:
		t.Errorf("unexpected scan %+v", s)
	default:
	}
}

// TestSerialSourceBadConfig: a configuration error is reported once and
// not retried; Run still returns nil at cancel.
func TestSerialSourceBadConfig(t *testing.T) {
	states := make(chan Status, 10)
	src := SerialSource{Name: "x", Port: serial.Config{Device: "/dev/null", Baud: 12345}, OnState: func(s Status) { states <- s }}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, func(Scan) {}) }()
	s := <-states
	if s.State != StateError || !strings.Contains(s.Err, "baud 12345") {
		t.Fatalf("status %+v", s)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(states) != 0 {
		t.Errorf("retried a bad configuration: %+v", <-states)
	}
}
