package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/client"
)

// TestBackOfficeTour: the commands a manager runs at the end of the day,
// against the real daemon through package client: shift open, X report
// (JSON and CSV), receipt, sync, shift close, the last Z report and Z 1,
// its reconciliation, the audit trail (table and JSON), show and payments
// as JSON, and the API's refusals as *client.Error.
func TestBackOfficeTour(t *testing.T) {
	addr := startDaemon(t, "")
	run := func(args ...string) string {
		t.Helper()
		out, err := cli(t, addr, args...)
		if err != nil {
			t.Fatalf("posagent %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var sh client.Shift
	if err := json.Unmarshal([]byte(run("shift", "open", "--operator", "m1")), &sh); err != nil || sh.No != 1 || sh.OpenedBy != "m1" {
		t.Fatalf("shift open: %v %+v", err, sh)
	}
	if out := run("shift", "show"); !strings.Contains(out, `"opened_by": "m1"`) {
		t.Fatalf("shift show:\n%s", out)
	}
	out := run("pay", "12.50", "--ref", "INV-77", "--code", "134567890123450077", "--json")
	var p client.Payment
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):strings.LastIndex(out, "}")+1]), &p); err != nil || p.State != client.Succeeded {
		t.Fatalf("pay: %v\n%s", err, out)
	}
	var x client.Report
	if err := json.Unmarshal([]byte(run("report", "x")), &x); err != nil || x.Kind != "x" || x.Sales.Amount != 1250 {
		t.Fatalf("report x: %v %+v", err, x)
	}
	if out := run("report", "x", "--format", "csv"); !strings.Contains(out, "total,net,,,,,,1250") {
		t.Fatalf("report x --format csv:\n%s", out)
	}
	png := filepath.Join(t.TempDir(), "r.png")
	if out := run("receipt", p.ID, "--png", png); !strings.Contains(out, "written to "+png) {
		t.Fatalf("receipt --png: %s", out)
	}
	if out := run("sync"); !strings.HasPrefix(out, `{"jobs":`) {
		t.Fatalf("sync: %s", out)
	}
	var z client.Report
	if err := json.Unmarshal([]byte(run("shift", "close", "--operator", "m1")), &z); err != nil || z.Z != 1 || z.Net != 1250 {
		t.Fatalf("shift close: %v %+v", err, z)
	}
	for _, args := range [][]string{{"report", "z"}, {"report", "z", "1"}} {
		var r client.Report
		if err := json.Unmarshal([]byte(run(args...)), &r); err != nil || r.Z != 1 || r.SHA256 != z.SHA256 {
			t.Fatalf("%v: %v %+v", args, err, r)
		}
	}
	if _, err := cli(t, addr, "report", "z", "first"); err == nil || !strings.Contains(err.Error(), "positive integer") {
		t.Fatalf("report z first: %v", err)
	}
	var rc client.Reconciliation
	if err := json.Unmarshal([]byte(run("report", "reconcile", "1")), &rc); err != nil || rc.Z != 1 || rc.Checked != 1 || rc.Matched != 1 {
		t.Fatalf("report reconcile 1: %v %+v", err, rc)
	}
	if out := run("report", "reconcile", "1", "--format", "csv"); !strings.HasPrefix(out, "z,shift,payment_id,order_id,amount,kind") {
		t.Fatalf("report reconcile 1 --format csv:\n%s", out)
	}
	if out := run("audit"); !strings.Contains(out, "payment.create") || !strings.Contains(out, "shift.close") {
		t.Fatalf("audit:\n%s", out)
	}
	var audit struct {
		Audit []client.AuditEntry `json:"audit"`
	}
	if err := json.Unmarshal([]byte(run("audit", "--json", "--limit", "2")), &audit); err != nil || len(audit.Audit) != 2 {
		t.Fatalf("audit --json --limit 2: %v %+v", err, audit)
	}
	var shown client.Payment
	if err := json.Unmarshal([]byte(run("show", p.ID, "--json")), &shown); err != nil || shown.ID != p.ID || shown.Reference != "INV-77" {
		t.Fatalf("show --json: %v %+v", err, shown)
	}
	var list client.PaymentPage
	if err := json.Unmarshal([]byte(run("payments", "--json", "--ref", "INV-77")), &list); err != nil || len(list.Payments) != 1 {
		t.Fatalf("payments --json: %v %+v", err, list)
	}
	// Refusals are the API's, typed.
	_, err := cli(t, addr, "resolve", p.ID, "--paid", "--reason", "portal shows it")
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 422 || ae.Code != "invalid_state" || !strings.HasPrefix(ae.IdempotencyKey, "cli-") {
		t.Fatalf("resolve of a succeeded payment: %v", err)
	}
	if _, err := cli(t, addr, "refund", "retry", p.ID, "ref_nope"); !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Fatalf("refund retry of no refund: %v", err)
	}
}
