package devices

import (
	"testing"
	"time"
)

func TestRegistry(t *testing.T) {
	r := New()
	var changes []Status
	r.Watch(func(d Status) { changes = append(changes, d) })
	changed := func() bool {
		n := len(changes)
		changes = nil
		return n > 0
	}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if r.Set(Status{Kind: "scanner", Name: "front", State: "connected"}); !changed() {
		t.Fatal("a new device is no change")
	}
	if r.Set(Status{Kind: "scanner", Name: "front", State: "connected"}); changed() {
		t.Fatal("the same status again is a change")
	}
	r.Scanned("front", at)
	r.Scanned("nobody", at) // an unknown scanner is not added
	r.Set(Status{Kind: "scanner", Name: "front", State: "disconnected"})
	if len(changes) != 1 || !changes[0].LastScanAt.Equal(at) {
		t.Fatalf("a new state keeps the last scan: %+v", changes)
	}
	r.Set(Status{Kind: "printer", Name: "receipt", State: "ok"})
	got := r.List()
	if len(got) != 2 || got[0].Kind != "printer" || got[1].Name != "front" || !got[1].LastScanAt.Equal(at) {
		t.Fatalf("list: %+v", got)
	}
}
