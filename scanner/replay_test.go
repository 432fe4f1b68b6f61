package scanner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/paycode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeClock is the injected clock: replays advance it by the recorded gaps.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type recReport = Report

// loadRecording reads a testdata recording.
func loadRecording(t testing.TB, path string) []recReport {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reps, err := ParseRecording(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return reps
}

// replay is a recorded device: each Read returns the next report (advancing
// the clock by its gap), then one read timeout one second later (so the idle
// flush runs), then - like a device that goes quiet - read timeouts, after
// signalling done; or, with endErr, that error (an unplug).
type replay struct {
	reports []recReport
	clock   *fakeClock
	endErr  error
	done    chan struct{}

	i        int
	idleSent bool
	once     sync.Once
	closed   bool
}

func (r *replay) Read(b []byte) (int, error) {
	if r.closed {
		return 0, errors.New("replay: read after close")
	}
	if r.i < len(r.reports) {
		rep := r.reports[r.i]
		r.i++
		r.clock.Advance(rep.Gap)
		return copy(b, rep.Data), nil
	}
	if !r.idleSent {
		r.idleSent = true
		r.clock.Advance(time.Second)
		return 0, nil
	}
	r.once.Do(func() { close(r.done) })
	if r.endErr != nil {
		return 0, r.endErr
	}
	time.Sleep(time.Millisecond) // a real read timeout, compressed
	return 0, nil
}

func (r *replay) Close() error { r.closed = true; return nil }

type wantScan struct{ code, sym string }

func TestHIDRecordings(t *testing.T) {
	url := "https://qr.example.com/pay?order=ORD-20261125-000042&amount=1250&currency=CAD&sig=0123456789"
	long := "2812345678901234567890123456789012345678901234567890123456789012345678"
	tests := []struct {
		file string
		src  HIDSource
		want []wantScan
	}{
		{"kbd-payment", HIDSource{}, []wantScan{{"134567890123456789", ""}}},
		{"kbd-repeats", HIDSource{}, []wantScan{{"6911223344556", ""}, {"01002", ""}}},
		{"kbd-shifted", HIDSource{}, []wantScan{{"HTTPS://qr.example.com/P?id=A_1", ""}}},
		{"kbd-keypad", HIDSource{}, []wantScan{{"2876543210987654", ""}}},
		{"kbd-garbage", HIDSource{}, []wantScan{{"69012345", ""}, {"4006381333931", ""}, {"42", ""}}},
		{"kbd-numbered", HIDSource{ReportID: 1}, []wantScan{{"6212345678901234567", ""}}},
		{"pos-honeywell", HIDSource{Mode: ModeHIDPOS}, []wantScan{{"134567890123456789", "]Q1"}, {url, "]Q1"}, {"4006381333931", "]E0"}}},
		{"pos-honeywell-aimlen", HIDSource{Mode: ModeHIDPOS}, []wantScan{{"ABC-12345", "]C0"}, {long, "]Q1"}}},
		{"pos-honeywell-aimlen", HIDSource{Mode: ModeHIDPOS, POS: HIDPOSOptions{Layout: LayoutHoneywell, Length: LengthWithAIM}, Decoding: Decoding{KeepAIM: true}},
			[]wantScan{{"]C0ABC-12345", "]C0"}, {"]Q1" + long, "]Q1"}}},
		{"pos-newland", HIDSource{Mode: ModeHIDPOS, POS: HIDPOSOptions{Layout: LayoutNewland}}, []wantScan{{"6901234567892", ""}, {"134567890123456789", ""}}},
		{"pos-garbage", HIDSource{Mode: ModeHIDPOS}, []wantScan{{"134567890123456789", "]Q1"}}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		name := tt.file
		if seen[name] {
			name += "-configured"
		}
		seen[tt.file] = true
		t.Run(name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			rec := &replay{reports: loadRecording(t, filepath.Join("testdata", "hid", tt.file+".hex")), clock: clock, done: make(chan struct{})}
			src := tt.src
			src.Name = "counter"
			src.Clock = clock.Now
			src.Open = func() (io.ReadCloser, error) { return rec, nil }
			var scans []Scan
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() { errc <- src.Run(ctx, func(s Scan) { scans = append(scans, s) }) }()
			<-rec.done
			cancel()
			if err := <-errc; err != nil {
				t.Fatalf("Run: %v", err)
			}
			var got []wantScan
			var golden strings.Builder
			fmt.Fprintf(&golden, "# scans from %s.hex through HIDSource (code, symbology, wallet, time after start)\n", tt.file)
			for _, s := range scans {
				got = append(got, wantScan{s.Code, s.Symbology})
				if s.Device != "counter" {
					t.Errorf("device %q", s.Device)
				}
				wallet, ok := paycode.Classify(s.Code)
				if !ok {
					wallet = "barcode"
				}
				fmt.Fprintf(&golden, "%q\t%q\t%s\t+%v\n", s.Code, s.Symbology, wallet, s.At.Sub(t0))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("scans\n got %q\nwant %q", got, tt.want)
			}
			checkGolden(t, filepath.Join("testdata", "hid", name+".golden"), golden.String())
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scanner -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update if the change is intended)\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestHIDSourceReconnect: the opener fails twice (no device), then a device
// appears, is unplugged after one code, and comes back: the source reports
// error (once), connected, disconnected, connected and never stops.
func TestHIDSourceReconnect(t *testing.T) {
	clock := &fakeClock{now: t0}
	reports := loadRecording(t, filepath.Join("testdata", "hid", "kbd-payment.hex"))
	var mu sync.Mutex
	var states []string
	opens := 0
	second := make(chan struct{})
	src := HIDSource{
		Name:    "counter",
		Clock:   clock.Now,
		Backoff: Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond},
		OnState: func(s Status) {
			mu.Lock()
			defer mu.Unlock()
			states = append(states, s.State)
			if s.Name != "counter" || s.Kind != "scanner" || (s.State != StateConnected) == (s.Err == "") {
				t.Errorf("bad status %+v", s)
			}
		},
		Open: func() (io.ReadCloser, error) {
			opens++
			switch opens {
			case 1, 2:
				mu.Lock()
				if opens == 2 && (len(states) != 1 || states[0] != StateError) {
					t.Errorf("after the first failure: states %v", states)
				}
				mu.Unlock()
				return nil, errors.New("usbhid: open 0c2e:0b61: no matching HID device")
			case 3:
				return &replay{reports: reports, clock: clock, done: make(chan struct{}), endErr: errors.New("hidapi: LIBUSB_ERROR_NO_DEVICE")}, nil
			}
			return &replay{clock: clock, done: second}, nil
		},
	}
	var scans []Scan
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, func(s Scan) { scans = append(scans, s) }) }()
	<-second
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Two failed opens with the same error are reported once.
	want := []string{StateError, StateConnected, StateDisconnected, StateConnected}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("states %v, want %v", states, want)
	}
	if len(scans) != 1 || scans[0].Code != "134567890123456789" {
		t.Errorf("scans %+v", scans)
	}
}

