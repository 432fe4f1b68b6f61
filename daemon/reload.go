package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
)

// Reloading the configuration of a running daemon (SIGHUP, posagent
// reload, POST /v1/config/reload, or a component calling Apply): the new
// configuration is checked as at start; an invalid one changes nothing. Of
// a valid one, the changes the running parts can take are applied at once
// (the keys the schema marks live: config.Live) and the others are listed
// as needing a restart, and left as they were. Every Live part prepares
// its change first; only when all are ready is anything committed. A
// payment in flight is not touched (the engine keeps running); a receipt
// being printed finishes on the printer it started on; queued receipts
// wait in the outbox.

// Result is what a reload did, for the CLI, the log and the event.
type Result struct {
	OK       bool             `json:"ok"`
	File     string           `json:"file,omitempty"`
	Applied  []config.Change  `json:"applied"`            // now in effect
	Restart  []config.Change  `json:"restart"`            // need a restart; not applied
	Problems []config.Problem `json:"problems,omitempty"` // why the configuration was refused
	Error    string           `json:"error,omitempty"`    // the file could not be read, or a part refused it
	Warnings []string         `json:"warnings,omitempty"`
}

// ErrRefused is what Apply returns (wrapped) when it changed nothing: the
// configuration has problems, or a part could not prepare its change.
var ErrRefused = errors.New("daemon: configuration refused; the running configuration is unchanged")

// Apply puts next in force as far as it can without a restart: the changes
// of live keys are applied (all or none), the others are listed in
// Result.Restart and left as they were. next is checked first (Problems);
// it is not read from a file (Result.File is ""). The reload is journaled
// (config.reloaded or config.reload_refused) like any other. The error
// wraps ErrRefused when nothing was applied.
func (d *Daemon) Apply(ctx context.Context, next *config.Config) (Result, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	res := newResult("", nil)
	if ps := next.Problems(); len(ps) > 0 {
		res.Problems = ps
	} else {
		res = d.applyLocked(res, next)
	}
	d.report(res)
	return res, res.err()
}

// Reload reads the configuration file (Options.ConfigPath, with
// Options.Env) again and applies what it can, as Apply.
func (d *Daemon) Reload() Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	res := d.reloadLocked()
	d.report(res)
	return res
}

func (d *Daemon) reloadLocked() Result {
	if d.fleetLayers != nil {
		layers, err := d.fleetLayers()
		if err != nil {
			res := newResult(d.opts.ConfigPath, nil)
			res.Error = err.Error()
			return res
		}
		return d.applyLayersLocked(layers)
	}
	next, src, err := config.Check(d.opts.ConfigPath, d.opts.Env)
	return d.checkedLocked(next, src, err)
}

// applyLayersLocked checks the file with head office's bundles laid over
// it (fleet.go) and applies what it can; d.mu held.
func (d *Daemon) applyLayersLocked(layers []config.Layer) Result {
	var data []byte
	if d.opts.ConfigPath != "" {
		var err error
		if data, err = os.ReadFile(d.opts.ConfigPath); err != nil {
			res := newResult(d.opts.ConfigPath, nil)
			res.Error = err.Error()
			return res
		}
	}
	next, src, err := config.CheckLayered(d.opts.ConfigPath, data, d.opts.Env, layers)
	return d.checkedLocked(next, src, err)
}

// checkedLocked applies next, checked with src and err; d.mu held.
func (d *Daemon) checkedLocked(next *config.Config, src config.Sources, err error) Result {
	res := newResult(src.File, src.Warnings)
	var ce *config.Error
	switch {
	case errors.As(err, &ce):
		res.Problems = ce.Problems
		return res
	case err != nil:
		res.Error = err.Error()
		return res
	}
	return d.applyLocked(res, next)
}

// applyLocked applies the live changes from d.cur to next (valid); d.mu
// held.
func (d *Daemon) applyLocked(res Result, next *config.Config) Result {
	var live []string
	for _, c := range config.Changes(d.cur, next) {
		if config.Live(c.Key, d.cur, next) {
			res.Applied = append(res.Applied, c)
			live = append(live, c.Key)
		} else {
			res.Restart = append(res.Restart, c)
		}
	}
	merged := d.cur.With(next, live)
	if ps := merged.Problems(); len(ps) > 0 {
		// Live changes that only make sense with restart-only ones.
		for _, p := range ps {
			p.Msg += " (with the running values of the keys that need a restart: restart to apply them together)"
			res.Problems = append(res.Problems, p)
		}
		res.Applied = []config.Change{}
		return res
	}
	// Prepare every part first; only when all are ready is anything swapped.
	var commits []Commit
	for _, l := range d.live {
		c, err := l.Prepare(d.cur, merged)
		if err != nil {
			res.Error = err.Error()
			res.Applied = []config.Change{}
			return res
		}
		if c != nil {
			commits = append(commits, c)
		}
	}
	for _, c := range commits {
		c()
	}
	d.cur = merged
	res.OK = true
	return res
}

