package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// leaf is one settable key of the schema: a scalar or a list of scalars, or
// (item != nil) a list of structs such as scanners.
type leaf struct {
	path   string // "printer.paper"; for list items the name inside the item ("baud")
	index  []int  // reflect field index from the struct the walk began at
	typ    reflect.Type
	secret bool
	live   string // the `live` tag (inherited from the enclosing struct): when a reload applies a change (live.go)
	item   []leaf // for a list of structs: the item's leaves
}

var durationType = reflect.TypeFor[time.Duration]()

// leaves lists the keys of struct type t, depth first in declaration order.
func leaves(t reflect.Type, prefix string, index []int) []leaf {
	return liveLeaves(t, prefix, index, "")
}

// liveLeaves is leaves with the live tag of the enclosing struct field.
func liveLeaves(t reflect.Type, prefix string, index []int, live string) []leaf {
	var out []leaf
	for i := range t.NumField() {
		f := t.Field(i)
		k := f.Tag.Get("key")
		if k == "" {
			continue
		}
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		idx := append(append([]int(nil), index...), i)
		lv := live
		if t := f.Tag.Get("live"); t != "" {
			lv = t
		}
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, liveLeaves(f.Type, p, idx, lv)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			out = append(out, leaf{path: p, index: idx, typ: f.Type, live: lv, item: leaves(f.Type.Elem(), "", nil)})
		default:
			out = append(out, leaf{path: p, index: idx, typ: f.Type, live: lv, secret: f.Tag.Get("secret") == "true"})
		}
	}
	return out
}

// schema is the flattened Config, computed once per Load (cheap).
type schema struct {
	all    []leaf
	byPath map[string]*leaf
	groups map[string]bool // "printer", "display.pole", ...
}

func newSchema() *schema {
	s := &schema{all: leaves(reflect.TypeFor[Config](), "", nil), byPath: map[string]*leaf{}, groups: map[string]bool{}}
	for i := range s.all {
		l := &s.all[i]
		s.byPath[l.path] = l
		parts := strings.Split(l.path, ".")
		for j := 1; j < len(parts); j++ {
			s.groups[strings.Join(parts[:j], ".")] = true
		}
	}
	return s
}

// Keys lists every configuration key in file order; list items appear as
// "scanners[].baud".
func Keys() []string {
	var out []string
	for _, l := range newSchema().all {
		if l.item != nil {
			for _, il := range l.item {
				out = append(out, l.path+"[]."+il.path)
			}
			continue
		}
		if _, old := Renamed[l.path]; !old {
			out = append(out, l.path)
		}
	}
	return out
}

// Secret reports whether key (for example "gateway.sign_key", or a list
// item's "operators[0].pin_hash") holds a secret that must never be shown.
func Secret(key string) bool {
	return secretKey(newSchema(), key)
}

// kindName says in words what a key takes, for error messages.
func kindName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration like 60s, 1m30s or 90d"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int:
		return "a whole number (hex like 0x0c2e is fine)"
	case t.Kind() == reflect.Float64:
		return "a number like 1 or 0.05"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "a list of strings"
	case t.Kind() == reflect.Slice:
		return "a list"
	}
	return t.String()
}

// parseScalar converts the literal text of a scalar (from YAML or the
// environment) to the Go type of a leaf. The error names neither key nor
// value; callers add both (or only the key, for secrets).
func parseScalar(t reflect.Type, s string) (any, error) {
	switch {
	case t == durationType:
		return parseDuration(s)
	case t.Kind() == reflect.String:
		return s, nil
	case t.Kind() == reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on", "1":
			return true, nil
		case "false", "no", "off", "0", "":
			return false, nil
		}
		return nil, fmt.Errorf("is not %s", kindName(t))
	case t.Kind() == reflect.Int:
		n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil {
			// YAML 1.1 style octal-looking "0123" and decimal with leading zeros:
			// ParseInt base 0 reads 0123 as octal; a configuration means decimal.
			if d, err2 := strconv.ParseInt(strings.TrimLeft(s, "0"), 10, 64); err2 == nil && strings.HasPrefix(s, "0") {
				return int(d), nil
			}
			return nil, fmt.Errorf("is not %s", kindName(t))
		}
		if strings.HasPrefix(s, "0") && len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
			d, _ := strconv.ParseInt(s, 10, 64) // "0100" is one hundred, not octal 64
			return int(d), nil
		}
		return int(n), nil
	case t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("is not %s", kindName(t))
		}
		return f, nil
	}
	return nil, fmt.Errorf("is not %s", kindName(t))
}

// parseDuration is time.ParseDuration plus whole days ("90d"). A bare
// number is refused: "60" could mean seconds or milliseconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("has no unit: write %ss for seconds or %sms for milliseconds", s, s)
		}
		return 0, fmt.Errorf("is not %s", kindName(durationType))
	}
	return d, nil
}

// closest returns the candidate nearest to s by edit distance, if it is
// near enough to be a plausible typo.
func closest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(s, c)
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := max(2, len(s)/3)
	if bestD <= limit {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	// Optimal string alignment distance: insert, delete, substitute, swap.
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
