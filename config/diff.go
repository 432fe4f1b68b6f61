package config

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
)

// Difference is one key whose effective value is not simply the built-in
// default: the device profile changed it, or the file or the environment
// did.
type Difference struct {
	Key     string
	Value   string // effective (secrets redacted)
	Profile string // what the device profile alone gives ("-": the key does not exist there)
	Default string // the built-in default ("-": the key does not exist there)
	Source  Source
	Line    int // in the file, when the file sets it
}

// Redundant reports whether the file or the environment sets the key to
// the value the profile already gives, so the line could go.
func (d Difference) Redundant() bool {
	return d.Source.Kind >= FromFile && d.Value == d.Profile && d.Key != "device.profile"
}

// Diff lists the keys of c (loaded with src) whose value differs from the
// built-in defaults or from the device profile, in file order, plus those
// the file sets to the value they already have.
func Diff(c *Config, src Sources) []Difference {
	def := settingsMap(defaultConfig())
	prof := map[string]string{}
	if pc, _, err := loadData("(profile)", []byte("device:\n  profile: "+src.Profile+"\n"), nil); err == nil {
		prof = settingsMap(pc)
	}
	var out []Difference
	for _, s := range c.Settings() {
		d := Difference{Key: s.Key, Value: s.Value, Profile: orDash(prof, s.Key), Default: orDash(def, s.Key),
			Source: src.Of(s.Key), Line: src.Line(s.Key)}
		if d.Source.Kind == FromDefault && d.Value == d.Profile {
			continue // a scanner's field at its default, in the profile's list
		}
		if d.Value != d.Default || d.Value != d.Profile || d.Redundant() {
			out = append(out, d)
		}
	}
	return out
}

// WriteDiff prints Diff as a table: key, value, profile, default, and who
// set it (with the file's line).
func WriteDiff(w io.Writer, c *Config, src Sources) error {
	file := src.File
	if file == "" {
		file = "(none: defaults)"
	}
	fmt.Fprintf(w, "# file: %s\n# profile: %s\n", file, src.Profile)
	diffs := Diff(c, src)
	if len(diffs) == 0 {
		_, err := fmt.Fprintln(w, "# every value is the built-in default")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "KEY\tVALUE\tPROFILE %s\tDEFAULT\tSET BY\n", src.Profile)
	for _, d := range diffs {
		by := d.Source.String()
		if d.Source.Kind == FromFile {
			by = "file" // named above
		}
		if d.Line > 0 {
			by = fmt.Sprintf("%s line %d", by, d.Line)
		}
		if d.Redundant() {
			by += " (same as the profile: the line can go)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Key, d.Value, d.Profile, d.Default, by)
	}
	return tw.Flush()
}

func orDash(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "-"
}

func settingsMap(c *Config) map[string]string {
	m := map[string]string{}
	for _, s := range c.Settings() {
		m[s.Key] = s.Value
	}
	return m
}

// defaultConfig is the built-in defaults alone, before any profile.
func defaultConfig() *Config {
	cfg := &Config{}
	root := reflect.ValueOf(cfg).Elem()
	d := defaults()
	for _, l := range newSchema().all {
		if v, ok := d[l.path]; ok && l.item == nil {
			_ = assign(root.FieldByIndex(l.index), v)
		}
	}
	return cfg
}

// Change is one key whose value differs between two configurations
// (secrets redacted: a changed secret shows as ******** on both sides).
type Change struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

// Changes lists the keys whose values differ from old to new, in file
// order. A scanner added or removed shows as its keys with "-" on the
// missing side.
func Changes(old, new *Config) []Change {
	o := settingsMap(old)
	var out []Change
	seen := map[string]bool{}
	for _, s := range new.Settings() {
		seen[s.Key] = true
		ov, ok := o[s.Key]
		if !ok {
			ov = "-"
		}
		if ov != s.Value || (s.Secret && secretChanged(old, new, s.Key)) {
			out = append(out, Change{Key: s.Key, Old: ov, New: s.Value})
		}
	}
	for _, s := range old.Settings() {
		if !seen[s.Key] {
			out = append(out, Change{Key: s.Key, Old: s.Value, New: "-"})
		}
	}
	return out
}

// secretChanged compares a secret's real values (Settings redacts them).
func secretChanged(old, new *Config, key string) bool {
	l, ok := newSchema().byPath[key]
	if !ok {
		return false
	}
	a := reflect.ValueOf(old).Elem().FieldByIndex(l.index).String()
	b := reflect.ValueOf(new).Elem().FieldByIndex(l.index).String()
	return a != b
}

// With returns a copy of c whose values for keys come from other; a key
// inside scanners (scanners[1].device) brings the whole list.
func (c *Config) With(other *Config, keys []string) *Config {
	out := *c
	dst, src := reflect.ValueOf(&out).Elem(), reflect.ValueOf(other).Elem()
	s := newSchema()
	for _, k := range keys {
		if i := strings.IndexByte(k, '['); i >= 0 {
			k = k[:i] // a list comes whole
		}
		if l, ok := s.byPath[k]; ok {
			dst.FieldByIndex(l.index).Set(src.FieldByIndex(l.index))
		}
	}
	return &out
}
