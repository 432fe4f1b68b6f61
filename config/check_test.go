package config

import (
	"errors"
	"strings"
	"testing"
)

// checkProblems runs Check on body and returns its problems.
func checkProblems(t *testing.T, body string, env ...string) []Problem {
	t.Helper()
	_, _, err := check(writeFile(t, body), env, nil)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Check = %v, want *Error", err)
	}
	return ce.Problems
}

func TestDuplicateKeys(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []Problem
	}{
		{"nested scalar", "agent:\n  time_scale: 0.02\n  time_scale: 1\n",
			[]Problem{{Key: "agent.time_scale", Line: 3, Msg: "agent.time_scale is written twice, on line 2 and line 3: keep one and delete the other (nothing was read from either)"}}},
		{"top-level block", "store:\n  path: /a.db\nmerchant:\n  name: Shop\nstore:\n  path: /b.db\n",
			[]Problem{{Key: "store", Line: 5, Msg: "store is written twice, on line 1 and line 5: keep one and delete the other (nothing was read from either)"}}},
		{"deeper", "display:\n  pole:\n    baud: 9600\n    baud: 19200\n",
			[]Problem{{Key: "display.pole.baud", Line: 4, Msg: "display.pole.baud is written twice, on line 3 and line 4: keep one and delete the other (nothing was read from either)"}}},
		{"inside a scanner", "scanners:\n  - name: a\n    kind: serial\n    device: /dev/ttyACM0\n    device: /dev/ttyACM1\n",
			[]Problem{{Key: "scanners[0].device", Line: 5, Msg: "scanners[0].device is written twice, on line 4 and line 5: keep one and delete the other (nothing was read from either)"}}},
		{"three times", "merchant:\n  name: A\n  name: B\n  name: C\n",
			[]Problem{
				{Key: "merchant.name", Line: 3, Msg: "merchant.name is written twice, on line 2 and line 3: keep one and delete the other (nothing was read from either)"},
				{Key: "merchant.name", Line: 4, Msg: "merchant.name is written twice, on line 2 and line 4: keep one and delete the other (nothing was read from either)"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkProblems(t, tc.body)
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%v\nwant:\n%v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("problem %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// A merge key is not a duplicate: explicit keys override merged ones.
func TestMergeKeyIsNotDuplicate(t *testing.T) {
	body := "scanners:\n  - &s {name: a, kind: serial, device: /dev/ttyACM0}\n  - <<: *s\n    name: b\n    device: /dev/ttyACM1\n"
	cfg, _, err := check(writeFile(t, body), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Scanners) != 2 || cfg.Scanners[1].Device != "/dev/ttyACM1" {
		t.Fatalf("scanners = %+v", cfg.Scanners)
	}
}

// TestTenMistakesAtOnce: a file with ten mistakes of every sort gets all
// ten back, in file order, each with its line, its key and a fix.
func TestTenMistakesAtOnce(t *testing.T) {
	body := `device:
  profile: sunmi-t3
merchant:
  name: Corner Shop
  currency: cad
gateway:
  url: sim
printer:
  kind: network
  papr: 80mm
  baud: fast
display:
  hold: 5
  language: fr
scanners:
  - name: counter
    kind: hid
    vid: 0x0c2e
    mode: keyboard
agent:
  time_scale: 0.02
  time_scale: 1
api:
  listen: 0.0.0.0:7420
`
	got := checkProblems(t, body)
	want := []struct {
		line     int
		key, fix string
	}{
		{2, "device.profile", "sunmi-t2"},
		{5, "merchant.currency", "three capital letters"},
		{8, "printer.address", "192.168.1.50:9100"},
		{10, "printer.papr", "did you mean printer.paper?"},
		{11, "printer.baud", "whole number"},
		{13, "display.hold", "write 5s"},
		{14, "display.language", "use en, zh or auto"},
		{16, "scanners[0].pid", "USB product id"},
		{22, "agent.time_scale", "written twice, on line 21 and line 22"},
		{24, "api.listen", "set api.token"},
	}
	var text []string
	for _, p := range got {
		text = append(text, p.String())
	}
	t.Logf("problems:\n%s", strings.Join(text, "\n"))
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d", len(got), len(want))
	}
	for i, w := range want {
		p := got[i]
		if p.Line != w.line || p.Key != w.key || !strings.Contains(p.Msg, w.fix) {
			t.Errorf("problem %d = %s (key %s), want line %d, key %s, with %q", i, p, p.Key, w.line, w.key, w.fix)
		}
	}
}

func TestOldLogKeys(t *testing.T) {
	cfg, src, err := check(writeFile(t, "agent:\n  log_level: debug\n  log_format: json\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Level != "debug" || cfg.Log.Format != "json" || cfg.Agent.LogLevel != "debug" {
		t.Errorf("log = %+v, agent.log_level %q", cfg.Log, cfg.Agent.LogLevel)
	}
	if len(src.Warnings) != 2 || !strings.Contains(src.Warnings[0], "write log.level: debug instead") {
		t.Errorf("warnings = %q", src.Warnings)
	}
	got := checkProblems(t, "agent:\n  log_level: debug\nlog:\n  level: warn\n")
	if len(got) != 1 || got[0].Key != "agent.log_level" || got[0].Line != 2 || !strings.Contains(got[0].Msg, "delete agent.log_level") {
		t.Errorf("both names with two values: %v", got)
	}
}

func TestDiff(t *testing.T) {
	body := "device:\n  profile: sunmi-t2\nmerchant:\n  name: Corner Shop\nprinter:\n  cut: full\n"
	cfg, src, err := check(writeFile(t, body), []string{"POSAGENT_API_TOKEN=0123456789abcdef0123", "POSAGENT_BRIDGE_TOKEN=fedcba9876543210fedc"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Difference{}
	for _, d := range Diff(cfg, src) {
		got[d.Key] = d
	}
	for key, want := range map[string]Difference{
		"device.profile": {Value: "sunmi-t2", Profile: "sunmi-t2", Default: "generic-linux", Line: 2},
		"merchant.name":  {Value: `"Corner Shop"`, Line: 4},
		"printer.cut":    {Value: "full", Profile: "full", Default: "partial", Line: 6}, // the profile's value again
		"api.token":      {Value: Redacted, Profile: `""`, Default: `""`},
	} {
		d, ok := got[key]
		if !ok {
			t.Errorf("%s missing from the diff", key)
			continue
		}
		if d.Value != want.Value || d.Line != want.Line || (want.Profile != "" && d.Profile != want.Profile) || (want.Default != "" && d.Default != want.Default) {
			t.Errorf("%s = %+v, want %+v", key, d, want)
		}
	}
	if !got["printer.cut"].Redundant() || got["merchant.name"].Redundant() {
		t.Errorf("redundant: printer.cut %v merchant.name %v", got["printer.cut"].Redundant(), got["merchant.name"].Redundant())
	}
	if _, ok := got["gateway.url"]; ok {
		t.Errorf("gateway.url is the default yet in the diff")
	}
	var b strings.Builder
	if err := WriteDiff(&b, cfg, src); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "0123456789abcdef0123") {
		t.Fatalf("a secret in the diff:\n%s", b.String())
	}
	t.Logf("\n%s", b.String())
}
