package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/client"
)

// TestWriteStatus: the summary's first line says all is well, or names
// each problem; every part has its line.
func TestWriteStatus(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	contact := now.Add(-3 * time.Second)
	var good client.Status
	good.Version, good.StartedAt, good.UptimeSeconds = "1.4.0", now.Add(-2*time.Hour), 7200
	good.Gateway = client.GatewayStatus{Reachable: true, LastContact: &contact}
	good.Journal = client.JournalStatus{Path: "/var/lib/posagent/posagent.db", SizeBytes: 3 << 20,
		Backup: client.BackupStatus{AgeSeconds: 3600}, Check: client.CheckStatus{State: "verified", VerifiedAt: now.Add(-10 * time.Minute)}}
	good.Devices = []client.Device{{Kind: "printer", Name: "receipt", State: "ok"}, {Kind: "scanner", Name: "counter", State: "connected"}}
	good.Clock = client.ClockStatus{Plausible: true}
	good.API.Open = true
	shift := &client.Shift{No: 12, OpenedAt: now.Add(-time.Hour), OpenedBy: "m1"}

	var b bytes.Buffer
	writeStatus(&b, &good, shift, now)
	out := b.String()
	for _, want := range []string{"● posagent 1.4.0 - all well\n", "gateway: reachable, last answer 3s ago", "journal: /var/lib/posagent/posagent.db, 3.0 MB, check verified (verified 10m0s ago), backup 1h0m0s ago",
		"outbox: empty", "in doubt: none", "devices: printer receipt ok; scanner counter connected", "shift: #12 open since", "by m1", "clock: ok", "api: open to loopback callers"} {
		if !strings.Contains(out, want) {
			t.Errorf("all well: lacks %q:\n%s", want, out)
		}
	}

	bad := good
	bad.Gateway = client.GatewayStatus{Reachable: false, LastError: "dial tcp: connection refused"}
	bad.Devices = []client.Device{{Kind: "printer", Name: "receipt", State: "paper_out", LastError: "paper out"}}
	bad.InDoubt = []client.InDoubtPayment{{ID: "pay_1", OrderID: "O1", Amount: 1250, AgeSeconds: 300}}
	bad.Outbox = client.OutboxStatus{Depth: 2, OldestAgeSeconds: 90, ByKind: map[string]int{"refund": 1, "query": 1}}
	bad.Clock = client.ClockStatus{Plausible: false, Problem: "the clock is before this build"}
	b.Reset()
	writeStatus(&b, &bad, nil, now)
	out = b.String()
	first := strings.SplitN(out, "\n", 2)[0]
	if first != "✗ posagent 1.4.0 - gateway unreachable; 1 in doubt; printer receipt paper_out; clock not plausible" {
		t.Errorf("first line %q", first)
	}
	for _, want := range []string{"gateway: UNREACHABLE, last error: dial tcp: connection refused", "outbox: 2 job(s) (query 1, refund 1), oldest 1m30s old",
		"in doubt: 1, the gateway has not said whether they were paid: pay_1 12.50 (5m0s)", "printer receipt paper_out (paper out)",
		"shift: none open", "clock: NOT PLAUSIBLE: the clock is before this build"} {
		if !strings.Contains(out, want) {
			t.Errorf("problems: lacks %q:\n%s", want, out)
		}
	}

	// Issue 22: refused credentials, a refund for a manager, a stuck
	// reversal and a contradicted resolution are problems.
	money := good
	money.Gateway.Auth = client.AuthStatus{State: client.AuthRefused, Reason: "EX_RATE_QUERY refused: FAIL signature verification failed"}
	money.InDoubt = []client.InDoubtPayment{{ID: "pay_2", Amount: 7700, Reversal: true, Stuck: true}}
	money.RefundsInDoubt = []client.InDoubtRefund{{PaymentID: "pay_3", RefundID: "ref_1", Amount: 3000, State: "in_doubt", Ambiguous: "the gateway shows 1000 refunded"},
		{PaymentID: "pay_3", RefundID: "ref_2", Amount: 500, State: "pending", Behind: "ref_1"}}
	money.Contradicted = 1
	b.Reset()
	writeStatus(&b, &money, shift, now)
	out = b.String()
	first = strings.SplitN(out, "\n", 2)[0]
	if first != "✗ posagent 1.4.0 - gateway refuses the credentials (gateway_auth); 1 in doubt; the automatic refund of pay_2 is not made yet (reversal_stuck); refund ref_1 needs a manager; a resolution by hand was contradicted" {
		t.Errorf("first line %q", first)
	}
	for _, want := range []string{"CREDENTIALS REFUSED (gateway_auth): EX_RATE_QUERY refused", "refunds: ref_1 of pay_3 30.00 in_doubt (needs a manager: posagent refund resolve); ref_2 of pay_3 5.00 pending (waits behind ref_1); 1 resolution(s) by hand contradicted"} {
		if !strings.Contains(out, want) {
			t.Errorf("money problems: lacks %q:\n%s", want, out)
		}
	}
}

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
