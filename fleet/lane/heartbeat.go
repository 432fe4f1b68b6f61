package lane

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/store/fleetmark"
)

// Kick asks for a heartbeat now (after an apply or a refusal).
func (w *Watcher) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// heartbeats reports every HeartbeatEvery (jittered) and when kicked, and
// restarts the lane in the maintenance window when keys are staged.
func (w *Watcher) heartbeats(ctx context.Context) {
	var kv jetstream.KeyValue
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
		t.Reset(jitter(w.o.HeartbeatEvery))
		if kv == nil {
			var err error
			if kv, err = w.js.KeyValue(ctx, fleet.LanesBucket); err != nil {
				if ctx.Err() == nil {
					w.o.Log.Warn("fleet: no heartbeat: bucket "+fleet.LanesBucket+" (head office makes it)", "err", err)
				}
				kv = nil
				continue
			}
		}
		h, err := w.Heartbeat()
		if err == nil {
			err = w.publish(ctx, kv, h)
		}
		if err != nil && ctx.Err() == nil {
			w.o.Log.Warn("fleet: heartbeat not sent", "err", err)
		}
		w.maintenance(h)
	}
}

func (w *Watcher) publish(ctx context.Context, kv jetstream.KeyValue, h fleet.Heartbeat) error {
	data, err := fleet.EncodeHeartbeat(h)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = kv.Put(pctx, fleet.LaneKey(w.o.Lane), data)
	return err
}

// Heartbeat is the lane's report now.
func (w *Watcher) Heartbeat() (fleet.Heartbeat, error) {
	h := w.o.Status()
	st, err := fleetmark.Get(w.o.Store)
	if err != nil {
		return h, err
	}
	sk, lk := w.Keys()
	w.mu.Lock()
	w.seq++
	h.Seq, h.Refusal = w.seq, w.refusal
	w.mu.Unlock()
	h.Lane, h.At, h.Software = w.o.Lane, w.o.Clock().UTC(), w.o.Software
	h.UptimeS = int64(time.Since(w.start) / time.Second)
	h.Config = fleet.Applied{Store: st.Applied[sk].Version, Lane: st.Applied[lk].Version}
	if len(st.Staged) > 0 {
		h.Config.Staged, h.Config.StagedKeys = st.StagedVersion, st.Staged
		h.Problems = append(h.Problems, "configuration staged for a restart: "+joinKeys(st.Staged))
	}
	if h.Refusal != nil {
		h.Problems = append(h.Problems, "refused a bundle from head office ("+string(h.Refusal.Reason)+"): "+h.Refusal.Detail)
	}
	return h, nil
}

// maintenance restarts the lane when keys are staged and the window is open.
func (w *Watcher) maintenance(h fleet.Heartbeat) {
	if len(h.Config.StagedKeys) == 0 || w.o.Maintenance == nil || w.o.Restart == nil {
		return
	}
	if w.o.Maintenance(w.o.Clock()) {
		w.o.Log.Info("fleet: restarting in the maintenance window to apply staged keys", "keys", h.Config.StagedKeys)
		w.o.Restart()
	}
}

func jitter(d time.Duration) time.Duration {
	span := int64(d / 10)
	if span <= 0 {
		return d
	}
	return d - time.Duration(span) + time.Duration(rand.Int64N(2*span+1))
}

func joinKeys(ks []string) string {
	out := ""
	for i, k := range ks {
		if i > 0 {
			out += ", "
		}
		out += k
	}
	return out
}

func asRefusal(err error, r **fleet.Refusal) bool { return errors.As(err, r) }
