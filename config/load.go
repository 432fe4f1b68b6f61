package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/posagent/posagent/config/profile"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment variable that overrides a key:
// gateway.sign_key is POSAGENT_GATEWAY_SIGN_KEY (nested keys joined by "_").
const EnvPrefix = "POSAGENT_"

// SearchPaths are the files Load tries, in order, when no path is given.
var SearchPaths = []string{"posagent.yaml", "/etc/posagent/posagent.yaml"}

// SourceKind says which layer a value came from.
type SourceKind int

const (
	FromDefault SourceKind = iota
	FromProfile
	FromFile
	FromEnv
)

// Source is where one value came from: "default", "profile sunmi-t2",
// "file /etc/posagent/posagent.yaml" or "env POSAGENT_API_TOKEN".
type Source struct {
	Kind SourceKind
	Name string // profile name, file path or variable name
}

func (s Source) String() string {
	switch s.Kind {
	case FromProfile:
		return "profile " + s.Name
	case FromFile:
		return "file " + s.Name
	case FromEnv:
		return "env " + s.Name
	}
	return "default"
}

// Sources records where each value of a loaded Config came from.
type Sources struct {
	File     string   // the file read; "" when none was found (pure defaults)
	Profile  string   // the device profile applied
	Warnings []string // things that are not errors but deserve a look (unknown POSAGENT_ variables)
	keys     map[string]Source
	lines    map[string]int
}

// Of returns the source of key ("printer.paper", "scanners[0].baud").
func (s Sources) Of(key string) Source { return s.keys[key] }

// Line returns the line of the file key was written on, 0 when the file
// does not set it. A list item's key ("printer.copies[1]") falls back to
// its list's line, a missing field of a scanner to the scanner's line.
func (s Sources) Line(key string) int {
	for k := key; k != ""; {
		if l, ok := s.lines[k]; ok {
			return l
		}
		switch i, j := strings.LastIndexByte(k, '.'), strings.LastIndexByte(k, '['); {
		case i > j:
			k = k[:i]
		case j > 0:
			k = k[:j]
		default:
			k = ""
		}
		if k == "" || !strings.Contains(key, "[") {
			return 0 // only list items borrow a parent's line
		}
	}
	return 0
}

// Load reads the configuration: defaults, then the device profile, then
// the file, then the environment (env is os.Environ() in production; later
// entries win). path is --config; "" searches SearchPaths and, when none
// exists, uses pure defaults. Unknown keys, malformed YAML and values of the
// wrong type are reported together in an *Error. Load does not call
// Validate.
//
// With an *Error about keys or values, Load still returns the configuration
// built from everything else (bad keys left at their defaults), so that
// doctor and `config show` can go on; a caller that runs the agent must stop
// on any error. After malformed YAML or an unreadable file the *Config is nil.
func Load(path string, env []string) (*Config, Sources, error) {
	return load(path, env, SearchPaths)
}

func load(path string, env []string, search []string) (*Config, Sources, error) {
	file, data, err := findFile(path, search)
	if err != nil {
		return nil, Sources{}, err
	}
	return loadData(file, data, env)
}

// loadData does Load's work on the file's bytes (file == "": no file).
func loadData(file string, data []byte, env []string) (*Config, Sources, error) {
	s := newSchema()
	src := Sources{keys: map[string]Source{}}

	// 1. The file.
	src.File = file
	d := &decoder{s: s}
	fileMap := map[string]any{}
	if file != "" {
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return nil, src, &Error{Op: "load", File: file, Problems: []Problem{{Msg: yamlMessage(err)}}}
		}
		fileMap = d.mapping(&root, "")
	}
	src.lines = d.lines

	// 2. The environment.
	envMap := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			envMap[k] = v
		}
	}
	envVals, envScanners, envUsed := d.environment(envMap)
	for _, k := range sortedKeys(envMap) {
		if !envUsed[k] {
			src.Warnings = append(src.Warnings, unknownEnv(s, k))
		}
	}

	// 3. The profile: named by the environment, else the file, else the default.
	prof := d.profile(fileMap, envVals)
	src.Profile = prof.Name

	// 4. Layer them in viper: defaults (with the profile), file, environment.
	cfg := &Config{}
	if err := layerValues(cfg, s, &src, prof, fileMap, envVals, envUsed); err != nil {
		return nil, src, err
	}
	// 5. scanners[]; 6. operators[].
	if err := d.loadScanners(cfg, &src, prof, fileMap, envScanners); err != nil {
		return nil, src, err
	}
	if err := loadOperators(cfg, s, &src, fileMap); err != nil {
		return nil, src, err
	}
	if err := loadPaymentLinks(cfg, s, &src, fileMap); err != nil {
		return nil, src, err
	}
	d.problems = append(d.problems, migrateLog(cfg, &src)...)
	if len(d.problems) > 0 {
		// The rest still loaded: return it with the problems, for doctor
		// and config show. Nothing may run on it.
		return cfg, src, &Error{Op: "load", File: file, Problems: d.problems}
	}
	return cfg, src, nil
}

