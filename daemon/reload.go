package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
