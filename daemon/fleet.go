package daemon

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/feed"
	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/fleet/lane"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/fleetmark"
)

// Configuration from head office (fleet.enabled; docs/fleet.md): the lane
// watches its store's and its own bundle (package fleet/lane), and applies
// what it proves as a reload does; at start, the bundles in effect are laid
// over the local file before any part is made. Only a reloadable daemon
// (posagent run) takes part in the fleet.

// ErrFleetRestart ends the daemon so that `posagent run` starts it again:
// restart-only keys from head office were staged and the maintenance
// window is open.
var ErrFleetRestart = errors.New("fleet: restarting in the maintenance window to apply staged configuration")

// laneTarget is the lane's identity in the fleet.
func laneTarget(cfg *config.Config) fleet.Target {
	return fleet.Target{Merchant: cfg.Merchant.ID, Store: cfg.Merchant.Store, Lane: cfg.Gateway.TerminalNo}
}

// fleetLayers are the bundles in effect (the store's, then the lane's) as
// configuration layers, opened again with head office's key.
func fleetLayers(st *store.Store, pub ed25519.PublicKey, t fleet.Target) ([]config.Layer, error) {
	fs, err := fleetmark.Get(st)
	if err != nil {
		return nil, err
	}
	storeKey := fleet.Target{Merchant: t.Merchant, Store: t.Store}.Key()
	var out []config.Layer
	for _, k := range []string{storeKey, t.Key()} {
		a, ok := fs.Applied[k]
		if !ok {
			continue
		}
		// Applied in time: its expiry no longer matters (the zero time).
		b, err := fleet.Open(a.Envelope, pub, t, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("fleet: the bundle in effect for %s (version %d): %w", k, a.Version, err)
		}
		out = append(out, config.Layer{Name: fmt.Sprintf("%s version %d", k, b.Version), YAML: []byte(b.YAML)})
	}
	return out, nil
}

// fleetStart opens the journal first and lays the bundles in effect over
// the local file: the daemon is then built with the merged configuration
// (restart-only keys staged before included), and the staged list is
// cleared. A merged configuration that no longer checks (the local file
// changed since) is logged and the local file alone is used.
func (d *Daemon) fleetStart(cfg *config.Config) (*store.Store, *config.Config, error) {
	pub, err := fleet.ParsePublicKey(cfg.Fleet.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	st, err := OpenJournal(cfg, d.log)
	if err != nil {
		return nil, nil, err
	}
	layers, err := fleetLayers(st, pub, laneTarget(cfg))
	if err != nil || len(layers) == 0 {
		if err != nil {
			d.log.Error("fleet: running on the local file alone", "err", err)
		}
		return st, cfg, nil
	}
	var data []byte
	if p := d.opts.ConfigPath; p != "" {
		if data, err = os.ReadFile(p); err != nil {
			return st, nil, err
		}
	}
	merged, _, err := config.CheckLayered(d.opts.ConfigPath, data, d.opts.Env, layers)
	if err != nil {
		d.log.Error("fleet: head office's bundles no longer fit the local file: running on the local file alone until a new bundle comes", "err", err)
		return st, cfg, nil
	}
	fs, err := fleetmark.Get(st)
	if err == nil && len(fs.Staged) > 0 {
		d.log.Info("fleet: staged keys from head office in effect after the restart", "keys", fs.Staged, "version", fs.StagedVersion)
		err = fleetmark.Update(st, func(_ *store.Tx, fs *fleetmark.State) error {
			fs.Staged, fs.StagedVersion = nil, 0
			return nil
		})
	}
	return st, merged, err
}

// fleetPart is the lane's watcher and heartbeats.
type fleetPart struct {
	w       *lane.Watcher
	nc      *nats.Conn
	restart chan struct{}
}

func (p *fleetPart) Name() string { return "fleet" }
func (p *fleetPart) Close() error { p.nc.Close(); return nil }

// newFleet makes the watcher (nil when fleet.enabled is off).
func (d *Daemon) newFleet(cfg *config.Config, st *store.Store, eng *agent.Engine, fp *feedPart) (*fleetPart, error) {
	if !cfg.Fleet.Enabled {
		return nil, nil
	}
	pub, err := fleet.ParsePublicKey(cfg.Fleet.PublicKey)
	if err != nil {
		return nil, err
	}
	target := laneTarget(cfg)
	d.fleetLayers = func() ([]config.Layer, error) { return fleetLayers(st, pub, target) }
	urls, creds, seed, user, password, ca := cfg.FleetConn()
	nc, err := feed.Conn{URLs: urls, Creds: creds, NkeySeed: seed, User: user, Password: password, TLSCA: ca,
		Name: fmt.Sprintf("posagent fleet %s", target)}.Dial(true)
	if err != nil {
		return nil, err
	}
	p := &fleetPart{nc: nc, restart: make(chan struct{}, 1)}
	o := lane.Options{Lane: target, PublicKey: pub, Store: st, Apply: fleetApplier{d},
		Status: func() fleet.Heartbeat { return heartbeatStatus(eng, fp) }, HeartbeatEvery: cfg.Fleet.HeartbeatEvery,
		Software: d.opts.Version, Log: d.log.With("part", "fleet")}
	if w, ok, _ := config.ParseWindow(cfg.Fleet.MaintenanceWindow); ok {
		loc, _ := cfg.Location()
		o.Maintenance = func(now time.Time) bool {
			if loc != nil {
				now = now.In(loc)
			}
			return w.Contains(now) && eng.Status().OpenPayments == 0
		}
		o.Restart = func() {
			select {
			case p.restart <- struct{}{}:
			default:
			}
		}
	}
	if p.w, err = lane.New(nc, o); err != nil {
		nc.Close()
		return nil, err
	}
	return p, nil
}

// Run watches until ctx ends, or returns ErrFleetRestart.
func (p *fleetPart) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.w.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-p.restart:
		cancel()
		<-done
		return ErrFleetRestart
	}
}

