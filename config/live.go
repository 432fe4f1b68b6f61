package config

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
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

// liveSchema is the schema Live reads, built once (it never changes).
var liveSchema = sync.OnceValue(newSchema)

func bridged(o, n *Config) bool { return o.Printer.Kind == "bridge" || n.Printer.Kind == "bridge" }

// Live reports whether a running daemon applies a change of key (as
// Changes names it: "printer.paper", "scanners[1].device") from old to new
// at once; false: the change needs a restart.
func Live(key string, old, new *Config) bool {
	l, ok := liveSchema().byPath[listBase(key)]
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

// LiveTable is the Markdown table of the live keys (docs/configuration.md,
// checked by a test): consecutive keys of one section under one rule share
// a row.
func LiveTable() string {
	var b strings.Builder
	b.WriteString("| applied at once | when |\n|---|---|\n")
	var row []string
	var sec, when string
	flush := func() {
		if len(row) > 0 {
			w := when
			if w == "" {
				w = "always"
			}
			fmt.Fprintf(&b, "| %s | %s |\n", strings.Join(row, ", "), w)
		}
		row = nil
	}
	for _, k := range LiveKeys() {
		s, _, _ := strings.Cut(k.Key, ".")
		if s != sec || k.When != when {
			flush()
			sec, when = s, k.When
		}
		row = append(row, "`"+k.Key+"`")
	}
	flush()
	return b.String()
}

// WriteLive prints the live keys, one a line with when a reload applies
// it (posagent config live).
func WriteLive(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tAPPLIED ON RELOAD")
	for _, k := range LiveKeys() {
		when := k.When
		if when == "" {
			when = "always"
		}
		fmt.Fprintf(tw, "%s\t%s\n", k.Key, when)
	}
	fmt.Fprintln(tw, "(any other key)\tneeds a restart: a reload lists it and leaves it as it was")
	return tw.Flush()
}
