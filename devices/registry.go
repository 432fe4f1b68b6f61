package devices

import (
	"sort"
	"sync"
	"time"
)

// Status is one device in the registry (/v1/status, device.changed).
type Status struct {
	Kind       string    `json:"kind"` // scanner, printer, display
	Name       string    `json:"name"`
	State      string    `json:"state"` // e.g. connected, disconnected, error
	LastError  string    `json:"last_error,omitempty"`
	LastScanAt time.Time `json:"last_scan_at,omitzero"`
}

// Registry is the last status of each device, by kind and name. The zero
// value is not ready: use New.
type Registry struct {
	mu       sync.Mutex // guards devs and watchers
	devs     map[string]Status
	watchers []func(Status)
}

// New is an empty registry.
func New() *Registry { return &Registry{devs: map[string]Status{}} }

func key(kind, name string) string { return kind + "/" + name }

// Set records d and, when it differs from what was known, tells every
// watcher (in the caller's goroutine, after the lock is released). A status
// without a last scan keeps the one known.
func (r *Registry) Set(d Status) {
	d, changed, watchers := r.set(d)
	if !changed {
		return
	}
	for _, w := range watchers {
		w(d)
	}
}

func (r *Registry) set(d Status) (Status, bool, []func(Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key(d.Kind, d.Name)
	old, ok := r.devs[k]
	if d.LastScanAt.IsZero() {
		d.LastScanAt = old.LastScanAt
	}
	r.devs[k] = d
	return d, !ok || old != d, r.watchers
}

// Watch calls fn with every change from now on. fn runs in the goroutine
// of the part reporting the change: keep it quick.
func (r *Registry) Watch(fn func(Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watchers = append(r.watchers[:len(r.watchers):len(r.watchers)], fn)
}

// Scanned stamps a known scanner's last scan; an unknown name is not added.
func (r *Registry) Scanned(name string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key("scanner", name)
	if d, ok := r.devs[k]; ok {
		d.LastScanAt = at
		r.devs[k] = d
	}
}

// List is every device, sorted by kind and name.
func (r *Registry) List() []Status {
	r.mu.Lock()
	out := make([]Status, 0, len(r.devs))
	for _, d := range r.devs {
		out = append(out, d)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Name < out[j].Kind+out[j].Name })
	return out
}

// Working reports whether a device state means the device can do its job
// (scanner connected; printer ok, near its paper end, or not asked).
func Working(state string) bool {
	switch state {
	case "connected", "ok", "paper_near_end", "unknown":
		return true
	}
	return false
}
