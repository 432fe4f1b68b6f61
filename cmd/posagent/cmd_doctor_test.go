package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon/doctor"
)

// doctorOn runs doctor's checks on the configuration body.
func doctorOn(t *testing.T, body string, opt doctor.Options) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "posagent.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, src, err := config.Load(path, nil)
	var out bytes.Buffer
	n := doctor.Run(context.Background(), &out, cfg, src, err, opt)
	return out.String(), n
}

// TestDoctorCommandExit: the command exits non-zero when a check fails.
func TestDoctorCommandExit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.yaml")
	os.WriteFile(path, []byte("store:\n  path: /nonexistent-dir/p.db\n"), 0o600)
	out, err := runCLI(t, "--config", path, "doctor", "--timeout", "1s")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "FAIL  journal") {
		t.Fatalf("err %v\n%s", err, out)
	}
}