// fleetApplier applies bundles as a reload does.
type fleetApplier struct{ d *Daemon }

// Apply refuses a bundle with a secret, a key only the lane's file may
// set, or any problem of its own; then checks the local file with the
// layers over it and applies it as a reload does (journaled as
// config.reloaded: the display page reads its settings again).
func (a fleetApplier) Apply(_ context.Context, layers []lane.Layer) (live, staged []string, err error) {
	var cl []config.Layer
	for _, l := range layers {
		bc := config.CheckBundle([]byte(l.YAML))
		if len(bc.Secrets) > 0 {
			return nil, nil, &fleet.Refusal{Reason: fleet.ReasonSecret, Detail: fmt.Sprintf("%s version %d sets %s: secrets stay in each lane's own file",
				l.Key, l.Version, strings.Join(bc.Secrets, ", "))}
		}
		if len(bc.Problems) > 0 {
			return nil, nil, &fleet.Refusal{Reason: fleet.ReasonConfig, Detail: fmt.Sprintf("%s version %d: %s", l.Key, l.Version, problemsText(bc.Problems))}
		}
		cl = append(cl, config.Layer{Name: fmt.Sprintf("%s version %d", l.Key, l.Version), YAML: []byte(l.YAML)})
	}
	a.d.mu.Lock()
	res := a.d.applyLayersLocked(cl)
	a.d.mu.Unlock()
	if !res.OK {
		detail := res.Error
		if len(res.Problems) > 0 {
			detail = problemsText(res.Problems)
		}
		return nil, nil, &fleet.Refusal{Reason: fleet.ReasonConfig, Detail: "the configuration with it: " + detail}
	}
	a.d.report(res)
	for _, c := range res.Applied {
		live = append(live, c.Key)
	}
	for _, c := range res.Restart {
		staged = append(staged, c.Key)
	}
	return live, staged, nil
}

func problemsText(ps []config.Problem) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, "; ")
}

// heartbeatStatus is the lane's health as /v1/status computes it.
func heartbeatStatus(eng *agent.Engine, fp *feedPart) fleet.Heartbeat {
	s := eng.Status()
	h := fleet.Heartbeat{Gateway: "ok", OutboxDepth: s.Outbox.Depth, OutboxOldestS: int64(s.Outbox.OldestAgeSeconds),
		InDoubt: len(s.InDoubt), ClockOK: s.Clock.Plausible, ClockNote: s.Clock.Problem,
		JournalCheck: s.Journal.Check.State, BackupAgeS: int64(s.Journal.Backup.AgeSeconds)}
	switch {
	case s.Gateway.Auth.State == agent.AuthRefused:
		h.Gateway = "auth_refused"
	case !s.Gateway.Reachable:
		h.Gateway = "unreachable"
	}
	if fp != nil {
		fs := fp.f.Status()
		h.FeedLag, h.FeedLagS = fs.LagEvents, int64(fs.LagSeconds)
	}
	h.Devices = heartbeatDevices(s.Devices)
	h.Problems = heartbeatProblems(h)
	return h
}

func heartbeatDevices(ds []agent.DeviceStatus) []fleet.Device {
	var out []fleet.Device
	for _, d := range ds {
		fd := fleet.Device{Name: d.Name, Kind: d.Kind, State: d.State}
		if !slices.Contains([]string{"connected", "ok", "ready", "online", "idle", "unknown"}, d.State) {
			fd.Problem = d.LastError
			if fd.Problem == "" {
				fd.Problem = d.State
			}
		}
		out = append(out, fd)
	}
	return out
}

func heartbeatProblems(h fleet.Heartbeat) []string {
	var out []string
	if h.Gateway != "ok" {
		out = append(out, "gateway "+h.Gateway)
	}
	if h.InDoubt > 0 {
		out = append(out, fmt.Sprintf("%d payments in doubt", h.InDoubt))
	}
	if !h.ClockOK {
		out = append(out, "clock: "+h.ClockNote)
	}
	if h.JournalCheck == "damaged" {
		out = append(out, "journal damaged")
	}
	for _, d := range h.Devices {
		if d.Problem != "" {
			out = append(out, d.Kind+" "+d.Name+": "+d.Problem)
		}
	}
	return out
}

// tipsLive gives the engine new tip suggestions (display.tip_choices, live).
type tipsLive struct {
	eng *agent.Engine
	log *slog.Logger
}

func (t tipsLive) Prepare(old, next *config.Config) (Commit, error) {
	if slices.Equal(old.Display.TipChoices, next.Display.TipChoices) {
		return nil, nil
	}
	choices := next.Display.TipChoices
	return func() {
		if err := t.eng.Intake().SetTipChoices(choices); err != nil {
			t.log.Error("config: tip suggestions not applied", "err", err)
		}
	}, nil
}
