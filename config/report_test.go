package config

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteCheck: `config check` says ok with the file and profile, lists
// every problem with its line, and passes the error of a file it cannot
// read on.
func TestWriteCheck(t *testing.T) {
	good := writeFile(t, "log:\n  level: debug\n")
	var b bytes.Buffer
	ok, err := WriteCheck(&b, good, nil)
	if !ok || err != nil || b.String() != "ok ("+good+", profile generic-linux)\n" {
		t.Errorf("good file: %v %v %q", ok, err, b.String())
	}
	bad := writeFile(t, "log:\n  level: loud\n")
	b.Reset()
	ok, err = WriteCheck(&b, bad, nil)
	if ok || err != nil || !strings.HasPrefix(b.String(), bad+": 1 problem(s):\n  line 2: ") || !strings.Contains(b.String(), "log.level") {
		t.Errorf("bad file: %v %v %q", ok, err, b.String())
	}
	b.Reset()
	if ok, err = WriteCheck(&b, t.TempDir(), nil); ok || err == nil {
		t.Errorf("a directory: %v %v %q", ok, err, b.String())
	}
}

func TestWriteProblemsAndProfiles(t *testing.T) {
	var b bytes.Buffer
	if WriteProblems(&b, nil) || b.Len() != 0 {
		t.Errorf("no problems: %q", b.String())
	}
	if !WriteProblems(&b, []Problem{{Key: "log.level", Line: 2, Msg: "log.level \"loud\": use debug, info, warn or error"}}) ||
		b.String() != "# problem: line 2: log.level \"loud\": use debug, info, warn or error\n" {
		t.Errorf("one problem: %q", b.String())
	}
	b.Reset()
	WriteProfiles(&b)
	for _, p := range Profiles() {
		if !strings.Contains(b.String(), p.Name+": "+p.Description+"\n") {
			t.Errorf("profile %s missing from:\n%s", p.Name, b.String())
		}
	}
}

// TestOperatorEntry: a good entry comes back as its YAML; a bad one is
// refused with the config's own message.
func TestOperatorEntry(t *testing.T) {
	entry, err := OperatorEntry(Operator{ID: "m1", Name: "Mei", Role: "manager"})
	if err != nil || entry != "  - id: m1\n    name: \"Mei\"\n    role: manager\n" {
		t.Errorf("good entry: %q %v", entry, err)
	}
	if _, err := OperatorEntry(Operator{ID: "m1", Name: "Mei", Role: "owner"}); err == nil || !strings.Contains(err.Error(), "operators[0].role") {
		t.Errorf("role owner: %v", err)
	}
}
