package config

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Redacted is what a secret's value shows as.
const Redacted = "********"

// Setting is one key of a Config with its value as text (secrets redacted).
type Setting struct {
	Key    string // "printer.paper", "scanners[0].baud"
	Value  string
	Secret bool
}

// Settings flattens c in file order; secrets that are set show as Redacted.
func (c *Config) Settings() []Setting {
	var out []Setting
	root := reflect.ValueOf(c).Elem()
	for _, l := range newSchema().all {
		if _, old := Renamed[l.path]; old {
			continue // shown under its new name
		}
		if l.item == nil {
			out = append(out, setting(l, l.path, root.FieldByIndex(l.index)))
			continue
		}
		list := root.FieldByIndex(l.index)
		for i := range list.Len() {
			for _, il := range l.item {
				key := fmt.Sprintf("%s[%d].%s", l.path, i, il.path)
				out = append(out, setting(il, key, list.Index(i).FieldByIndex(il.index)))
			}
		}
	}
	return out
}

func setting(l leaf, key string, f reflect.Value) Setting {
	s := Setting{Key: key, Secret: l.secret, Value: formatValue(key, f.Interface())}
	if l.secret && f.String() != "" {
		s.Value = Redacted
	}
	return s
}

func formatValue(key string, v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || strings.ContainsAny(x, " #:\"'") || x != strings.TrimSpace(x) {
			return strconv.Quote(x)
		}
		return x
	case time.Duration:
		return fmtDuration(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		if strings.HasSuffix(key, ".vid") || strings.HasSuffix(key, ".pid") {
			return fmt.Sprintf("0x%04x", x)
		}
		return strconv.Itoa(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = formatValue("", s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// Show writes the effective configuration, one key a line with the source
// of its value beside it; secrets are redacted.
func Show(w io.Writer, c *Config, src Sources) error {
	file := src.File
	if file == "" {
		file = "(none: defaults)"
	}
	fmt.Fprintf(w, "# file: %s\n# profile: %s\n", file, src.Profile)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range c.Settings() {
		fmt.Fprintf(tw, "%s:\t%s\t# %s\n", s.Key, s.Value, src.Of(s.Key))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, wmsg := range src.Warnings {
		if _, err := fmt.Fprintf(w, "# warning: %s\n", wmsg); err != nil {
			return err
		}
	}
	return nil
}
