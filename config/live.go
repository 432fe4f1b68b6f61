package config

import (
	"fmt"
	"strings"
)

// Which keys a running daemon applies at once on a reload is part of the
// schema: the `live` tag of a field (inherited by the keys of a struct or a
// list of structs) names the rule below. A key without one needs a restart
// (the journal, the listen address, the gateway, the flows' timings, what
// the parts are).
var liveRules = map[string]struct {
	when string // for the docs: "" always
	ok   func(old, new *Config) bool
}{
	"yes": {"", func(_, _ *Config) bool { return true }},
	// The page and the pole or PNG sink are rebuilt in place; a new kind
	// is a different part.
	"same-display-kind": {"while display.kind stays the same", func(o, n *Config) bool { return o.Display.Kind == n.Display.Kind }},
	// The bridge's printer encodes receipts in the format set at start.
	"unbridged": {"unless printer.kind is or was bridge", func(o, n *Config) bool { return !bridged(o, n) }},
	"printer-kind": {"between printers the agent drives (not to or from none or bridge)", func(o, n *Config) bool {
		return o.Printer.Kind != "none" && n.Printer.Kind != "none" && !bridged(o, n)
	}},
}

func bridged(o, n *Config) bool { return o.Printer.Kind == "bridge" || n.Printer.Kind == "bridge" }

// Live reports whether a running daemon applies a change of key (as
// Changes names it: "printer.paper", "scanners[1].device") from old to new
// at once; false: the change needs a restart.
func Live(key string, old, new *Config) bool {
	l, ok := newSchema().byPath[listBase(key)]
	if !ok {
		return false
	}
	r, ok := liveRules[l.live]
	return ok && r.ok(old, new)
}

// listBase is key without its list index and item key ("scanners[1].device"
// is "scanners").
func listBase(key string) string {
	if i := strings.IndexByte(key, '['); i >= 0 {
		return key[:i]
	}
	return key
}

// LiveKey is a key a reload applies at once, and when.
type LiveKey struct {
	Key  string // "printer.paper"; a list: "scanners"
	When string // "" always; else the condition in words
}

// LiveKeys lists the keys a reload applies at once, in file order.
func LiveKeys() []LiveKey {
	var out []LiveKey
	for _, l := range newSchema().all {
		if r, ok := liveRules[l.live]; ok {
			if _, old := Renamed[l.path]; !old {
				out = append(out, LiveKey{Key: l.path, When: r.when})
			}
		}
	}
	return out
}

// checkLiveTags reports a live tag that names no rule (a test runs it).
func checkLiveTags() error {
	for _, l := range newSchema().all {
		if _, ok := liveRules[l.live]; l.live != "" && !ok {
			return fmt.Errorf("config: %s: live tag %q names no rule", l.path, l.live)
		}
	}
	return nil
}
