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
