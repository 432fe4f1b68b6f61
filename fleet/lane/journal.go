package lane

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/fleetmark"
)

// The journal events of the fleet: every bundle accepted or refused.
const (
	KindApplied = "fleet.applied"
	KindStaged  = "fleet.staged"
	KindRefused = "fleet.refused"
)

// eventFleet is the "fleet" object of a fleet.* event.
type eventFleet struct {
	Key     string   `json:"key"`
	Version uint64   `json:"version,omitempty"`
	KeyID   string   `json:"key_id,omitempty"`
	By      string   `json:"by,omitempty"`
	Note    string   `json:"note,omitempty"`
	Live    []string `json:"live,omitempty"`
	Staged  []string `json:"staged,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	Detail  string   `json:"detail,omitempty"`
}

// auditEntry is an audit-trail entry as the agent writes them (agent.Audit).
type auditEntry struct {
	Action     string `json:"action"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Credential string `json:"credential"`
	Client     string `json:"client"`
	Status     int    `json:"status"`
	Result     string `json:"result"`
	Detail     string `json:"detail,omitempty"`
}

// apply has the Applier check and apply b over the other key's bundle in
// effect, then records it: the highest version, the bundle, the staged
// keys, the events and the audit entry, in one transaction.
func (w *Watcher) apply(ctx context.Context, key string, b fleet.Bundle, data []byte, st fleetmark.State) error {
	sk, lk := w.Keys()
	var layers []Layer
	for _, k := range []string{sk, lk} {
		switch a, ok := st.Applied[k]; {
		case k == key:
			layers = append(layers, Layer{Key: k, Version: b.Version, YAML: b.YAML})
		case ok:
			layers = append(layers, w.appliedLayer(k, a))
		}
	}
	live, staged, err := w.o.Apply.Apply(ctx, layers)
	if err != nil {
		return err
	}
	at := w.o.Clock()
	ef := eventFleet{Key: key, Version: b.Version, KeyID: fleet.KeyID(w.o.PublicKey), By: b.By, Note: b.Note, Live: live, Staged: staged}
	err = fleetmark.Update(w.o.Store, func(t *store.Tx, fs *fleetmark.State) error {
		if err := fleet.CheckVersion(b, fs.Highest[key]); err != nil {
			return err // raised meanwhile (another process on the journal cannot; a restore can)
		}
		fs.Highest[key] = b.Version
		fs.Applied[key] = fleetmark.Bundle{Version: b.Version, Envelope: data, At: at.UTC()}
		if len(staged) > 0 {
			fs.Staged = union(fs.Staged, staged)
			fs.StagedVersion = b.Version
		}
		if err := appendEvent(t, KindApplied, at, "", ef); err != nil {
			return err
		}
		if len(staged) > 0 {
			if err := appendEvent(t, KindStaged, at, "", eventFleet{Key: key, Version: b.Version, Staged: fs.Staged}); err != nil {
				return err
			}
		}
		return appendAudit(t, at, key, 200, "ok", fmt.Sprintf("version %d by %s: live %s; staged for a restart %s",
			b.Version, orNone(b.By), orNone(strings.Join(live, ",")), orNone(strings.Join(staged, ","))))
	})
	if err != nil {
		if fleet.ReasonOf(err) != "" {
			return err
		}
		w.o.Log.Error("fleet: a bundle applied but not journaled: it is in effect until the next restart", "key", key, "version", b.Version, "err", err)
		return nil
	}
	w.o.Log.Info("fleet: bundle applied", "key", key, "version", b.Version, "by", b.By, "live", live, "staged", staged)
	return nil
}

// appliedLayer is the bundle in effect for k, opened again (its signature
// still holds; its expiry no longer matters: it was in time when applied).
func (w *Watcher) appliedLayer(k string, a fleetmark.Bundle) Layer {
	b, err := fleet.Open(a.Envelope, w.o.PublicKey, w.o.Lane, time.Time{})
	if err != nil && fleet.ReasonOf(err) != fleet.ReasonExpired {
		w.o.Log.Warn("fleet: the bundle in effect no longer verifies (was fleet.public_key changed?); left out", "key", k, "err", err)
		return Layer{Key: k, Version: a.Version}
	}
	return Layer{Key: k, Version: b.Version, YAML: b.YAML}
}

// refused journals a refusal and keeps it for the heartbeats.
func (w *Watcher) refused(key string, b fleet.Bundle, err error) {
	reason, detail := fleet.ReasonOf(err), err.Error()
	var r *fleet.Refusal
	if ok := asRefusal(err, &r); ok {
		detail = r.Detail
	} else {
		reason = fleet.ReasonConfig
	}
	at := w.o.Clock()
	lr := &fleet.LastRefusal{Key: key, Version: b.Version, Reason: reason, Detail: detail, At: at.UTC()}
	w.mu.Lock()
	w.refusal = lr
	w.mu.Unlock()
	w.o.Log.Warn("fleet: bundle refused", "key", key, "version", b.Version, "reason", reason, "detail", detail)
	ef := eventFleet{Key: key, Version: b.Version, By: b.By, Reason: string(reason), Detail: detail}
	if err := w.o.Store.Update(func(t *store.Tx) error {
		if err := appendEvent(t, KindRefused, at, string(reason), ef); err != nil {
			return err
		}
		return appendAudit(t, at, key, 422, "refused:"+string(reason), fmt.Sprintf("version %d: %s", b.Version, detail))
	}); err != nil {
		w.o.Log.Error("fleet: a refusal not journaled", "key", key, "err", err)
	}
}

func appendEvent(t *store.Tx, kind string, at time.Time, reason string, ef eventFleet) error {
	_, err := t.AppendEvent(func(seq uint64) ([]byte, error) {
		m := map[string]any{"seq": seq, "kind": kind, "at": at.UTC(), "fleet": ef}
		if reason != "" {
			m["reason"] = reason
		}
		return json.Marshal(m)
	})
	return err
}

func appendAudit(t *store.Tx, at time.Time, key string, status int, result, detail string) error {
	a := auditEntry{Action: "fleet.bundle", Method: "NATS", Path: key, Credential: "head office", Client: "fleet",
		Status: status, Result: result, Detail: detail}
	_, err := t.AppendAudit(at, func(seq uint64) ([]byte, error) {
		return json.Marshal(map[string]any{"seq": seq, "kind": store.KindAudit, "at": at.UTC(), "audit": a})
	})
	return err
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, k := range b {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
