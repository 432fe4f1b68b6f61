package api

// The event stream (GET /v1/events): who may hold one, for how long, and
// what each role sees on it.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
)

// hEvents streams events (Server-Sent Events), except the audit trail
// (GET /v1/audit). A display credential sees only what a customer screen
// shows (displayEvent), from the present on: it never replays the journal.
// A stream ends when its credential is revoked (a reload), when it stayed
// idle (no event) for Access.StreamIdle, or when a newer display stream
// needs its slot.
func (d *frontDoor) hEvents(w http.ResponseWriter, r *http.Request) {
	s := d.s
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, errf(operr.CodeInternal, "streaming is not supported by this connection"))
		return
	}
	c := callerOf(r)
	displayOnly := c.roles.only(RoleDisplay)
	after, err := streamCursor(r, s.eng.LastSeq())
	if err != nil {
		writeErr(w, err)
		return
	}
	if displayOnly {
		after = s.eng.LastSeq() // a screen needs the present, not the history
	}
	sl, ok := d.acquireStream(c)
	if !ok {
		a := d.s.accessNow().a
		w.Header().Set("Retry-After", "5")
		writeErr(w, errf(CodeTooManyStreams, "too many event streams are open (%d in all, %d per role); try again later", a.MaxStreams, a.MaxStreamsPerRole))
		return
	}
	defer sl.release()
	ch, stop := s.eng.Subscribe(after)
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(200)
	fmt.Fprintf(w, ": posagent events after %d\n\n", after)
	fl.Flush()
	rc := http.NewResponseController(w)
	idle := s.eng.Clock().After(s.accessNow().a.StreamIdle)
	acc := s.accessNow()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return
			}
			data, show := ev.Data, ev.Kind != agent.KindAudit // the audit trail is read with GET /v1/audit
			if displayOnly {
				data, show = displayEvent(ev)
			}
			if !show {
				continue
			}
			_ = rc.SetWriteDeadline(time.Now().Add(acc.a.WriteTimeout))
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Kind, data)
			if fl.Flush(); r.Context().Err() != nil {
				return
			}
			idle = s.eng.Clock().After(s.accessNow().a.StreamIdle)
		case <-s.eng.Clock().After(s.o.SSEPing):
			_ = rc.SetWriteDeadline(time.Now().Add(acc.a.WriteTimeout))
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		case <-idle:
			fmt.Fprint(w, ": idle, closing; reconnect\n\n")
			fl.Flush()
			return
		case <-acc.changed: // a reload: is this credential still one?
			if acc = s.accessNow(); !acc.holds(c) {
				d.log.Info("api: event stream closed: its credential was removed", "client", c.client, "credential", c.name)
				return
			}
		case <-sl.evicted:
			return
		case <-r.Context().Done():
			return
		case <-s.quit(): // the engine stopped: let the server shut down
			return
		}
	}
}

// streamCursor reads after= (or Last-Event-ID); none: the newest event.
func streamCursor(r *http.Request, last uint64) (uint64, error) {
	cursor := r.URL.Query().Get("after")
	if cursor == "" {
		cursor = r.Header.Get("Last-Event-ID")
	}
	if cursor == "" {
		return last, nil // a new client starts with what happens next
	}
	n, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil {
		return 0, errf(CodeInvalidCursor, "after / Last-Event-ID must be an event sequence number, got %q", clip(cursor, 40))
	}
	if n > last {
		return 0, errf(CodeInvalidCursor, "after %d is beyond the newest event, %d: reconnect without it, or with the last id you received", n, last)
	}
	return n, nil
}

// displayEvent is what a display credential may see of an event: the
// kinds a customer screen uses, with what a screen shows (the amount, the
// tip and total, the wallet, the state, the QR), never references, buyer
// ids, wallet transaction ids, refunds or scans.
func displayEvent(ev agent.Event) (json.RawMessage, bool) {
	out := struct {
		Seq     uint64          `json:"seq"`
		Kind    string          `json:"kind"`
		At      time.Time       `json:"at"`
		Payment *displayPayment `json:"payment,omitempty"`
		Cart    *displayCart    `json:"cart,omitempty"`
		Rate    *agent.ExRate   `json:"rate,omitempty"`
	}{Seq: ev.Seq, Kind: ev.Kind, At: ev.At}
	switch ev.Kind {
	case agent.KindPaymentUpdated:
		if ev.Payment == nil {
			return nil, false
		}
		out.Payment = screenPayment(ev.Payment)
	case agent.KindCartUpdated:
		if ev.Cart != nil {
			c := ev.Cart
			out.Cart = &displayCart{Amount: c.Amount, Currency: c.Currency, Tip: c.Tip, ExpiresAt: c.ExpiresAt,
				TipPrompt: c.TipPrompt, TipChoices: c.TipChoices, TipChosen: c.TipChosen}
		}
	case agent.KindRateUpdated:
		out.Rate = ev.Rate
	case "config.reloaded": // the page reads its settings again; what changed is not for it
	default:
		return nil, false
	}
	b, err := json.Marshal(out)
	return b, err == nil
}

