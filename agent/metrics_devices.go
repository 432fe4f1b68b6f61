package agent

import "github.com/posagent/posagent/devices"

// DeviceWorking reports whether a device state means the device can do its
// job (scanner connected; printer ok, near its paper end, or not asked).
func DeviceWorking(state string) bool { return devices.Working(state) }

// collectDevices adds each device's state to /metrics: the alerts of
// deploy/prometheus/alerts.yml read them (printer out of paper or offline,
// scanner gone).
func (e *Engine) collectDevices(gauge metricFunc) {
	for _, d := range e.Devices() {
		gauge(descDeviceUp, boolGauge(devices.Working(d.State)), d.Kind, d.Name)
		gauge(descDeviceState, 1, d.Kind, d.Name, d.State)
	}
}
