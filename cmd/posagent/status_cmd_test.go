package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStatusCommand: against the real daemon, `posagent status` is the
// summary and `--json` the API's status as before.
func TestStatusCommand(t *testing.T) {
	addr := startDaemon(t, "")
	out, err := cli(t, addr, "status")
	if err != nil || !strings.HasPrefix(out, "● posagent ") || !strings.Contains(out, "   gateway: ") || !strings.Contains(out, "     shift: ") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, err = cli(t, addr, "status", "--json")
	var m map[string]any
	if err != nil || json.Unmarshal([]byte(out), &m) != nil || m["gateway"] == nil || m["journal"] == nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
}
