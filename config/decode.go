package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into the nested map[string]any that viper
// merges, with every scalar already converted to its key's Go type. It
// works on nodes rather than on yaml's own decoding so that strings keep
// their literal text (operator_id 0000000696 stays ten digits), problems
// carry line numbers, and unknown keys are found at any depth.
type decoder struct {
	s        *schema
	problems []Problem
	lines    map[string]int // key ("printer.paper", "scanners[1].vid") -> its line in the file
}

// line records where key was written.
func (d *decoder) line(key string, line int) {
	if d.lines == nil {
		d.lines = map[string]int{}
	}
	if _, ok := d.lines[key]; !ok {
		d.lines[key] = line
	}
}

// duplicates reports every key written more than once in one mapping
// (prefix: where the mapping lives), with both lines. YAML parsers keep
// one of the two silently; a technician means one of them.
func (d *decoder) duplicates(n *yaml.Node, prefix string) {
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := resolve(n.Content[i])
		if kn == nil || kn.Kind != yaml.ScalarNode || kn.Tag == "!!merge" || kn.Value == "<<" {
			continue
		}
		full := kn.Value
		if prefix != "" {
			full = prefix + "." + kn.Value
		}
		if l, dup := first[kn.Value]; dup {
			d.problem(full, kn.Line, "%s is written twice, on line %d and line %d: keep one and delete the other (nothing was read from either)", full, l, kn.Line)
			continue
		}
		first[kn.Value] = kn.Line
	}
}

func (d *decoder) problem(key string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Key: key, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// pairs lists a mapping's key and value nodes with YAML merge keys
// ("<<: *base") expanded; explicit keys win over merged ones. Each mapping
// is merged at most once, so recursive or repeated merges end.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	return pairsOnce(n, map[*yaml.Node]bool{})
}

func pairsOnce(n *yaml.Node, seenMap map[*yaml.Node]bool) [][2]*yaml.Node {
	if seenMap[n] {
		return nil
	}
	seenMap[n] = true
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		if kn == nil || vn == nil {
			continue
		}
		if kn.Tag != "!!merge" && kn.Value != "<<" {
			own = append(own, [2]*yaml.Node{kn, vn})
			continue
		}
		srcs := []*yaml.Node{vn}
		if vn.Kind == yaml.SequenceNode {
			srcs = vn.Content
		}
		for _, m := range srcs {
			if m = resolve(m); m != nil && m.Kind == yaml.MappingNode {
				merged = append(merged, pairsOnce(m, seenMap)...)
			}
		}
	}
	seen := map[string]bool{}
	var out [][2]*yaml.Node
	for _, p := range append(own, merged...) {
		if !seen[p[0].Value] {
			seen[p[0].Value] = true
			out = append(out, p)
		}
	}
	return out
}

// children lists the known keys directly under prefix ("" = top level),
// as full paths.
func (s *schema) children(prefix string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, l := range s.all {
		rest, ok := l.path, prefix == ""
		if prefix != "" {
			rest, ok = strings.CutPrefix(l.path, prefix+".")
		}
		if !ok {
			continue
		}
		head, _, _ := strings.Cut(rest, ".")
		if prefix == "" {
			add(head)
		} else {
			add(prefix + "." + head)
		}
	}
	return out
}

// unknown reports key full (under the siblings' parent) as unknown, with the
// closest known key as a suggestion.
func (d *decoder) unknown(full string, line int, siblings []string, elsewhere []string) {
	hint := closest(full, siblings)
	if hint == "" {
		last := full[strings.LastIndex(full, ".")+1:]
		for _, p := range elsewhere {
			if strings.HasSuffix(p, "."+last) {
				hint = p
				break
			}
		}
	}
	if hint != "" {
		d.problem(full, line, "unknown key %s (did you mean %s?)", full, hint)
		return
	}
	d.problem(full, line, "unknown key %s: remove it (known keys here: %s)", full, strings.Join(siblings, ", "))
}

