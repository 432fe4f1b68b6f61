package serial

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// PortInfo describes a serial port present on the machine.
type PortInfo struct {
	Path string   // /dev/ttyACM0
	Kind string   // "usb-cdc" (ttyACM), "usb-serial" (ttyUSB), "on-board" (ttyS), "other"
	ByID []string // stable names under /dev/serial/by-id pointing at it (use these in the config)
}

// ListPorts lists the serial ports present: /dev/ttyACM*, /dev/ttyUSB*,
// the /dev/ttyS* that have a real UART behind them (sysfs type not 0), and
// the /dev/serial/by-id links. devRoot and sysRoot are "/dev" and "/sys" on
// a real system (parameters so tests can fake them). A missing directory is
// not an error: there is nothing to list.
func ListPorts(devRoot, sysRoot string) []PortInfo {
	var ports []PortInfo
	index := map[string]int{}
	add := func(path, kind string) {
		if _, ok := index[path]; !ok {
			index[path] = len(ports)
			ports = append(ports, PortInfo{Path: path, Kind: kind})
		}
	}
	for _, pat := range []struct{ glob, kind string }{{"ttyACM*", "usb-cdc"}, {"ttyUSB*", "usb-serial"}} {
		m, _ := filepath.Glob(filepath.Join(devRoot, pat.glob))
		for _, p := range m {
			add(p, pat.kind)
		}
	}
	m, _ := filepath.Glob(filepath.Join(devRoot, "ttyS*"))
	for _, p := range m {
		t, err := os.ReadFile(filepath.Join(sysRoot, "class", "tty", filepath.Base(p), "type"))
		if err == nil && strings.TrimSpace(string(t)) != "0" {
			add(p, "on-board")
		}
	}
	byID := filepath.Join(devRoot, "serial", "by-id")
	links, _ := os.ReadDir(byID)
	for _, l := range links {
		link := filepath.Join(byID, l.Name())
		target, err := os.Readlink(link)
		if err != nil {
			continue
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(byID, target)
		}
		target = filepath.Clean(target)
		add(target, "other")
		i := index[target]
		ports[i].ByID = append(ports[i].ByID, link)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Path < ports[j].Path })
	return ports
}
