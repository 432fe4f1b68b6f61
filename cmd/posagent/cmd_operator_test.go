package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
)

// TestOperatorAdd: the entry written holds a hash of the PIN, never the
// PIN, and the config still loads and validates with it.
func TestOperatorAdd(t *testing.T) {
	p := filepath.Join(t.TempDir(), "posagent.yaml")
	if err := os.WriteFile(p, config.Example(), 0o600); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader("802468\n"))
	root.SetArgs([]string{"--config", p, "operator", "add", "--id", "m1", "--name", "Mei", "--role", "manager", "--ottpay-id", "0000000698", "--write"})
	if err := root.Execute(); err != nil {
		t.Fatalf("operator add: %v\n%s", err, errb.String())
	}
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), "802468") || strings.Contains(out.String()+errb.String(), "802468") {
		t.Fatal("the PIN was written or shown")
	}
	cfg, _, err := config.Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Operators) != 1 || cfg.Operators[0].ID != "m1" || cfg.Operators[0].Role != "manager" || cfg.Operators[0].OTTPayID != "0000000698" {
		t.Fatalf("operators = %+v", cfg.Operators)
	}
	if err := api.VerifyPIN(cfg.Operators[0].PINHash, "802468"); err != nil {
		t.Errorf("the hash does not verify the PIN: %v", err)
	}
	if err := api.VerifyPIN(cfg.Operators[0].PINHash, "802469"); err == nil {
		t.Error("the hash verifies another PIN")
	}
	cfg.Refunds.ApprovalAbove = 0
	if err := cfg.Validate(); err != nil {
		t.Errorf("config with the operator and approval: %v", err)
	}
	// A PIN that is not 4-12 digits is refused.
	root = newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader("12\n"))
	root.SetArgs([]string{"--config", p, "operator", "add", "--id", "c1", "--name", "Ana"})
	if err := root.Execute(); err == nil {
		t.Error("a 2-digit PIN was taken")
	}
}
