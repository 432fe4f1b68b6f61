package config

import (
	"strings"
	"testing"
)

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
