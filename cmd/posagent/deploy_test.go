package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var metricNameRe = regexp.MustCompile(`\bposagent_[a-z0-9_]+`)

// scrapeNames returns the metric names a real daemon's /metrics exports,
// with a scanner, a printer and the feed so that their series are there.
func scrapeNames(t *testing.T) map[string]bool {
	t.Helper()
	link := filepath.Join(t.TempDir(), "scanner")
	m, _ := newPty(t, link)
	defer m.Close()
	natsURL, _ := feedServer(t)
	d := newDaemon(t, feedYAML(natsURL, "LANE1")+"scanners:\n  - name: counter\n    kind: serial\n    device: "+link+"\nprinter:\n  kind: file\n  path: "+filepath.Join(t.TempDir(), "receipts.bin")+"\n")
	r := d.start()
	waitFor(t, "the scanner to connect", func() bool { return scannerState(t, r.API, "counter") == "connected" })
	// One payment, so the gateway's histogram has series.
	var p payment
	if code := apiJSON(t, "POST", "http://"+r.API+"/v1/payments", map[string]any{"amount": 100, "mode": "scan"}, &p); code != 201 {
		t.Fatalf("create: HTTP %d", code)
	}
	m.Write([]byte("134567890123456789\r\n"))
	waitFor(t, "the payment to succeed", func() bool {
		apiJSON(t, "GET", "http://"+r.API+"/v1/payments/"+p.ID, nil, &p)
		return p.State == "succeeded"
	})
	resp, err := http.Get("http://" + r.API + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	names := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true // declared: a counter with no series yet (no gateway error) is still exported
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		names[name] = true
	}
	if len(names) < 10 {
		t.Fatalf("only %d metric names in /metrics:\n%s", len(names), body)
	}
	return names
}

// TestMonitoringUsesExportedMetrics: every posagent_ metric the Grafana
// dashboard and the alert rules query is one a real daemon exports.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	names := scrapeNames(t)
	dash, err := os.ReadFile("../../deploy/grafana/posagent.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("posagent.json: %v", err)
	}
	used := map[string]string{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range metricNameRe.FindAllString(tg.Expr, -1) {
				used[n] = "dashboard panel " + p.Title
			}
		}
	}
	rules, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(rules), "\n") {
		if e, ok := strings.CutPrefix(strings.TrimSpace(line), "expr:"); ok {
			for _, n := range metricNameRe.FindAllString(e, -1) {
				if strings.HasPrefix(n, "posagent_hq_") {
					continue // head office's (cmd/posagent-hq checks them)
				}
				used[n] = "alert rule " + strings.TrimSpace(e)
			}
		}
	}
	var missing []string
	for n, where := range used {
		if !names[n] {
			missing = append(missing, n+" ("+where+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("queried but not exported by /metrics:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(used) < 12 {
		t.Errorf("the dashboard and alerts use only %d metrics", len(used))
	}
}
