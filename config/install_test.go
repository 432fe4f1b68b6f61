package config

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/posagent/posagent/config/profile"
)

// The installer (scripts/install) is tested by running it for real into a
// DESTDIR, with the real posagent binary built from this checkout: it must
// lay out the files with the right modes, write a configuration that loads
// and validates, keep an existing one, and change nothing with --dry-run.

// TestMain removes the binary built for the installer tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the posagent binary, built once for every installer test.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
	out      []byte
}

func buildPosagent(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH: cannot build the binary the installer installs")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "posagent-install-test-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "posagent")
		built.out, built.err = exec.Command(goBin, "build", "-o", built.bin, "../cmd/posagent").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build ./cmd/posagent: %v\n%s", built.err, built.out)
	}
	return built.bin
}

func runInstall(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"../scripts/install"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return fi.Mode().Perm()
}

func TestInstallScriptSyntax(t *testing.T) {
	for _, s := range []string{"../scripts/install", "../scripts/uninstall"} {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
		if sc, err := exec.LookPath("shellcheck"); err == nil {
			if out, err := exec.Command(sc, s).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s:\n%s", s, out)
			}
		}
	}
}

func TestInstallIntoDestdir(t *testing.T) {
	bin := buildPosagent(t)
	stage := t.TempDir()
	env := []string{"DESTDIR=" + stage, "PREFIX=/opt/posagent"}
	out := runInstall(t, env, "--binary", bin, "--profile", "sunmi-t2")

	for path, want := range map[string]os.FileMode{
		"etc/posagent":                        0o750,
		"etc/posagent/posagent.yaml":          0o640,
		"etc/posagent/env":                    0o640,
		"var/lib/posagent":                    0o750,
		"opt/posagent/bin/posagent":           0o755,
		"etc/systemd/system/posagent.service": 0o644,
		"etc/udev/rules.d/99-posagent.rules":  0o644,
		"opt/posagent/share/doc/posagent":     0o755,
	} {
		if got := mode(t, filepath.Join(stage, path)); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	// The configuration it wrote is the example, with the profile, and valid.
	conf := filepath.Join(stage, "etc/posagent/posagent.yaml")
	// sunmi-t2 runs on the terminal: its tokens come from the environment file.
	cfg, src, err := Load(conf, []string{"POSAGENT_API_TOKENS_POS=pos-token-0123456789", "POSAGENT_BRIDGE_TOKEN=bridge-token-0123456789"})
	if err != nil {
		t.Fatalf("installed config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("installed config: %v", err)
	}
	if cfg.Store.Path != "/var/lib/posagent/posagent.db" {
		t.Errorf("installed store.path = %q, want the state directory", cfg.Store.Path)
	}
	if cfg.Device.Profile != "sunmi-t2" || src.Of("printer.feed_cut").String() != "profile sunmi-t2" {
		t.Errorf("profile not written: %q", cfg.Device.Profile)
	}
	// The udev rule is the repository's.
	want, _ := os.ReadFile("../scripts/99-posagent.rules")
	got, _ := os.ReadFile(filepath.Join(stage, "etc/udev/rules.d/99-posagent.rules"))
	if !bytes.Equal(got, want) {
		t.Errorf("udev rule differs from scripts/99-posagent.rules")
	}
	// The unit runs the binary of this PREFIX, with the hardening.
	unit, _ := os.ReadFile(filepath.Join(stage, "etc/systemd/system/posagent.service"))
	for _, line := range []string{
		"ExecStart=/opt/posagent/bin/posagent --config /etc/posagent/posagent.yaml run",
		"User=posagent", "Restart=on-failure", "RestartSec=3s", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ReadWritePaths=/var/lib/posagent", "ProtectHome=yes", "PrivateTmp=yes",
		"CapabilityBoundingSet=\n", "StateDirectory=posagent", "EnvironmentFile=-/etc/posagent/env",
		"DevicePolicy=closed", "DeviceAllow=char-ttyACM rw", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-usb_device rw", "DeviceAllow=char-lp rw",
	} {
		if !strings.Contains(string(unit), line) {
			t.Errorf("unit lacks %q", line)
		}
	}
	if strings.Contains(string(unit), "/usr/local/bin") {
		t.Errorf("unit still names /usr/local/bin")
	}
	// Staging touches neither systemd nor udev.
	for _, w := range []string{"skip (DESTDIR): systemctl enable posagent.service", "skip (DESTDIR): udevadm control --reload"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	// Idempotent: a second run keeps the edited configuration and secrets.
	os.WriteFile(conf, []byte("merchant:\n  name: Edited\n"), 0o640)
	os.WriteFile(filepath.Join(stage, "etc/posagent/env"), []byte("POSAGENT_API_TOKEN=x\n"), 0o640)
	out = runInstall(t, env, "--binary", bin)
	if b, _ := os.ReadFile(conf); string(b) != "merchant:\n  name: Edited\n" {
		t.Errorf("second run changed the configuration: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(stage, "etc/posagent/env")); string(b) != "POSAGENT_API_TOKEN=x\n" {
		t.Errorf("second run changed the env file")
	}
	if !strings.Contains(out, "keeping "+conf) {
		t.Errorf("second run output:\n%s", out)
	}
}

func TestInstallDryRunChangesNothing(t *testing.T) {
	bin := buildPosagent(t)
	stage := t.TempDir()
	out := runInstall(t, []string{"DESTDIR=" + stage}, "--dry-run", "--binary", bin)
	entries, _ := os.ReadDir(stage)
	if len(entries) != 0 {
		t.Errorf("dry run created %d entries in DESTDIR", len(entries))
	}
	for _, w := range []string{"would run: install -m 0755 " + bin, "config init " + stage + "/etc/posagent/posagent.yaml", "dry run: nothing was changed"} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run output lacks %q:\n%s", w, out)
		}
	}
}

func TestInstallRefusesWithoutBinary(t *testing.T) {
	cmd := exec.Command("bash", "../scripts/install", "--binary", filepath.Join(t.TempDir(), "none"))
	cmd.Env = append(os.Environ(), "DESTDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "build it first (make build)") {
		t.Fatalf("err %v\n%s", err, out)
	}
}

// TestUnitVerifies runs systemd-analyze verify on the unit when available.
func TestUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	unit, err := os.ReadFile("../scripts/posagent.service")
	if err != nil {
		t.Fatal(err)
	}
	truth, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	p := filepath.Join(t.TempDir(), "posagent.service")
	os.WriteFile(p, bytes.ReplaceAll(unit, []byte("/usr/local/bin/posagent"), []byte(truth)), 0o644)
	out, err := exec.Command(sa, "verify", p).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDocsNameEveryKey keeps docs/configuration.md complete.
func TestDocsNameEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/configuration.md does not document `%s`", k)
		}
	}
	for _, p := range profile.Names() {
		if !strings.Contains(string(doc), "| `"+p+"` |") {
			t.Errorf("docs/configuration.md has no row for profile %s", p)
		}
	}
}
