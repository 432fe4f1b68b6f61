package config

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Layer is a configuration fragment from head office laid over the local
// file (a store's or a lane's bundle, docs/fleet.md).
type Layer struct {
	// Name says where it came from in problems: "store bundle v7".
	Name string
	YAML []byte
}

// BundleCheck is what CheckBundle found in a fragment.
type BundleCheck struct {
	// Keys are the keys the fragment sets, in file order
	// ("display.tip_choices", "operators[0].name").
	Keys []string
	// Secrets are the secret keys it sets (gateway.sign_key,
	// operators[0].pin_hash): a bundle may carry none.
	Secrets []string
	// Problems are CheckFragment's: malformed YAML, a key written twice,
	// unknown keys, values of the wrong type, the rules between the keys
	// it sets, secrets, and keys only the lane's own file may set
	// (FleetLocalOnly), each with its line in the fragment.
	Problems []Problem
}

// CheckBundle checks a fragment head office pushes as the lane receives it:
// with CheckFragment, the checker posagent-hq config set uses, so that a
// lane refuses what head office would have. The rules between keys are
// checked again on the merged configuration (CheckLayered).
func CheckBundle(data []byte) BundleCheck {
	keys, err := CheckFragment("bundle", data)
	out := BundleCheck{Keys: keys, Secrets: SecretIn(keys)}
	var e *Error
	switch {
	case asError(err, &e):
		out.Problems = e.Problems
	case err != nil:
		out.Problems = []Problem{{Msg: err.Error()}}
	}
	return out
}

// FleetLocalOnlyKey says whether head office may not push key (FleetLocalOnly).
func FleetLocalOnlyKey(key string) bool {
	for _, p := range FleetLocalOnly {
		if key == p || (strings.HasSuffix(p, ".") && strings.HasPrefix(key, p)) {
			return true
		}
	}
	return false
}

// MergeLayers lays the layers over the local file, in order: a key a
// later layer sets replaces the earlier value (a mapping is merged key by
// key, a list is replaced whole), except the keys overrides names (keys or
// sections, fleet.local_overrides), whose values in the local file stay.
// It returns the merged YAML.
func MergeLayers(local []byte, layers []Layer, overrides []string) ([]byte, error) {
	base, err := rootMapping(local, "the local file")
	if err != nil {
		return nil, err
	}
	keep := filterOverrides(base, "", Fleet{LocalOverrides: overrides})
	for _, l := range layers {
		m, err := rootMapping(l.YAML, l.Name)
		if err != nil {
			return nil, err
		}
		mergeMapping(base, m)
	}
	if keep != nil {
		mergeMapping(base, keep)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(base); err != nil {
		return nil, fmt.Errorf("config: merging head office's bundles: %v", err)
	}
	return buf.Bytes(), enc.Close()
}

// CheckLayered is CheckData of the local file with the layers merged over
// it (MergeLayers, with the local file's fleet.local_overrides): every
// problem of the result. Problems carry no line: the merged file is no
// file anyone wrote.
func CheckLayered(file string, local []byte, env []string, layers []Layer) (*Config, Sources, error) {
	name := file
	if name == "" {
		name = "(no file: head office's bundles over the defaults)"
	}
	var overrides []string
	if lc, _, _ := loadData(name, local, env); lc != nil {
		overrides = lc.Fleet.LocalOverrides
	}
	merged, err := MergeLayers(local, layers, overrides)
	if err != nil {
		return nil, Sources{File: file}, err
	}
	cfg, src, err := checkData(name, merged, env)
	if e, ok := err.(*Error); ok {
		for i := range e.Problems {
			e.Problems[i].Line = 0
		}
		src.lines = nil
	}
	return cfg, src, err
}

func rootMapping(data []byte, name string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config: %s: %s", name, yamlMessage(err))
	}
	n := resolve(&doc)
	if n == nil || isNull(n) || (doc.Kind == 0) {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: %s must be a mapping of keys, not %s", name, nodeKind(n))
	}
	return n, nil
}

// mergeMapping sets every key of src in dst: mappings merged, anything
// else replaced.
func mergeMapping(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], resolve(src.Content[i+1])
		j := findKey(dst, k.Value)
		switch {
		case j < 0:
			dst.Content = append(dst.Content, k, v)
		case v.Kind == yaml.MappingNode && resolve(dst.Content[j+1]).Kind == yaml.MappingNode:
			d := resolve(dst.Content[j+1])
			cp := *d // an alias's target may be shared: merge into a copy
			cp.Content = append([]*yaml.Node(nil), d.Content...)
			cp.Anchor = ""
			mergeMapping(&cp, v)
			dst.Content[j+1] = &cp
		default:
			dst.Content[j+1] = v
		}
	}
}

func findKey(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// filterOverrides is the part of the mapping n (at prefix) that f keeps
// local; nil when none.
func filterOverrides(n *yaml.Node, prefix string, f Fleet) *yaml.Node {
	if len(f.LocalOverrides) == 0 {
		return nil
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		full := k.Value
		if prefix != "" {
			full = prefix + "." + k.Value
		}
		switch {
		case f.Overridden(full):
			out.Content = append(out.Content, k, v)
		case v.Kind == yaml.MappingNode:
			if sub := filterOverrides(v, full, f); sub != nil {
				out.Content = append(out.Content, k, sub)
			}
		}
	}
	if len(out.Content) == 0 {
		return nil
	}
	return out
}