// displayPayment is a payment as a customer screen shows it.
type displayPayment struct {
	ID          string             `json:"id"`
	Mode        string             `json:"mode"`
	Wallet      string             `json:"wallet"`
	Amount      int64              `json:"amount"`
	Tip         int64              `json:"tip"`
	Total       int64              `json:"total"`
	Currency    string             `json:"currency"`
	State       agent.State        `json:"state"`
	Error       *displayError      `json:"error,omitempty"`
	CodeURL     string             `json:"code_url,omitempty"`
	QRExpiresAt *time.Time         `json:"qr_expires_at,omitempty"`
	UpdatedAt   time.Time          `json:"updated_at"`
	Warnings    []displayErrorCode `json:"warnings,omitempty"`
}

type displayError struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

type displayErrorCode struct {
	Code string `json:"code"`
}

type displayCart struct {
	Amount     int64      `json:"amount"`
	Currency   string     `json:"currency"`
	Tip        int64      `json:"tip,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	TipPrompt  bool       `json:"tip_prompt,omitempty"`
	TipChoices []int      `json:"tip_choices,omitempty"`
	TipChosen  bool       `json:"tip_chosen,omitempty"`
}

func screenPayment(p *agent.Payment) *displayPayment {
	out := &displayPayment{ID: p.ID, Mode: p.Mode, Wallet: p.Wallet, Amount: p.Amount, Tip: p.Tip, Total: p.Total,
		Currency: p.Currency, State: p.State, CodeURL: p.CodeURL, QRExpiresAt: p.QRExpiresAt, UpdatedAt: p.UpdatedAt}
	if p.Error != nil {
		out.Error = &displayError{Code: p.Error.Code, Message: p.Error.Message}
	}
	for _, w := range p.Warnings {
		out.Warnings = append(out.Warnings, displayErrorCode{Code: w.Code})
	}
	return out
}

// streamSlot is one open event stream. evicted is closed when a newer
// display stream takes its place.
type streamSlot struct {
	role    Role
	evicted chan struct{}
	release func()
}

// streamRole is the role a stream counts against: the display's own
// quota for a display-only credential, else the caller's widest role.
func streamRole(c caller) Role {
	for _, r := range []Role{RoleManager, RolePOS, RoleDisplay, RoleMetrics, RoleBridge} {
		if c.roles.only(r) {
			return r
		}
	}
	return RoleManager // the legacy token or an open loopback API
}

// acquireStream takes an event-stream slot. Each role has its own quota
// (Access.MaxStreamsPerRole); the total (Access.MaxStreams) keeps one
// slot that only a display may take. A display stream beyond its quota
// closes the oldest display stream instead of being refused, so the real
// display, which reconnects, always gets in, whoever holds the others.
func (d *frontDoor) acquireStream(c caller) (*streamSlot, bool) {
	a := d.s.accessNow().a
	role := streamRole(c)
	d.mu.Lock()
	defer d.mu.Unlock()
	mine := d.streams[role]
	if role == RoleDisplay && len(mine) >= a.MaxStreamsPerRole && len(mine) > 0 {
		old := mine[0]
		d.streams[role] = mine[1:]
		d.total--
		close(old.evicted)
		mine = d.streams[role]
	}
	reserve := 1
	if role == RoleDisplay {
		reserve = 0
	}
	if d.total >= a.MaxStreams-reserve || len(mine) >= a.MaxStreamsPerRole {
		return nil, false
	}
	sl := &streamSlot{role: role, evicted: make(chan struct{})}
	d.streams[role] = append(mine, sl)
	d.total++
	var once sync.Once
	sl.release = func() {
		once.Do(func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			list := d.streams[role]
			for i, x := range list {
				if x == sl {
					d.streams[role] = append(list[:i:i], list[i+1:]...)
					d.total--
					return
				}
			}
		})
	}
	return sl, true
}

// openStreams counts the event streams open now.
func (d *frontDoor) openStreams() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}
