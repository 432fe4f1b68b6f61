package config

import (
	"github.com/posagent/posagent/fleet"

	"fmt"
	"slices"
	"strings"
	"time"
)

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

// defaults are the values with no profile, no file and no environment:
// the in-process simulator with the contract's gateway values, so a fresh
// checkout runs. They equal the generic-linux profile.
func defaults() map[string]any {
	return map[string]any{
		"device.profile":    "generic-linux",
		"device.deployment": "beside",

		"merchant.id":         "",
		"merchant.store":      "",
		"merchant.name":       "Demo Shop",
		"merchant.currency":   "CAD",
		"merchant.address":    []string{},
		"merchant.footer":     []string{"Thank you!"},
		"merchant.receipt_qr": "{order_id}",
		"merchant.timezone":   "",
		"merchant.static_qr":  "",

		"gateway.url":               "sim",
		"gateway.merchant_id":       "ON00004652",
		"gateway.sign_key":          "6698851A525C9433",
		"gateway.operator_id":       "0000000696",
		"gateway.terminal_no":       "LANE1",
		"gateway.timeout":           20 * time.Second,
		"gateway.fee_allowance_bps": 0,
		"gateway.callback_url":      "",
		"gateway.time_zone":         "UTC",

		"api.listen": "127.0.0.1:7420",
		"api.token":  "",

		"store.path":         "./posagent.db",
		"store.retention":    400 * 24 * time.Hour,
		"store.backup.dir":   "",
		"store.backup.every": 24 * time.Hour,
		"store.backup.keep":  7,

		"printer.kind":       "none",
		"printer.address":    "",
		"printer.device":     "",
		"printer.path":       "",
		"printer.baud":       9600,
		"printer.paper":      "80mm",
		"printer.dots":       0,
		"printer.native_qr":  true,
		"printer.chinese":    false,
		"printer.image":      false,
		"printer.cut":        "partial",
		"printer.feed_cut":   true,
		"printer.drawer":     false,
		"printer.copies":     []string{"customer"},
		"printer.auto_print": true,
		"printer.status":     true,

		"receipt.language": "en",

		"display.kind":         "web",
		"display.language":     "auto",
		"display.logo":         "",
		"display.pole.device":  "",
		"display.pole.baud":    9600,
		"display.pole.dialect": "epson",
		"display.pole.chinese": false,
		"display.png.path":     "./display.png",
		"display.png.width":    320,
		"display.png.height":   240,
		"display.hold":         5 * time.Second,
		"display.rate_max_age": 2 * time.Hour,
		"display.idle_qr":      false,
		"display.tip_choices":  []int{},

		"tips.max_percent": 30,

		"render.font": "",

		"agent.time_scale":         1.0,
		"agent.scan_window":        60 * time.Second,
		"agent.qr_window":          3 * time.Minute,
		"agent.poll_interval":      3 * time.Second,
		"agent.dedup":              2 * time.Second,
		"agent.scan_auto_start":    false,
		"agent.await_code_timeout": 2 * time.Minute,
		"agent.cart_timeout":       10 * time.Minute,
		"agent.duplicate_window":   10 * time.Minute,
		"agent.idempotency_window": 24 * time.Hour,
		"agent.shutdown_grace":     10 * time.Second,
		"agent.outbox_workers":     4,
		"agent.log_level":          "",
		"agent.log_format":         "",
		"log.level":                "info",
		"log.format":               "text",

		"sim.time_scale": 1.0,
		"sim.listen":     "127.0.0.1:0",

		"bridge.enabled": false,
		"bridge.token":   "",

		"api.tokens.pos":               "",
		"api.tokens.manager":           "",
		"api.tokens.display":           "",
		"api.tokens.bridge":            "",
		"api.tokens.metrics":           "",
		"api.allowed_hosts":            []string{},
		"api.allowed_origins":          []string{},
		"api.socket":                   "",
		"api.socket_group":             "",
		"api.socket_users":             []string{},
		"api.tls.cert":                 "",
		"api.tls.key":                  "",
		"api.default_operator":         "",
		"refunds.approval_above":       -1,
		"refunds.unapproved_per_shift": 0,
		"reports.close_at":             "03:00",
		"reports.reconcile_rate":       5.0,
		"feed.enabled":                 false,
		"feed.url":                     []string{},
		"feed.stream":                  "POSAGENT",
		"feed.creds":                   "",
		"feed.nkey_seed":               "",
		"feed.user":                    "",
		"feed.password":                "",
		"feed.tls_ca":                  "",
		"feed.window":                  64,
		"feed.ack_timeout":             5 * time.Second,
		"feed.stuck_after":             5 * time.Minute,
		"fleet.enabled":                false,
		"fleet.public_key":             "",
		"fleet.local_overrides":        []string{},
		"fleet.maintenance_window":     "",
		"fleet.url":                    []string{},
		"fleet.creds":                  "",
		"fleet.nkey_seed":              "",
		"fleet.user":                   "",
		"fleet.password":               "",
		"fleet.tls_ca":                 "",
		"fleet.heartbeat_every":        fleet.HeartbeatEvery,
	}
}

// scannerDefaults fills the keys a scanners[] item leaves out.
func scannerDefaults(i int) map[string]any {
	return map[string]any{
		"name":         fmt.Sprintf("scanner%d", i+1),
		"kind":         "",
		"device":       "",
		"baud":         9600,
		"parity":       "none",
		"stop_bits":    1,
		"vid":          0,
		"pid":          0,
		"interface":    -1,
		"mode":         "keyboard",
		"terminator":   "auto",
		"strip_aim":    true,
		"dedup_window": time.Duration(0),
	}
}

// sunmiNS021 is the handheld scanner Sunmi sells with its desktop
// terminals: a Newland engine in USB HID keyboard mode. On the device,
// Android owns it, so the bridge helper claims it and posts its scans.
func sunmiNS021() map[string]any {
	return map[string]any{"name": "ns021", "kind": "bridge", "vid": 0x1EAB, "pid": 0x1A03, "mode": "keyboard"}
}

var profiles = []Profile{
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

// Profiles lists the device profiles, generic-linux first.
func Profiles() []Profile { return slices.Clone(profiles) }

// ProfileNames lists the profile names.
func ProfileNames() []string {
	var out []string
	for _, p := range profiles {
		out = append(out, p.Name)
	}
	return out
}

// LookupProfile finds a profile by name.
func LookupProfile(name string) (Profile, bool) {
	for _, p := range profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

func unknownProfile(name string) string {
	names := ProfileNames()
	if hint := closest(name, names); hint != "" {
		return fmt.Sprintf("device.profile %q is not a known profile (did you mean %s?)", name, hint)
	}
	return fmt.Sprintf("device.profile %q is not a known profile: use one of %s", name, strings.Join(names, ", "))
}
