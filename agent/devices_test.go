package agent

import (
	"testing"
	"time"
)

func TestRegistry(t *testing.T) {
	r := newRegistry()
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if _, changed := r.set(DeviceStatus{Kind: "scanner", Name: "front", State: "connected"}); !changed {
		t.Fatal("a new device is no change")
	}
	if _, changed := r.set(DeviceStatus{Kind: "scanner", Name: "front", State: "connected"}); changed {
		t.Fatal("the same status again is a change")
	}
	r.scanned("front", at)
	r.scanned("nobody", at) // an unknown scanner is not added
	d, changed := r.set(DeviceStatus{Kind: "scanner", Name: "front", State: "disconnected"})
	if !changed || !d.LastScanAt.Equal(at) {
		t.Fatalf("a new state keeps the last scan: %+v changed %v", d, changed)
	}
	r.set(DeviceStatus{Kind: "printer", Name: "receipt", State: "ok"})
	got := r.list()
	if len(got) != 2 || got[0].Kind != "printer" || got[1].Name != "front" || !got[1].LastScanAt.Equal(at) {
		t.Fatalf("list: %+v", got)
	}
}
