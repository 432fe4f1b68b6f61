package agent

import "time"

// Devices is the device registry the engine reads; the daemon owns it
// (devices.Registry) and the parts that drive the devices set it.
type Devices interface {
	List() []DeviceStatus
	Scanned(name string, at time.Time)
}

// RecordDevice journals a device.changed event for d: the daemon calls it
// for each change its registry reports.
func (e *Engine) RecordDevice(d DeviceStatus) {
	if err := e.appendEvent(Event{Kind: KindDeviceChanged, At: e.now(), Device: &d}); err != nil {
		e.log.Error("agent: device event", "err", err)
	}
}

// Devices lists the registry, sorted by kind and name (none without one).
func (e *Engine) Devices() []DeviceStatus {
	if e.o.Devices == nil {
		return []DeviceStatus{}
	}
	return e.o.Devices.List()
}
