package profile

import "slices"

// Profile is a set of defaults for one kind of terminal: what a technician
// would otherwise look up in docs/hardware.md (paper width and dots, printer
// quirks, display kind and size, scanner transport and ids, deployment).
// Keys set in the file or the environment override a profile's values.
type Profile struct {
	Name        string
	Description string
	// Notes are facts and caveats a technician should read (config show
	// prints them; docs/configuration.md lists them).
	Notes []string
	// Values maps keys ("printer.paper") to typed values.
	Values map[string]any
	// Scanners is the profile's scanners list; nil leaves it empty.
	Scanners []map[string]any
}

// sunmiNS021 is the handheld scanner Sunmi sells with its desktop
// terminals: a Newland engine in USB HID keyboard mode. On the device,
// Android owns it, so the bridge helper claims it and posts its scans.
func sunmiNS021() map[string]any {
	return map[string]any{"name": "ns021", "kind": "bridge", "vid": 0x1EAB, "pid": 0x1A03, "mode": "keyboard"}
}

// table is the profiles, generic-linux first: built on each call, so that
// no caller shares (and could change) another's maps.
func table() []Profile {
	return []Profile{
		{
			Name:        "generic-linux",
			Description: "a Linux box beside the POS with USB/serial scanners, an ESC/POS printer and a kiosk browser",
			Notes: []string{
				"add scanners[] for each scanner (posagent devices lists what is plugged in)",
				"set printer.kind (network address:9100, usb /dev/usb/lp0, serial /dev/ttyUSB0)",
			},
			Values: map[string]any{},
		},
		{
			Name:        "sunmi-t2",
			Description: "Sunmi T2/T2s desktop POS, agent on the device; 80 mm printer through the bridge, second screen shows the web display",
			Notes: []string{
				"the printer service takes ESC/POS (sendRAWData) but not the parameterised feed-and-cut (GS V 65/66 n): feed_cut is off",
				"the built-in printer has a GB18030 Chinese font and native QR",
				"the second screen is an Android presentation display: its WebView loads /display",
				"NS021 handheld scanner: Newland 0x1EAB:0x1A03 in keyboard mode, claimed by the bridge helper",
			},
			Values: map[string]any{
				"device.deployment": "on-device",
				"printer.kind":      "bridge", "printer.paper": "80mm", "printer.dots": 576,
				"printer.native_qr": true, "printer.chinese": true, "printer.cut": "full", "printer.feed_cut": false,
				"display.kind":   "web",
				"bridge.enabled": true,
			},
			Scanners: []map[string]any{sunmiNS021()},
		},
		{
			Name:        "sunmi-v2pro",
			Description: "Sunmi V2 Pro handheld, agent on the device; 58 mm printer without a cutter, built-in scan head",
			Notes: []string{
				"58 mm paper, 384 dots, no cutter (tear off): cut is none",
				"the built-in scanner reports through the broadcast com.sunmi.scanner.ACTION_DATA_CODE_RECEIVED; the bridge helper posts each code",
				"one screen only: the POS app shows /display (the QR) on it",
			},
			Values: map[string]any{
				"device.deployment": "on-device",
				"printer.kind":      "bridge", "printer.paper": "58mm", "printer.dots": 384,
				"printer.native_qr": true, "printer.chinese": true, "printer.cut": "none", "printer.feed_cut": false,
				"display.kind":   "web",
				"bridge.enabled": true,
			},
			Scanners: []map[string]any{{"name": "builtin", "kind": "bridge"}},
		},
		{
			Name:        "sunmi-t1mini",
			Description: "Sunmi T1 mini desktop POS, agent on the device; 80 mm printer, 128x40 customer LCD drawn as PNG frames",
			Notes: []string{
				"the small customer LCD is 128x40 px and is driven through the printer service: the agent draws PNG frames and the bridge pushes them",
				"the printer takes ESC/POS without the parameterised feed-and-cut: feed_cut is off",
				"NS021 handheld scanner: Newland 0x1EAB:0x1A03 in keyboard mode, claimed by the bridge helper",
			},
			Values: map[string]any{
				"device.deployment": "on-device",
				"printer.kind":      "bridge", "printer.paper": "80mm", "printer.dots": 576,
				"printer.native_qr": true, "printer.chinese": true, "printer.cut": "full", "printer.feed_cut": false,
				"display.kind": "png", "display.png.width": 128, "display.png.height": 40, "display.png.path": "./lcd.png",
				"bridge.enabled": true,
			},
			Scanners: []map[string]any{sunmiNS021()},
		},
		{
			Name:        "clover-station",
			Description: "Clover Station, agent on the device; Clover prints images only (576 dots) through the bridge; customer-facing screen shows the web display",
			Notes: []string{
				"Clover has no raw ESC/POS: every receipt is rendered as one raster image (printer.image) 576 dots wide and handed to the bridge",
				"Chinese and QR codes are drawn into the image, so they always print",
				"USB scanners are HID keyboards to Android: the bridge helper forwards their scans",
			},
			Values: map[string]any{
				"device.deployment": "on-device",
				"printer.kind":      "bridge", "printer.paper": "80mm", "printer.dots": 576, "printer.image": true,
				"printer.native_qr": false, "printer.chinese": true, "printer.cut": "none", "printer.feed_cut": false,
				"display.kind":   "web",
				"bridge.enabled": true,
			},
			Scanners: []map[string]any{{"name": "usb", "kind": "bridge"}},
		},
		{
			Name:        "clover-mini",
			Description: "Clover Mini, agent on the device; built-in printer prints images (576 dots) through the bridge",
			Notes: []string{
				"Clover has no raw ESC/POS: receipts are raster images (printer.image) handed to the bridge",
				"the customer faces the same screen: the POS app shows /display when a QR is due",
			},
			Values: map[string]any{
				"device.deployment": "on-device",
				"printer.kind":      "bridge", "printer.paper": "80mm", "printer.dots": 576, "printer.image": true,
				"printer.native_qr": false, "printer.chinese": true, "printer.cut": "none", "printer.feed_cut": false,
				"display.kind":   "web",
				"bridge.enabled": true,
			},
			Scanners: []map[string]any{{"name": "usb", "kind": "bridge"}},
		},
		{
			Name:        "clover-flex",
			Description: "Clover Flex handheld, agent on the device; 58 mm printer prints images, camera scanner through the bridge",
			Notes: []string{
				"58 mm paper (384 dots; unverified on a device: Clover documents 576 for its receipt width in general)",
				"receipts are raster images (printer.image) handed to the bridge; no cutter",
				"the camera scanner's codes come from the bridge helper",
			},
			Values: map[string]any{
				"device.deployment": "on-device",
				"printer.kind":      "bridge", "printer.paper": "58mm", "printer.dots": 384, "printer.image": true,
				"printer.native_qr": false, "printer.chinese": true, "printer.cut": "none", "printer.feed_cut": false,
				"display.kind":   "web",
				"bridge.enabled": true,
			},
			Scanners: []map[string]any{{"name": "camera", "kind": "bridge"}},
		},
		{
			Name:        "chase",
			Description: "Chase POS / Smart Terminal: closed Android, no raw hardware; the agent runs beside it with network or bridged devices",
			Notes: []string{
				"no public hardware interface: run the agent on a Linux box beside the terminal",
				"use a network receipt printer (printer.kind network, printer.address HOST:9100) and a kiosk browser or tablet for /display",
				"the POS posts codes (POST /v1/scans or auth_code) when it owns the scanner",
			},
			Values: map[string]any{
				"device.deployment": "beside",
				"printer.kind":      "none", "printer.paper": "80mm", "printer.dots": 576,
				"display.kind": "web",
			},
		},
	}
}

// All lists the device profiles, generic-linux first.
func All() []Profile { return table() }

// Names lists the profile names, in the order of All.
func Names() []string {
	var out []string
	for _, p := range table() {
		out = append(out, p.Name)
	}
	return out
}

// Lookup finds a profile by name.
func Lookup(name string) (Profile, bool) {
	ps := table()
	i := slices.IndexFunc(ps, func(p Profile) bool { return p.Name == name })
	if i < 0 {
		return Profile{}, false
	}
	return ps[i], true
}
