package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/posagent/posagent/config/profile"
)

// ExampleFor returns the example file with device.profile set to name
// ("" leaves generic-linux).
func ExampleFor(name string) ([]byte, error) {
	data := Example()
	if name == "" {
		return data, nil
	}
	if _, ok := profile.Lookup(name); !ok {
		return nil, fmt.Errorf("config init: profile %q: use one of %s", name, strings.Join(profile.Names(), ", "))
	}
	const line = "\n  profile: generic-linux\n"
	if !bytes.Contains(data, []byte(line)) {
		return nil, errors.New("config init: the example has no device.profile line (bug)")
	}
	return bytes.Replace(data, []byte(line), []byte("\n  profile: "+name+"\n"), 1), nil
}

// WriteFile writes data to path (mode 0640) through a temporary file
// and a rename, so a reader never sees half a file; it refuses to replace an
// existing file unless force.
func WriteFile(path string, data []byte, force bool) error {
	if fi, err := os.Stat(path); err == nil {
		if !force {
			return fmt.Errorf("config init: %s already exists: keep it, or overwrite it with --force", path)
		}
		if fi.IsDir() {
			return fmt.Errorf("config init: %s is a directory", path)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("config init: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".posagent-*.yaml")
	if err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("config init: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return fmt.Errorf("config init: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	return nil
}

// OperatorYAML is op as an item of the file's operators: list.
func OperatorYAML(op Operator) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - id: %s\n    name: %q\n    role: %s\n", op.ID, op.Name, op.Role)
	if op.PINHash != "" {
		fmt.Fprintf(&b, "    pin_hash: %q\n", op.PINHash)
	}
	if op.OTTPayID != "" {
		fmt.Fprintf(&b, "    ottpay_id: %q\n", op.OTTPayID)
	}
	return b.String()
}

// AddOperator adds entry (OperatorYAML) under operators: in the file at
// path (the key is made if absent), keeping the rest of the file as it is.
// The file is replaced only when it still loads with the entry.
func AddOperator(path, entry string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("operator add: %w", err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	out, done := "", false
	for _, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		switch {
		case !done && (t == "operators: []" || strings.HasPrefix(t, "operators: [] ")):
			out += "operators:\n" + entry
			done = true
		case !done && t == "operators:":
			out += l + entry
			done = true
		default:
			out += l
		}
	}
	if !done {
		if !strings.HasSuffix(out, "\n") && out != "" {
			out += "\n"
		}
		out += "operators:\n" + entry
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("operator add: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), fi.Mode().Perm()); err != nil {
		return fmt.Errorf("operator add: %w", err)
	}
	if _, _, err := Load(tmp, nil); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("operator add: the file would not load with the entry (%v): add it by hand", err)
	}
	return os.Rename(tmp, path)
}

// OperatorEntry checks op against the config's own rules for an
// operators[] entry and returns it as OperatorYAML, to paste under
// operators: or to give to AddOperator.
func OperatorEntry(op Operator) (string, error) {
	probe := Config{Operators: []Operator{op}}
	for _, p := range probe.Problems() {
		if strings.HasPrefix(p.Key, "operators[") {
			return "", errors.New(p.Msg)
		}
	}
	return OperatorYAML(op), nil
}
