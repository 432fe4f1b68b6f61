package config

import (
	"github.com/posagent/posagent/config/profile"
	"github.com/posagent/posagent/fleet"

	"fmt"
	"strings"
	"time"
)

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

func unknownProfile(name string) string {
	names := profile.Names()
	if hint := closest(name, names); hint != "" {
		return fmt.Sprintf("device.profile %q is not a known profile (did you mean %s?)", name, hint)
	}
	return fmt.Sprintf("device.profile %q is not a known profile: use one of %s", name, strings.Join(names, ", "))
}
