package agent

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
)

// Scaled multiplies every duration of a Timing, the schedules' too: a
// field added to Timing is scaled without being listed anywhere (the
// list TimeScale used to multiply once missed ReconcileSpread).
func TestTimingScaledCoversEveryDuration(t *testing.T) {
	def := DefaultTiming()
	got := def.Scaled(0.5)
	dv, gv := reflect.ValueOf(def), reflect.ValueOf(got)
	for i := range dv.NumField() {
		name := dv.Type().Field(i).Name
		switch d := dv.Field(i).Interface().(type) {
		case time.Duration:
			if g := gv.Field(i).Interface().(time.Duration); g != d/2 {
				t.Errorf("Scaled(0.5).%s = %s, want %s", name, g, d/2)
			}
		case []time.Duration:
			g := gv.Field(i).Interface().([]time.Duration)
			if len(g) != len(d) {
				t.Fatalf("Scaled(0.5).%s has %d delays, want %d", name, len(g), len(d))
			}
			for j := range d {
				if g[j] != d[j]/2 {
					t.Errorf("Scaled(0.5).%s[%d] = %s, want %s", name, j, g[j], d[j]/2)
				}
			}
		default:
			t.Errorf("Timing.%s is a %T: Scaled handles durations and schedules only", name, d)
		}
	}
	if got.ReconcileSpread != 5*time.Minute {
		t.Errorf("ReconcileSpread scaled to %s, want 5m", got.ReconcileSpread)
	}
	// The caller's schedules are left as they were.
	if def.ReconcileBackoff[0] != 2*time.Minute || def.RetryBackoff[0] != 3*time.Second {
		t.Errorf("Scaled changed the schedules it was given: %v %v", def.ReconcileBackoff, def.RetryBackoff)
	}
	if one := def.Scaled(1); !reflect.DeepEqual(one, def) {
		t.Errorf("Scaled(1) changed the timing")
	}
}

// A Timing the engine cannot run with is refused by New with the field's
// name; one left zero is DefaultTiming.
func TestNewChecksTiming(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gw, hc := newGatewayClient(t, "http://127.0.0.1:1")
	defer hc.CloseIdleConnections()
	for _, c := range []struct {
		name string
		edit func(*Timing)
		want string
	}{
		{"no poll interval", func(t *Timing) { t.ScanPollEvery = 0 }, "Timing.ScanPollEvery is 0s"},
		{"a negative window", func(t *Timing) { t.QRWindow = -time.Second }, "Timing.QRWindow is -1s"},
		{"no schedule", func(t *Timing) { t.RetryBackoff = nil }, "Timing.ReconcileBackoff and Timing.RetryBackoff"},
		{"a negative grace", func(t *Timing) { t.ShutdownGrace = -1 }, "a negative delay in Timing"},
	} {
		tm := DefaultTiming()
		c.edit(&tm)
		if _, err := New(Options{Gateway: gw, Store: st, Timing: tm}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New: %v, want an error naming %q", c.name, err, c.want)
		}
	}
	e, err := New(Options{Gateway: gw, Store: st, TimeScale: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Timing().ScanPollWindow, 600*time.Millisecond; got != want {
		t.Errorf("a zero Timing scaled by 0.01: ScanPollWindow %s, want %s", got, want)
	}
}