// profile is the device profile named by the environment, else the file,
// else the default. An unknown name is a problem reported with the rest,
// and generic-linux stands in for it so that loading goes on.
func (d *decoder) profile(fileMap map[string]any, envVals map[string]any) profile.Profile {
	name := defaults()["device.profile"].(string)
	if v, ok := lookupPath(fileMap, "device.profile"); ok {
		name = v.(string)
	}
	if v, ok := envVals["device.profile"]; ok {
		name = v.(string)
	}
	prof, ok := profile.Lookup(name)
	if !ok {
		d.problems = append(d.problems, Problem{Key: "device.profile", Line: d.lines["device.profile"], Msg: unknownProfile(name)})
		prof, _ = profile.Lookup("generic-linux")
	}
	return prof
}

// layerValues sets every key of cfg but the lists from viper, layered as
// defaults (with the profile's values), the file, the environment, and
// records where each value came from.
func layerValues(cfg *Config, s *schema, src *Sources, prof profile.Profile, fileMap, envVals map[string]any, envUsed map[string]bool) error {
	v := viper.New()
	base := defaults()
	for k, val := range prof.Values {
		base[k] = val
	}
	for k, val := range base {
		v.SetDefault(k, val)
	}
	if err := v.MergeConfigMap(fileMap); err != nil {
		return fmt.Errorf("config: merge %s: %w", src.File, err)
	}
	for k, val := range envVals {
		v.Set(k, val)
	}
	root := reflect.ValueOf(cfg).Elem()
	for i := range s.all {
		l := &s.all[i]
		if l.item != nil {
			continue
		}
		if err := assign(root.FieldByIndex(l.index), v.Get(l.path)); err != nil {
			return fmt.Errorf("config: %s: %w", l.path, err)
		}
		switch _, inFile := lookupPath(fileMap, l.path); {
		case envUsed[envName(l.path)]:
			src.keys[l.path] = Source{FromEnv, envName(l.path)}
		case inFile:
			src.keys[l.path] = Source{FromFile, src.File}
		case hasKey(prof.Values, l.path):
			src.keys[l.path] = Source{FromProfile, prof.Name}
		default:
			src.keys[l.path] = Source{FromDefault, ""}
		}
	}
	return nil
}

// loadScanners sets cfg.Scanners: the whole list comes from one layer
// (environment, file, profile); its items' missing keys from
// scannerDefaults; indexed environment variables override fields.
func (d *decoder) loadScanners(cfg *Config, src *Sources, prof profile.Profile, fileMap map[string]any, envScanners envScannerLayer) error {
	var list []any
	listSrc := Source{FromDefault, ""}
	switch {
	case envScanners.list != nil:
		list, listSrc = envScanners.list, Source{FromEnv, EnvPrefix + "SCANNERS"}
	case fileMap["scanners"] != nil:
		list, listSrc = fileMap["scanners"].([]any), Source{FromFile, src.File}
	case prof.Scanners != nil:
		for _, m := range prof.Scanners {
			list = append(list, m)
		}
		listSrc = Source{FromProfile, prof.Name}
	}
	scanLeaf := d.s.byPath["scanners"]
	for i, it := range list {
		m := it.(map[string]any)
		item := reflect.New(reflect.TypeFor[Scanner]()).Elem()
		for _, il := range scanLeaf.item {
			key := fmt.Sprintf("scanners[%d].%s", i, il.path)
			val, ok := m[il.path]
			src.keys[key] = listSrc
			if !ok {
				val = scannerDefaults(i)[il.path]
				src.keys[key] = Source{FromDefault, ""}
			}
			if ev, ok := envScanners.fields[key]; ok {
				val = ev.val
				src.keys[key] = Source{FromEnv, ev.name}
			}
			if err := assign(item.FieldByIndex(il.index), val); err != nil {
				return fmt.Errorf("config: %s: %w", key, err)
			}
		}
		cfg.Scanners = append(cfg.Scanners, item.Interface().(Scanner))
	}
	for _, key := range sortedKeys(envScanners.fields) {
		if i := scannerIndex(key); i >= len(list) {
			d.problems = append(d.problems, Problem{Key: key, Msg: fmt.Sprintf(
				"%s sets %s but there are only %d scanners: set the list in the file (or %sSCANNERS) first",
				envScanners.fields[key].name, key, len(list), EnvPrefix)})
		}
	}
	return nil
}

