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
)

// startDaemon runs a daemon over the in-process simulator with a journal in
// a temp dir; it stops at the end of the test.
func startDaemon(t *testing.T, yaml string, extra ...func(*Daemon) ([]Part, error)) (*Daemon, Running) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.yaml")
	body := "store:\n  path: " + filepath.Join(dir, "posagent.db") + "\nsim:\n  time_scale: 0.02\nagent:\n  time_scale: 0.02\n" + yaml
	if !strings.Contains(yaml, "api:") {
		body += "api:\n  listen: 127.0.0.1:0\n"
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Check(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan Running, 1)
	o := Options{Version: "test", ConfigPath: path, Level: new(slog.LevelVar),
		Ready: func(r Running) { ready <- r }}
	if len(extra) > 0 {
		o.Extra = extra[0]
	}
	d, err := New(cfg, slog.New(slog.DiscardHandler), o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	select {
	case r := <-ready:
		return d, r
	case err := <-done:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not start")
	}
	return nil, Running{}
}

// keys lists the keys of changes.
func keys(cs []config.Change) string {
	var k []string
	for _, c := range cs {
		k = append(k, c.Key)
	}
	return strings.Join(k, ",")
}

// TestApply: a configuration handed to Apply (as a signed bundle would be)
// applies its live keys at once and lists the others for a restart; one
// with a problem changes nothing and says why; both are journaled.
func TestApply(t *testing.T) {
	d, _ := startDaemon(t, "printer:\n  kind: none\nmerchant:\n  name: Old Name\n")
	next := *d.Config()
	next.Merchant.Name = "New Name"
	next.Log.Level = "debug"
	next.Store.Path = filepath.Join(t.TempDir(), "elsewhere.db")
	res, err := d.Apply(context.Background(), &next)
	if err != nil || !res.OK {
		t.Fatalf("Apply: %v %+v", err, res)
	}
	if got := keys(res.Applied); got != "merchant.name,log.level" {
		t.Errorf("applied %q, want merchant.name,log.level", got)
	}
	if got := keys(res.Restart); got != "store.path" {
		t.Errorf("restart %q, want store.path", got)
	}
	cur := d.Config()
	if cur.Merchant.Name != "New Name" || cur.Log.Level != "debug" || cur.Store.Path == next.Store.Path {
		t.Errorf("in force: name %q level %q journal %q", cur.Merchant.Name, cur.Log.Level, cur.Store.Path)
	}
	if d.opts.Level.Level() != slog.LevelDebug {
		t.Errorf("log level %v after the reload, want debug", d.opts.Level.Level())
	}

	bad := *d.Config()
	bad.Merchant.Name = "Refused Name"
	bad.Printer.Paper = "70mm"
	res, err = d.Apply(context.Background(), &bad)
	if !errors.Is(err, ErrRefused) || res.OK || len(res.Problems) == 0 || len(res.Applied) != 0 {
		t.Fatalf("a configuration with a problem: err %v, %+v", err, res)
	}
	if !strings.Contains(res.Problems[0].String(), "printer.paper") {
		t.Errorf("problem %q does not name printer.paper", res.Problems[0].String())
	}
	if d.Config().Merchant.Name != "New Name" {
		t.Errorf("a refused configuration changed merchant.name to %q", d.Config().Merchant.Name)
	}

	// Both are on the event log.
	events, stop := d.engine.Subscribe(0)
	defer stop()
	var kinds []string
	timeout := time.After(10 * time.Second)
	for len(kinds) < 2 {
		select {
		case ev := <-events:
			if strings.HasPrefix(ev.Kind, "config.") {
				kinds = append(kinds, ev.Kind)
			}
		case <-timeout:
			t.Fatalf("config events %v", kinds)
		}
	}
	if strings.Join(kinds, ",") != "config.reloaded,config.reload_refused" {
		t.Errorf("config events %v", kinds)
	}
}

// bundlePart is a caller's part that applies one configuration when it
// runs, as a lane applying a signed bundle does.
type bundlePart struct {
	d      *Daemon
	name   string
	result chan Result
	closed chan struct{}
}

func (b *bundlePart) Name() string { return "bundle" }
func (b *bundlePart) Close() error { close(b.closed); return nil }

func (b *bundlePart) Run(ctx context.Context) error {
	next := *b.d.Config()
	next.Merchant.Name = b.name
	res, _ := b.d.Apply(ctx, &next)
	b.result <- res
	<-ctx.Done()
	return nil
}

// TestExtraPartApplies: a part the caller adds (Options.Extra) runs with
// the daemon's own, can apply a configuration through the daemon, and is
// closed with them.
func TestExtraPartApplies(t *testing.T) {
	b := &bundlePart{name: "From Bundle", result: make(chan Result, 1), closed: make(chan struct{})}
	// Registered first, so it runs after the daemon stopped.
	t.Cleanup(func() {
		select {
		case <-b.closed:
		default:
			t.Error("the extra part was not closed")
		}
	})
	d, _ := startDaemon(t, "printer:\n  kind: none\n", func(d *Daemon) ([]Part, error) {
		b.d = d
		return []Part{b}, nil
	})
	select {
	case res := <-b.result:
		if !res.OK || keys(res.Applied) != "merchant.name" {
			t.Fatalf("the extra part's Apply: %+v", res)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the extra part did not run")
	}
	if d.Config().Merchant.Name != "From Bundle" {
		t.Errorf("merchant.name %q", d.Config().Merchant.Name)
	}
}
