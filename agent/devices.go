package agent

import (
	"sort"
	"sync"
	"time"
)

// registry is the device registry: the last status of each scanner,
// printer, display and bridge, behind its own lock.
type registry struct {
	mu   sync.Mutex // guards devs
	devs map[string]DeviceStatus
}

func newRegistry() *registry { return &registry{devs: map[string]DeviceStatus{}} }

func deviceKey(kind, name string) string { return kind + "/" + name }

// set records d and reports whether it differs from what was known. A
// status without a last scan keeps the one known.
func (r *registry) set(d DeviceStatus) (DeviceStatus, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := deviceKey(d.Kind, d.Name)
	old, ok := r.devs[key]
	if d.LastScanAt.IsZero() {
		d.LastScanAt = old.LastScanAt
	}
	r.devs[key] = d
	return d, !ok || old != d
}

// scanned stamps a known scanner's last scan.
func (r *registry) scanned(name string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := deviceKey("scanner", name)
	if d, ok := r.devs[key]; ok {
		d.LastScanAt = at
		r.devs[key] = d
	}
}

// list is every device, sorted by kind and name.
func (r *registry) list() []DeviceStatus {
	r.mu.Lock()
	out := make([]DeviceStatus, 0, len(r.devs))
	for _, d := range r.devs {
		out = append(out, d)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Name < out[j].Kind+out[j].Name })
	return out
}

// SetDevice records a device's status and emits device.changed when it
// differs from what was known.
func (e *Engine) SetDevice(d DeviceStatus) {
	d, changed := e.devices.set(d)
	if !changed {
		return
	}
	if err := e.appendEvent(Event{Kind: KindDeviceChanged, At: e.now(), Device: &d}); err != nil {
		e.log.Error("agent: device event", "err", err)
	}
}

// Devices lists the registry, sorted by kind and name.
func (e *Engine) Devices() []DeviceStatus { return e.devices.list() }
