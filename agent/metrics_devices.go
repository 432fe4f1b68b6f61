package agent

import (
	"bytes"
	"fmt"
	"sort"
)

// deviceWorking reports whether a device state means the device can do its
// job (scanner connected; printer ok, near its paper end, or not asked).
func deviceWorking(state string) bool {
	switch state {
	case "connected", "ok", "paper_near_end", "unknown":
		return true
	}
	return false
}

// writeDeviceMetrics adds each device's state to /metrics: the alerts of
// deploy/prometheus/alerts.yml read them (printer out of paper or offline,
// scanner gone).
func (e *Engine) writeDeviceMetrics(b *bytes.Buffer) {
	e.mu.Lock()
	devs := make([]DeviceStatus, 0, len(e.devices))
	for _, d := range e.devices {
		devs = append(devs, d)
	}
	e.mu.Unlock()
	sort.Slice(devs, func(i, j int) bool { return devs[i].Kind+"/"+devs[i].Name < devs[j].Kind+"/"+devs[j].Name })
	fmt.Fprintln(b, "# HELP posagent_device_up 1 while a device (scanner, printer, display, bridge) can do its job.")
	fmt.Fprintln(b, "# TYPE posagent_device_up gauge")
	for _, d := range devs {
		up := 0
		if deviceWorking(d.State) {
			up = 1
		}
		fmt.Fprintf(b, "posagent_device_up{kind=%q,name=%q} %d\n", d.Kind, d.Name, up)
	}
	fmt.Fprintln(b, "# HELP posagent_device_state The state of each device as a label (printer: ok, paper_out, paper_near_end, cover_open, offline, unreachable, ...; scanner: connected, disconnected, ...); always 1.")
	fmt.Fprintln(b, "# TYPE posagent_device_state gauge")
	for _, d := range devs {
		fmt.Fprintf(b, "posagent_device_state{kind=%q,name=%q,state=%q} 1\n", d.Kind, d.Name, d.State)
	}
}
