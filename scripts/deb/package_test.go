package deb

import (
	"context"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	conf    = "/etc/posagent/posagent.yaml"
	journal = "/var/lib/posagent/posagent.db"
)

// TestPackageInstallUpgradeRemove builds the amd64 package twice (1.0.0
// and 1.0.1) with scripts/package, installs 1.0.0 with dpkg -i, runs
// posagent doctor as the service user, takes a payment with the installed
// daemon, edits the configuration as a technician would, upgrades to 1.0.1,
// checks that the journal (with its payment) and the edited configuration
// survived, and removes and purges the package. It needs root and dpkg, and
// a machine where posagent is not installed otherwise.
func TestPackageInstallUpgradeRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("package test: needs root to run dpkg -i (CI runs as root)")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			// CI runs scripts/setup --test, which installs them: there, a
			// missing tool is a failure, never a skip.
			if os.Getenv("CI") != "" {
				t.Fatalf("package test: no %s on this machine: scripts/setup --test installs it", tool)
			}
			t.Skipf("package test: no %s on this machine (scripts/setup installs it on Debian)", tool)
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "posagent").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skip("package test: posagent is installed on this machine; the test would replace it")
	}
	if _, err := os.Stat("/etc/posagent"); err == nil {
		t.Skip("package test: /etc/posagent exists (scripts/install was used here); the test would change it")
	}
	userBefore := exec.Command("getent", "passwd", "posagent").Run() == nil
	t.Cleanup(func() {
		exec.Command("dpkg", "--purge", "posagent").Run()
		os.RemoveAll("/var/lib/posagent")
		os.RemoveAll("/etc/posagent")
		if !userBefore {
			exec.Command("userdel", "posagent").Run()
			exec.Command("groupdel", "posagent").Run()
		}
	})

	out := t.TempDir()
	for _, v := range []string{"1.0.0", "1.0.1"} {
		run(t, "../package", "--arch", "amd64", "--version", v, "--out", out)
	}
	v1, v2 := filepath.Join(out, "posagent_1.0.0_amd64.deb"), filepath.Join(out, "posagent_1.0.1_amd64.deb")
	for _, deb := range []string{v1, v2} {
		fi, err := os.Stat(deb)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d KiB", filepath.Base(deb), fi.Size()/1024)
	}
	contents := run(t, "dpkg-deb", "--contents", v1)
	for _, want := range []string{"./usr/bin/posagent", "./lib/systemd/system/posagent.service", "./lib/udev/rules.d/99-posagent.rules",
		"./etc/posagent/posagent.yaml", "./usr/share/man/man1/posagent.1.gz", "./usr/share/man/man1/posagent-reload.1.gz",
		"./usr/share/bash-completion/completions/posagent", "./usr/share/zsh/vendor-completions/_posagent",
		"./usr/share/fish/vendor_completions.d/posagent.fish"} {
		if !strings.Contains(contents, want) {
			t.Errorf("the package lacks %s", want)
		}
	}
	if cf := run(t, "sh", "-c", "dpkg-deb --ctrl-tarfile "+v1+" | tar -xO ./conffiles"); !strings.Contains(cf, conf) {
		t.Errorf("conffiles = %q, want %s", cf, conf)
	}

	// Install 1.0.0.
	run(t, "dpkg", "-i", v1)
	run(t, "getent", "passwd", "posagent")
	if st := run(t, "stat", "-c", "%U:%G %a", "/var/lib/posagent"); strings.TrimSpace(st) != "posagent:posagent 750" {
		t.Errorf("/var/lib/posagent is %s", st)
	}
	if st := run(t, "stat", "-c", "%U:%G %a", conf); strings.TrimSpace(st) != "root:posagent 640" {
		t.Errorf("%s is %s", conf, st)
	}
	doctor := run(t, "runuser", "-u", "posagent", "--", "posagent", "--config", conf, "doctor")
	if !strings.Contains(doctor, "ok    config: "+conf) {
		t.Errorf("doctor:\n%s", doctor)
	}
	if v := run(t, "posagent", "version"); !strings.Contains(v, "1.0.0") {
		t.Errorf("version after install: %s", v)
	}

	// A payment with the installed daemon, as the service user.
	id := payOnce(t, "1.00", "134567890123456789")

	// The technician edits the configuration.
	edit := run(t, "sed", "-i", "s/^  name: .*# the shop/  name: Lane Test Shop  # the shop/", conf)
	_ = edit
	data, _ := os.ReadFile(conf)
	if !strings.Contains(string(data), "Lane Test Shop") {
		// the example's comment may differ: replace the first name line
		text := regexp.MustCompile(`(?m)^  name: .*$`).ReplaceAllString(string(data), "  name: Lane Test Shop")
		os.WriteFile(conf, []byte(text), 0o640)
	}

	// Upgrade to 1.0.1: the binary changes, the journal and the edited config stay.
	run(t, "dpkg", "-i", "--force-confold", v2)
	if v := run(t, "posagent", "version"); !strings.Contains(v, "1.0.1") {
		t.Errorf("version after upgrade: %s", v)
	}
	if data, _ := os.ReadFile(conf); !strings.Contains(string(data), "Lane Test Shop") {
		t.Errorf("the edited configuration was replaced by the upgrade")
	}
	check := run(t, "runuser", "-u", "posagent", "--", "posagent", "--config", conf, "journal", "check")
	t.Logf("journal check after the upgrade:\n%s", check)
	if shown := payOnce(t, "2.00", "134567890123456790", id); !strings.Contains(shown, id) {
		t.Errorf("payment %s is not in the journal after the upgrade:\n%s", id, shown)
	}

	// Remove: the binary goes; the configuration (conffile) and the journal stay.
	run(t, "dpkg", "-r", "posagent")
	if _, err := os.Stat("/usr/bin/posagent"); err == nil {
		t.Errorf("/usr/bin/posagent is still there after dpkg -r")
	}
	for _, keep := range []string{conf, journal} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s is gone after dpkg -r: %v", keep, err)
		}
	}
	// Purge: the configuration goes; the journal is a record and stays.
	run(t, "dpkg", "-P", "posagent")
	if _, err := os.Stat(conf); err == nil {
		t.Errorf("%s is still there after dpkg -P", conf)
	}
	if _, err := os.Stat(journal); err != nil {
		t.Errorf("the journal is gone after dpkg -P: %v", err)
	}
}