// mapping decodes a mapping node whose keys live under prefix.
func (d *decoder) mapping(n *yaml.Node, prefix string) map[string]any {
	out := map[string]any{}
	n = resolve(n)
	if isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		name := prefix
		if name == "" {
			name = "the file"
		}
		d.problem(prefix, n.Line, "%s must be a mapping of keys (key: value), not %s", name, nodeKind(n))
		return out
	}
	var allPaths []string
	for _, l := range d.s.all {
		allPaths = append(allPaths, l.path)
	}
	before := len(d.problems)
	d.duplicates(n, prefix)
	dup := map[string]bool{}
	for _, p := range d.problems[before:] {
		dup[p.Key] = true
	}
	for _, p := range pairs(n) {
		kn, vn := p[0], p[1]
		key := kn.Value
		full := key
		if prefix != "" {
			full = prefix + "." + key
		}
		if dup[full] {
			continue // neither is read: which one was meant is the technician's call
		}
		d.line(full, kn.Line)
		if l, ok := d.s.byPath[full]; ok {
			if v, ok := d.value(l, vn, full); ok {
				out[key] = v
			}
			continue
		}
		if d.s.groups[full] {
			out[key] = d.mapping(vn, full)
			continue
		}
		d.unknown(full, kn.Line, d.s.children(prefix), allPaths)
	}
	return out
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// value decodes the node of one leaf; ok is false when nothing should be
// set (a null value, or a problem).
func (d *decoder) value(l *leaf, n *yaml.Node, full string) (any, bool) {
	if isNull(n) {
		return nil, false
	}
	switch {
	case l.item != nil:
		return d.items(l, n, full)
	case l.typ.Kind() == reflect.Slice:
		return d.list(l, n, full)
	}
	if n.Kind != yaml.ScalarNode {
		d.problem(full, n.Line, "%s must be %s, not %s", full, kindName(l.typ), nodeKind(n))
		return nil, false
	}
	v, err := parseScalar(l.typ, n.Value)
	if err != nil {
		d.problem(full, n.Line, "%s", badValue(l, full, n.Value, err))
		return nil, false
	}
	return v, true
}

// items decodes a list of items (scanners[], operators[]): each a mapping
// of the item's keys. An item that is not a mapping is left out.
func (d *decoder) items(l *leaf, n *yaml.Node, full string) (any, bool) {
	if n.Kind != yaml.SequenceNode {
		d.problem(full, n.Line, "%s must be a list (each item starting with \"- \"), not %s", full, nodeKind(n))
		return nil, false
	}
	items := []any{}
	for i, in := range n.Content {
		in = resolve(in)
		ip := fmt.Sprintf("%s[%d]", full, i)
		if in == nil || in.Kind != yaml.MappingNode {
			if in == nil {
				in = &yaml.Node{Kind: yaml.ScalarNode, Line: n.Line}
			}
			d.problem(ip, in.Line, "%s must be a mapping of keys (name: ..., kind: ...), not %s", ip, nodeKind(in))
			continue
		}
		items = append(items, d.item(l, in, ip))
	}
	return items, true
}

// item decodes one item of a list: the mapping in, at path ip. Duplicate
// and unknown keys are problems and left out.
func (d *decoder) item(l *leaf, in *yaml.Node, ip string) map[string]any {
	m := map[string]any{}
	var sib []string
	for _, il := range l.item {
		sib = append(sib, ip+"."+il.path)
	}
	d.line(ip, in.Line)
	before := len(d.problems)
	d.duplicates(in, ip)
	dup := map[string]bool{}
	for _, p := range d.problems[before:] {
		dup[p.Key] = true
	}
	for _, p := range pairs(in) {
		kn, vn := p[0], p[1]
		k := kn.Value
		if dup[ip+"."+k] {
			continue
		}
		d.line(ip+"."+k, kn.Line)
		var il *leaf
		for x := range l.item {
			if l.item[x].path == k {
				il = &l.item[x]
			}
		}
		if il == nil {
			d.unknown(ip+"."+k, kn.Line, sib, nil)
			continue
		}
		if v, ok := d.value(il, vn, ip+"."+k); ok {
			m[k] = v
		}
	}
	return m
}

// list decodes a list of strings, or of whole numbers; a single scalar is
// a list of one.
func (d *decoder) list(l *leaf, n *yaml.Node, full string) (any, bool) {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, true
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(full, n.Line, "%s must be a list of strings, not %s", full, nodeKind(n))
		return nil, false
	}
	out := []string{}
	for i, e := range n.Content {
		e = resolve(e)
		if e != nil {
			d.line(fmt.Sprintf("%s[%d]", full, i), e.Line)
		}
		if e == nil || e.Kind != yaml.ScalarNode {
			if e == nil {
				e = &yaml.Node{Kind: yaml.ScalarNode, Line: n.Line}
			}
			d.problem(full, e.Line, "%s must be a list of strings; an item is %s", full, nodeKind(e))
			continue
		}
		out = append(out, e.Value)
	}
	if l.typ.Elem().Kind() == reflect.Int {
		ints := []int{}
		for _, s := range out {
			v, err := strconv.Atoi(s)
			if err != nil {
				d.problem(full, n.Line, "%s must be a list of whole numbers; %q is not one", full, s)
				return nil, false
			}
			ints = append(ints, v)
		}
		return ints, true
	}
	return out, true
}

// badValue words a conversion error; a secret's value is never repeated.
func badValue(l *leaf, full, raw string, err error) string {
	if l.secret {
		return fmt.Sprintf("%s %s", full, err)
	}
	return fmt.Sprintf("%s %q %s", full, raw, err)
}