// loadPaymentLinks sets cfg.Merchant.PaymentLinks, from the file only; a
// missing field is empty.
func loadPaymentLinks(cfg *Config, s *schema, src *Sources, fileMap map[string]any) error {
	v, _ := lookupPath(fileMap, "merchant.payment_links")
	links, ok := v.([]any)
	if !ok {
		return nil
	}
	lf := s.byPath["merchant.payment_links"]
	for i, it := range links {
		m, _ := it.(map[string]any)
		item := reflect.New(reflect.TypeFor[PaymentLink]()).Elem()
		for _, il := range lf.item {
			key := fmt.Sprintf("merchant.payment_links[%d].%s", i, il.path)
			src.keys[key] = Source{FromFile, src.File}
			if val, ok := m[il.path]; ok {
				if err := assign(item.FieldByIndex(il.index), val); err != nil {
					return fmt.Errorf("config: %s: %w", key, err)
				}
			}
		}
		cfg.Merchant.PaymentLinks = append(cfg.Merchant.PaymentLinks, item.Interface().(PaymentLink))
	}
	return nil
}

// loadOperators sets cfg.Operators, from the file only; a missing field is
// empty.
func loadOperators(cfg *Config, s *schema, src *Sources, fileMap map[string]any) error {
	ops, ok := fileMap["operators"].([]any)
	if !ok {
		return nil
	}
	opLeaf := s.byPath["operators"]
	for i, it := range ops {
		m, _ := it.(map[string]any)
		item := reflect.New(reflect.TypeFor[Operator]()).Elem()
		for _, il := range opLeaf.item {
			key := fmt.Sprintf("operators[%d].%s", i, il.path)
			src.keys[key] = Source{FromFile, src.File}
			if val, ok := m[il.path]; ok {
				if err := assign(item.FieldByIndex(il.index), val); err != nil {
					return fmt.Errorf("config: %s: %w", key, err)
				}
			}
		}
		cfg.Operators = append(cfg.Operators, item.Interface().(Operator))
	}
	return nil
}

// findFile returns the file to read and its bytes; "" when none (defaults).
func findFile(path string, search []string) (string, []byte, error) {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return "", nil, fmt.Errorf("config: read %s: %w", path, err)
		}
		return path, data, nil
	}
	for _, p := range search {
		data, err := os.ReadFile(p)
		if err == nil {
			return p, data, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("config: read %s: %w", p, err)
		}
	}
	return "", nil, nil
}

// yamlMessage keeps yaml's own words ("yaml: line 4: mapping values are not
// allowed in this context"), which carry the line number and never a value.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if !strings.HasPrefix(msg, "line ") {
		// yaml leaves the number out for the first line.
		msg = "line 1: " + msg
	}
	return "malformed YAML: " + msg
}

