package textview

import (
	"bytes"
	"testing"
	"time"

	"github.com/posagent/posagent/client"
)

// TestWriteReload pins `posagent reload` for a refused file, an unchanged
// one and one with keys applied and keys that need a restart.
func TestWriteReload(t *testing.T) {
	for _, tc := range []struct {
		name   string
		res    client.ReloadResult
		ok     bool
		output string
	}{
		{"refused", client.ReloadResult{File: "/etc/posagent/posagent.yaml", Warnings: []string{"unknown key foo"},
			Error: "config: 1 problem", Problems: []client.ConfigProblem{{Key: "display.language", Line: 12, Msg: "display.language \"xx\": use en or zh"}}}, false,
			"warning: unknown key foo\nrefused: /etc/posagent/posagent.yaml was not applied; the daemon runs on unchanged\n" +
				"  config: 1 problem\n  line 12: display.language \"xx\": use en or zh\n"},
		{"unchanged", client.ReloadResult{OK: true, File: "p.yaml"}, true, "reloaded p.yaml: nothing changed\n"},
		{"changed", client.ReloadResult{OK: true, File: "p.yaml", Applied: []client.ConfigChange{{Key: "log.level", Old: "info", New: "debug"}},
			Restart: []client.ConfigChange{{Key: "api.listen", Old: "127.0.0.1:7420", New: "127.0.0.1:7430"}}}, true,
			"reloaded p.yaml\n  applied  log.level: info -> debug\n" +
				"  restart  api.listen: 127.0.0.1:7420 -> 127.0.0.1:7430 (not applied: needs systemctl restart posagent)\n"},
	} {
		var b bytes.Buffer
		if ok := WriteReload(&b, &tc.res); ok != tc.ok || b.String() != tc.output {
			t.Errorf("%s: %v\n%s\nwant %v\n%s", tc.name, ok, b.String(), tc.ok, tc.output)
		}
	}
}

// TestWriteAudit pins `posagent audit`: "-" for who and what is not set.
func TestWriteAudit(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.Local)
	entries := []client.AuditEntry{
		{Seq: 2, At: at, Audit: client.Audit{Action: "payment.refund", Credential: "manager", Operator: "m1", Approver: "m2", Client: "127.0.0.1", Payment: "pay_1", Amount: 500, Status: 200, Result: "ok"}},
		{Seq: 3, At: at, Audit: client.Audit{Action: "config.reload", Credential: "admin", Client: "unix", Status: 200, Result: "ok"}},
	}
	var b bytes.Buffer
	if err := WriteAudit(&b, entries); err != nil {
		t.Fatal(err)
	}
	want := "TIME                 ACTION          CREDENTIAL  OPERATOR  APPROVER  CLIENT     PAYMENT  AMOUNT  RESULT\n" +
		"2026-11-25 18:30:00  payment.refund  manager     m1        m2        127.0.0.1  pay_1    500     200 ok\n" +
		"2026-11-25 18:30:00  config.reload   admin       -         -         unix       -        0       200 ok\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