// payOnce starts the installed daemon as the service user on a free port,
// takes one scan payment of amount, lists the payments (and shows id, when
// given), stops the daemon and returns what the CLI printed. A payment
// code pays once, across an upgrade too: each call needs its own.
func payOnce(t *testing.T, amount, code string, show ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// As the service user, as systemd runs it (not through runuser, so
	// that the stop signal reaches the daemon itself).
	d := exec.CommandContext(ctx, "/usr/bin/posagent", "--config", conf, "run")
	d.Env = append(os.Environ(), "POSAGENT_API_LISTEN="+addr, "POSAGENT_AGENT_TIME_SCALE=0.05", "POSAGENT_SIM_TIME_SCALE=0.05")
	d.Dir = "/var/lib/posagent"
	d.SysProcAttr = &syscall.SysProcAttr{Credential: serviceUser(t)}
	d.Cancel = func() error { return d.Process.Signal(syscall.SIGTERM) }
	d.WaitDelay = 10 * time.Second
	var logs strings.Builder
	d.Stdout, d.Stderr = &logs, &logs
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		d.Process.Signal(syscall.SIGTERM)
		d.Wait()
		if t.Failed() {
			t.Logf("daemon output:\n%s", logs.String())
		}
	}()
	api := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for exec.Command("posagent", "--api", api, "status").Run() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the installed daemon did not answer on %s:\n%s", addr, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	var b strings.Builder
	if len(show) > 0 {
		b.WriteString(run(t, "posagent", "--api", api, "show", show[0]))
	}
	paid := run(t, "posagent", "--api", api, "pay", amount, "--code", code)
	b.WriteString(paid)
	m := regexp.MustCompile(`pay_[0-9a-z]+`).FindString(paid)
	if m == "" {
		t.Fatalf("no payment id in:\n%s", paid)
	}
	if len(show) == 0 {
		return m
	}
	return b.String()
}

// serviceUser is the posagent user's uid and gid.
func serviceUser(t *testing.T) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("posagent")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