func TestHIDSourceBadConfig(t *testing.T) {
	for _, src := range []HIDSource{{Mode: "evdev"}, {Mode: ModeHIDPOS, POS: HIDPOSOptions{Layout: "zebra"}}, {Mode: ModeHIDPOS, POS: HIDPOSOptions{Length: "x"}}} {
		src.Open = func() (io.ReadCloser, error) { t.Fatal("opened with a bad config"); return nil, nil }
		if err := src.Run(t.Context(), func(Scan) {}); err == nil || !strings.HasPrefix(err.Error(), "scanner: ") {
			t.Errorf("%+v: %v", src, err)
		}
	}
}

// failingDevice opens fine and fails its first read.
type failingDevice struct{}

func (failingDevice) Read([]byte) (int, error) { return 0, errors.New("hidapi: read error") }
func (failingDevice) Close() error             { return nil }

// TestBackoffFlappingDevice: a device that fails right after each open is
// retried with growing waits (bounded by Max), not in a tight loop.
func TestBackoffFlappingDevice(t *testing.T) {
	clock := &fakeClock{now: t0}
	var opens []time.Time
	start := time.Now()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := HIDSource{
		Name:    "flappy",
		Clock:   clock.Now,
		Backoff: Backoff{Min: time.Millisecond, Max: 8 * time.Millisecond},
		Open: func() (io.ReadCloser, error) {
			opens = append(opens, time.Now())
			if len(opens) == 7 {
				cancel()
			}
			return failingDevice{}, nil
		},
	}
	if err := src.Run(ctx, func(Scan) {}); err != nil {
		t.Fatal(err)
	}
	// Waits 1, 2, 4, 8, 8, 8 ms between the opens: at least 31 ms in all
	// (timers never fire early, so this lower bound is exact, not a race).
	if len(opens) != 7 {
		t.Fatalf("%d opens", len(opens))
	}
	if total := opens[6].Sub(start); total < 31*time.Millisecond {
		t.Errorf("7 opens in %v: the backoff did not grow", total)
	}
}
