package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/store"
)

// TestApplyAllOrNone: when one part cannot prepare its change (an
// api.socket_users name that does not exist), no part commits: the
// printer, prepared before the API's access rules, keeps the old
// merchant's placard, and the configuration in force is unchanged.
func TestApplyAllOrNone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	d, _ := startDaemon(t, "printer:\n  kind: none\nmerchant:\n  name: Old Name\napi:\n  listen: 127.0.0.1:0\n  socket: "+sock+"\n")
	next := *d.Config()
	next.Merchant.Name = "New Name"
	next.API.SocketUsers = []string{"no-such-user-posagent-test"}
	res, err := d.Apply(context.Background(), &next)
	if !errors.Is(err, ErrRefused) || res.OK || len(res.Applied) != 0 || !strings.Contains(res.Error, "api.socket_users") {
		t.Fatalf("Apply: err %v, %+v", err, res)
	}
	if got := d.Config().Merchant.Name; got != "Old Name" {
		t.Errorf("merchant.name in force %q after a refused reload", got)
	}
	var lp *livePrinter
	for _, p := range d.parts {
		if p, ok := p.(*livePrinter); ok {
			lp = p
		}
	}
	if lp == nil {
		t.Fatal("no printer part")
	}
	if got := lp.Placard().Merchant; got != "Old Name" {
		t.Errorf("the printer committed its part of a refused reload: placard of %q", got)
	}
}

// TestFailedStartClosesItsParts: a daemon whose API cannot listen (the
// address is taken) stops with the reason, and Close releases its journal.
func TestFailedStartClosesItsParts(t *testing.T) {
	_, first := startDaemon(t, "printer:\n  kind: none\n")
	dir := t.TempDir()
	journal := filepath.Join(dir, "posagent.db")
	path := filepath.Join(dir, "posagent.yaml")
	body := "store:\n  path: " + journal + "\napi:\n  listen: " + first.API + "\nprinter:\n  kind: none\nsim:\n  time_scale: 0.02\n  listen: 127.0.0.1:0\nagent:\n  time_scale: 0.02\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Check(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, slog.New(slog.DiscardHandler), Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Run(ctx); err == nil || !strings.Contains(err.Error(), "is another posagent running?") {
		t.Fatalf("Run on a taken address: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st, err := store.Open(journal, store.Options{})
	if err != nil {
		t.Fatalf("the journal is still held after Close: %v", err)
	}
	st.Close()
}
