package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCLI runs the posagent command line with args and returns its output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestConfigInitCheckShow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.yaml")
	if out, err := runCLI(t, "config", "init", path); err != nil || !strings.Contains(out, "wrote "+path) {
		t.Fatalf("init: %v %s", err, out)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	// The written file checks out as it is.
	out, err := runCLI(t, "--config", path, "config", "check")
	if err != nil || !strings.HasPrefix(out, "ok ("+path+", profile generic-linux)") {
		t.Fatalf("check: %v %q", err, out)
	}
	// It is not overwritten without --force.
	os.WriteFile(path, []byte("merchant:\n  name: Mine\n"), 0o640)
	_, err = runCLI(t, "config", "init", path)
	if err == nil || !strings.Contains(err.Error(), "already exists: keep it, or overwrite it with --force") {
		t.Fatalf("init over a file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "merchant:\n  name: Mine\n" {
		t.Fatalf("file changed: %q", b)
	}
	if _, err := runCLI(t, "config", "init", "--force", "--profile", "sunmi-t2", path); err != nil {
		t.Fatal(err)
	}
	// On the terminal the POS and the bridge helper need their tokens.
	t.Setenv("POSAGENT_API_TOKENS_POS", "pos-token-0123456789")
	t.Setenv("POSAGENT_BRIDGE_TOKEN", "bridge-token-0123456789")
	out, err = runCLI(t, "--config", path, "config", "show")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "# profile: sunmi-t2") || !strings.Contains(out, "printer.kind:") || !strings.Contains(out, "profile sunmi-t2") {
		t.Fatalf("show after init --profile sunmi-t2:\n%s", out)
	}
	if _, err := runCLI(t, "config", "init", "--force", "--profile", "sunmi-t9", path); err == nil {
		t.Fatal("unknown profile accepted")
	}
}

func TestConfigCheckReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("api:\n  listen: 0.0.0.0:7420\ngateway:\n  merchant_id: X1\nprinter:\n  paper: 70mm\n"), 0o600)
	out, err := runCLI(t, "--config", path, "config", "check")
	var ee exitError
	if !errors.As(err, &ee) || ee.code == 0 {
		t.Fatalf("check of a bad file: err %v", err)
	}
	for _, want := range []string{
		"3 problem(s)",
		"api.listen 0.0.0.0:7420 is not loopback: set api.token (or POSAGENT_API_TOKEN), or listen on 127.0.0.1:7420",
		`gateway.merchant_id "X1" must be two letters and eight digits, like ON00004652`,
		"printer.paper 70mm: use 58mm or 80mm",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	// Load errors (unknown keys) go the same way.
	os.WriteFile(path, []byte("printer:\n  papr: 80mm\n"), 0o600)
	out, err = runCLI(t, "--config", path, "config", "check")
	if err == nil || !strings.Contains(out, "line 2: unknown key printer.papr (did you mean printer.paper?)") {
		t.Fatalf("unknown key: %v\n%s", err, out)
	}
}

func TestConfigShowRedactsAndNamesEnv(t *testing.T) {
	const key, token = "K9K9K9K9K9K9K9K9", "t0k3n-t0k3n-t0k3n-t0k3n"
	path := filepath.Join(t.TempDir(), "posagent.yaml")
	os.WriteFile(path, []byte("gateway:\n  sign_key: "+key+"\n"), 0o600)
	t.Setenv("POSAGENT_API_TOKEN", token)
	t.Setenv("POSAGENT_STORE_PATH", "/tmp/from-env.db")
	out, err := runCLI(t, "--config", path, "config", "show")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, key) || strings.Contains(out, token) {
		t.Fatalf("show prints a secret:\n%s", out)
	}
	for _, want := range []string{"env POSAGENT_API_TOKEN", "env POSAGENT_STORE_PATH", "/tmp/from-env.db", "********"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q", want)
		}
	}
	// check with the same environment: ok, and the secret is not echoed.
	out, err = runCLI(t, "--config", path, "config", "check")
	if err != nil || strings.Contains(out, key) {
		t.Fatalf("check: %v %s", err, out)
	}
}

func TestConfigProfiles(t *testing.T) {
	out, err := runCLI(t, "config", "profiles")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"sunmi-t2", "sunmi-v2pro", "sunmi-t1mini", "clover-station", "clover-mini", "clover-flex", "chase", "generic-linux"} {
		if !strings.Contains(out, p+":") {
			t.Errorf("profiles lacks %s", p)
		}
	}
}

func TestConfigShowWithProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.yaml")
	os.WriteFile(path, []byte("printer:\n  papr: 58mm\n  kind: network\n  address: 127.0.0.1:9100\n  paper: 70mm\n"), 0o600)
	out, err := runCLI(t, "--config", path, "config", "show")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		"# problem: line 2: unknown key printer.papr (did you mean printer.paper?)",
		"# problem: printer.paper 70mm: use 58mm or 80mm",
		"127.0.0.1:9100",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}

// TestConfigLive lists the live keys with their rule, and says the rest
// need a restart.
func TestConfigLive(t *testing.T) {
	out, err := runCLI(t, "config", "live")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`(?m)^log\.level\s+always$`, `(?m)^printer\.paper\s+unless printer\.kind is or was bridge$`,
		`(?m)^display\.language\s+while display\.kind stays the same$`, `needs a restart`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no %s in\n%s", re, out)
		}
	}
	if strings.Contains(out, "store.path") {
		t.Errorf("store.path listed as live:\n%s", out)
	}
}
