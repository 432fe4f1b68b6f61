package daemon

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
	"golang.org/x/sync/errgroup"
)

// Options are what a daemon needs beyond its configuration.
type Options struct {
	// Version is the binary's version (the engine's status, the feed's
	// envelopes, the log); NotBefore the earliest wall-clock time the
	// engine believes (the build time; zero: the engine's own floor).
	Version   string
	NotBefore time.Time
	// ConfigPath and Env are what Reload reads again (--config, and the
	// environment the daemon started with).
	ConfigPath string
	Env        []string
	// Level is the logger's level, which a reload changes (log.level).
	Level *slog.LevelVar
	// Reload asks for a reload (SIGHUP); each receive reads the file again.
	Reload <-chan struct{}
	// Reloadable turns reloading on: POST /v1/config/reload, the Reload
	// channel, and Reload. Apply works either way.
	Reloadable bool
	// Ready is called once the local API listens.
	Ready func(Running)
	// Extra makes parts of the caller's, once the daemon's own are built
	// (a lane that applies signed configuration bundles calls d.Apply from
	// its Run). They start after the engine is ready, with the others, and
	// close before them.
	Extra func(d *Daemon) ([]Part, error)
}

// Running says where a started daemon can be reached.
type Running struct {
	API    string // host:port of the local API
	Scheme string // http, or https with api.tls
	SimURL string // base URL of the in-process simulator ("" with a real gateway)
}

// Part is one long-lived piece of the daemon. Run works until ctx ends (or
// the part fails, which stops the daemon); Close releases what the part's
// constructor opened, after Run has returned, or when Run never ran.
type Part interface {
	Name() string
	Run(ctx context.Context) error
	Close() error
}

// Live is what can take a new configuration while the daemon runs.
// Prepare builds, from next, what the part would change, with no side
// effect, and may fail; the Commit it returns swaps it in and cannot fail.
// A nil Commit: nothing of the part changed. A reload prepares every Live
// and commits all of them or none.
type Live interface {
	Prepare(old, next *config.Config) (Commit, error)
}

// Commit puts a prepared change in force. It cannot fail.
type Commit func()

// Daemon is a running posagent's parts, in the order they start.
type Daemon struct {
	opts  Options
	log   *slog.Logger
	parts []Part // in start order; closed in reverse
	live  []Live // what a reload prepares and commits, in this order
	// gate is the part the others wait for (the engine: recovery first).
	gate interface{ Ready() <-chan struct{} }
	// before are the parts that start before the gate opens (the simulator
	// and the engine); the rest start once it is open.
	before int

	rl     *reloader
	engine *agent.Engine // a reload journals its result
	// fleetLayers, when set (fleet.enabled), gives head office's bundles
	// in effect, laid over the file at every reload (fleet.go).
	fleetLayers func() ([]config.Layer, error)

	mu  sync.Mutex // serialises reloads; guards cur
	cur *config.Config
}

// New builds every part cfg describes. The journal is checked before
// anything else: a damaged or rolled-back journal stops here, unmodified
// (errors.Is store.ErrCorrupt or store.ErrRolledBack). On an error what was
// built is closed again.
func New(cfg *config.Config, log *slog.Logger, o Options) (*Daemon, error) {
	if err := api.CheckListen(cfg.API.Listen, anyToken(cfg)); err != nil {
		return nil, err
	}
	d := &Daemon{opts: o, log: log, cur: cfg}
	if err := d.build(cfg); err != nil {
		if cerr := d.Close(); cerr != nil {
			log.Error("daemon: closing after a failed start", "err", cerr)
		}
		return nil, err
	}
	return d, nil
}

// Run is New, Run and Close: the daemon until ctx ends.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (err error) {
	d, err := New(cfg, log, o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := d.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return d.Run(ctx)
}

// add appends a part; Close closes it.
func (d *Daemon) add(p Part) { d.parts = append(d.parts, p) }

// Run starts the parts in one errgroup and waits for them. Recovery comes
// first: every payment left open by a crash is picked up before a scanner or
// the POS can start a new one, so the rest start, and the API listens, only
// once the engine is ready. A part's error stops the others.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	grp, ctx := errgroup.WithContext(ctx)
	for _, p := range d.parts[:d.before] {
		grp.Go(func() error { return p.Run(ctx) })
	}
	select {
	case <-d.gate.Ready():
	case <-ctx.Done():
		return quietCancel(grp.Wait())
	}
	for _, p := range d.parts[d.before:] {
		grp.Go(func() error { return p.Run(ctx) })
	}
	return quietCancel(grp.Wait())
}

// Close closes every part, the last built first; the first error (the
// journal's, which closes last, when it has one) is returned.
func (d *Daemon) Close() error {
	var errs []error
	for i := len(d.parts) - 1; i >= 0; i-- {
		if err := d.parts[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	d.parts = nil
	if len(errs) == 0 {
		return nil
	}
	return errs[len(errs)-1]
}

// Config is the configuration in force (the start's, with what reloads
// applied).
func (d *Daemon) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur
}

// quietCancel is err, with cancellation not an error.
func quietCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