// report logs the result and journals config.reloaded (or
// config.reload_refused) with what changed; secrets show as ********.
func (d *Daemon) report(res Result) {
	log := d.log.With("part", "config")
	kind := "config.reloaded"
	fields := map[string]any{"file": res.File, "applied": res.Applied, "restart": res.Restart}
	if !res.OK {
		kind = "config.reload_refused"
		// "reason", not "error": Event.Error is a structured error.
		fields = map[string]any{"file": res.File, "problems": res.Problems, "reason": res.Error}
		log.Warn("config: reload refused: the running configuration is unchanged", "file", res.File,
			"problems", len(res.Problems), "err", res.Error)
		for _, p := range res.Problems {
			log.Warn("config: " + p.String())
		}
	} else {
		log.Info("config: reloaded", "file", res.File, "applied", changedKeys(res.Applied), "restart", changedKeys(res.Restart))
		for _, c := range res.Restart {
			log.Warn("config: "+c.Key+" changed but needs a restart (systemctl restart posagent); still running with the old value", "old", c.Old, "new", c.New)
		}
	}
	if _, err := d.engine.RecordEvent(kind, fields); err != nil {
		log.Error("config: reload not journaled", "err", err)
	}
}

func newResult(file string, warnings []string) Result {
	return Result{File: file, Warnings: warnings, Applied: []config.Change{}, Restart: []config.Change{}}
}

// err is nil when res applied, else ErrRefused with the reason.
func (res Result) err() error {
	switch {
	case res.OK:
		return nil
	case res.Error != "":
		return fmt.Errorf("%w: %s", ErrRefused, res.Error)
	}
	return fmt.Errorf("%w: %d problems", ErrRefused, len(res.Problems))
}

func changedKeys(cs []config.Change) string {
	var k []string
	for _, c := range cs {
		k = append(k, c.Key)
	}
	return strings.Join(k, ",")
}

// AuditDetail names the keys a reload applied and those left for a
// restart (never their values), or says it was refused.
func (res Result) AuditDetail() string {
	if !res.OK {
		return fmt.Sprintf("refused: %d problems", len(res.Problems))
	}
	return "applied: " + changedKeys(res.Applied) + "; restart: " + changedKeys(res.Restart)
}

// reloader is the daemon's part that reloads on Options.Reload (SIGHUP)
// and serves POST /v1/config/reload.
type reloader struct {
	d   *Daemon
	eng *agent.Engine
	log *slog.Logger
}

func (r *reloader) Name() string { return "reload" }
func (r *reloader) Close() error { return nil }

// handler is POST /v1/config/reload: the reload's result as JSON; 422
// when the file was refused.
func (r *reloader) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		res := r.d.Reload()
		api.AuditDetail(req, res.AuditDetail())
		w.Header().Set("Content-Type", "application/json")
		if !res.OK {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		json.NewEncoder(w).Encode(res)
	})
}

// Run reloads on each signal until ctx ends.
func (r *reloader) Run(ctx context.Context) error {
	sig := r.d.opts.Reload
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sig:
			res := r.d.Reload()
			status, result := 200, "ok"
			if !res.OK {
				status, result = 422, "reload_refused"
			}
			// A reload by signal is on the audit trail too (one by the API is
			// recorded by the API's front door, with its credential).
			if err := r.eng.RecordAudit(agent.Audit{Action: "config.reload", Method: "SIGHUP", Credential: "signal", Client: "local",
				Status: status, Result: result, Detail: res.AuditDetail()}); err != nil {
				r.log.Error("config: reload not on the audit trail", "err", err)
			}
		}
	}
}

// sameKeys reports whether old and new agree on every key starting with
// one of prefixes.
func sameKeys(old, new *config.Config, prefixes ...string) bool {
	for _, c := range config.Changes(old, new) {
		for _, p := range prefixes {
			if strings.HasPrefix(c.Key, p) {
				return false
			}
		}
	}
	return true
}
