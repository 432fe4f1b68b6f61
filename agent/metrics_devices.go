package agent

// DeviceWorking reports whether a device state means the device can do its
// job (scanner connected; printer ok, near its paper end, or not asked).
func DeviceWorking(state string) bool { return deviceWorking(state) }

func deviceWorking(state string) bool {
	switch state {
	case "connected", "ok", "paper_near_end", "unknown":
		return true
	}
	return false
}

// collectDevices adds each device's state to /metrics: the alerts of
// deploy/prometheus/alerts.yml read them (printer out of paper or offline,
// scanner gone).
func (e *Engine) collectDevices(gauge metricFunc) {
	for _, d := range e.devices.list() {
		gauge(descDeviceUp, b2f(deviceWorking(d.State)), d.Kind, d.Name)
		gauge(descDeviceState, 1, d.Kind, d.Name, d.State)
	}
}