func envName(path string) string {
	return EnvPrefix + strings.Map(func(r rune) rune {
		switch {
		case r == '.' || r == '[':
			return '_'
		case r == ']':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, path)
}

type envField struct {
	name string
	val  any
}

type envScannerLayer struct {
	list   []any               // POSAGENT_SCANNERS: a YAML (or JSON) list
	fields map[string]envField // POSAGENT_SCANNERS_0_DEVICE -> "scanners[0].device"
}

var scannerEnvRe = regexp.MustCompile(`^` + EnvPrefix + `SCANNERS_(\d+)_([A-Z_]+)$`)

// environment converts the POSAGENT_ variables that name keys.
func (d *decoder) environment(envMap map[string]string) (vals map[string]any, sc envScannerLayer, used map[string]bool) {
	vals, used = map[string]any{}, map[string]bool{}
	sc.fields = map[string]envField{}
	for i := range d.s.all {
		l := &d.s.all[i]
		name := envName(l.path)
		raw, ok := envMap[name]
		if !ok {
			continue
		}
		used[name] = true
		if l.item != nil && l.path != "scanners" {
			// Only scanners[] is read from the environment; other lists of
			// items (operators, merchant.payment_links) are the file's.
			d.problems = append(d.problems, Problem{Key: l.path, Msg: fmt.Sprintf("%s: %s is read from the file only: set it there", name, l.path)})
			continue
		}
		if l.item != nil || l.typ.Kind() == reflect.Slice {
			// Lists: YAML flow syntax (["a", "b"], [{name: x, kind: hid}]) or,
			// for a list of strings, one item per line.
			var n yaml.Node
			text := raw
			if l.item == nil && !strings.HasPrefix(strings.TrimSpace(raw), "[") {
				lines := strings.Split(raw, "\n")
				vals[l.path] = lines
				continue
			}
			if err := yaml.Unmarshal([]byte(text), &n); err != nil {
				d.problems = append(d.problems, Problem{Key: l.path, Msg: fmt.Sprintf("%s is not a YAML list: %s", name, yamlMessage(err))})
				continue
			}
			before := len(d.problems)
			v, ok := d.value(l, resolve(&n), l.path)
			for j := before; j < len(d.problems); j++ {
				d.problems[j].Line = 0
				d.problems[j].Msg = name + ": " + d.problems[j].Msg
			}
			if ok {
				if l.item != nil {
					sc.list = v.([]any)
				} else {
					vals[l.path] = v
				}
			}
			continue
		}
		v, err := parseScalar(l.typ, raw)
		if err != nil {
			d.problems = append(d.problems, Problem{Key: l.path, Msg: name + ": " + badValue(l, l.path, raw, err)})
			continue
		}
		vals[l.path] = v
	}
	item := d.s.byPath["scanners"].item
	for _, name := range sortedKeys(envMap) {
		m := scannerEnvRe.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		field := strings.ToLower(m[2])
		for x := range item {
			if item[x].path != field {
				continue
			}
			key := fmt.Sprintf("scanners[%s].%s", m[1], field)
			used[name] = true
			v, err := parseScalar(item[x].typ, envMap[name])
			if err != nil {
				d.problems = append(d.problems, Problem{Key: key, Msg: name + ": " + badValue(&item[x], key, envMap[name], err)})
				continue
			}
			sc.fields[key] = envField{name, v}
		}
	}
	return vals, sc, used
}

func scannerIndex(key string) int {
	i, _ := strconv.Atoi(key[strings.Index(key, "[")+1 : strings.Index(key, "]")])
	return i
}

func unknownEnv(s *schema, name string) string {
	var names []string
	for _, l := range s.all {
		names = append(names, envName(l.path))
	}
	if hint := closest(name, names); hint != "" {
		return fmt.Sprintf("environment variable %s names no key (did you mean %s?); it is ignored", name, hint)
	}
	return fmt.Sprintf("environment variable %s names no key; it is ignored", name)
}

// lookupPath finds "a.b.c" in nested maps.
func lookupPath(m map[string]any, path string) (any, bool) {
	parts := strings.Split(path, ".")
	var cur any = m
	for _, p := range parts {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// assign stores a layered value (already of the key's Go type, or nil for
// "leave zero") into a Config field.
func assign(f reflect.Value, val any) error {
	if val == nil {
		return nil
	}
	rv := reflect.ValueOf(val)
	switch {
	case rv.Type().AssignableTo(f.Type()):
		f.Set(rv)
	case rv.Type().ConvertibleTo(f.Type()) && rv.Kind() != reflect.String && f.Kind() != reflect.String:
		f.Set(rv.Convert(f.Type()))
	case f.Kind() == reflect.Slice && rv.Kind() == reflect.Slice:
		out := reflect.MakeSlice(f.Type(), 0, rv.Len())
		for i := range rv.Len() {
			e := reflect.ValueOf(rv.Index(i).Interface())
			if !e.Type().AssignableTo(f.Type().Elem()) {
				return fmt.Errorf("list item of type %s", e.Type())
			}
			out = reflect.Append(out, e)
		}
		f.Set(out)
	default:
		return fmt.Errorf("value of type %s for a %s", rv.Type(), f.Type())
	}
	return nil
}

// Renamed maps the old names of keys that still work to their new names.
// They are read (with a warning) but left out of Keys, Show and the example.
var Renamed = map[string]string{"agent.log_level": "log.level", "agent.log_format": "log.format"}

// migrateLog reads agent.log_level and agent.log_format, the old names of
// log.level and log.format: set alone they still work (with a warning);
// set beside the new key with another value, it is a problem. Afterwards
// both names hold the effective value.
func migrateLog(cfg *Config, src *Sources) []Problem {
	var out []Problem
	for _, m := range []struct {
		old, new string
		oldV     *string
		newV     *string
	}{
		{"agent.log_level", "log.level", &cfg.Agent.LogLevel, &cfg.Log.Level},
		{"agent.log_format", "log.format", &cfg.Agent.LogFormat, &cfg.Log.Format},
	} {
		oldSet := *m.oldV != "" && src.keys[m.old].Kind >= FromFile
		newSet := src.keys[m.new].Kind >= FromFile
		switch {
		case oldSet && newSet && *m.oldV != *m.newV:
			out = append(out, Problem{Key: m.old, Line: src.Line(m.old), Msg: fmt.Sprintf(
				"%s %s and %s %s disagree: %s is the old name of %s; delete %s", m.old, *m.oldV, m.new, *m.newV, m.old, m.new, m.old)})
		case oldSet && !newSet:
			*m.newV = *m.oldV
			src.keys[m.new] = src.keys[m.old]
			src.Warnings = append(src.Warnings, fmt.Sprintf("%s is the old name of %s: it still works; write %s: %s instead", m.old, m.new, m.new, *m.oldV))
		}
		*m.oldV = *m.newV
	}
	return out
}
