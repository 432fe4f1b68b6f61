package view

import (
	"sort"
	"time"

	"github.com/posagent/posagent/agent/gwmeter"
	"github.com/posagent/posagent/agent/route"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/store"
)

// Status is GET /v1/status.
type Status struct {
	Version       string           `json:"version"`
	StartedAt     time.Time        `json:"started_at"`
	UptimeSeconds float64          `json:"uptime_seconds"`
	Devices       []devices.Status `json:"devices"`
	Gateway       gwmeter.Status   `json:"gateway"`
	Outbox        OutboxStatus     `json:"outbox"`
	Journal       JournalStatus    `json:"journal"`
	OpenPayments  int              `json:"open_payments"`
	Cart          *route.Cart      `json:"cart"`
	// InDoubt lists the payments whose outcome the gateway has not told
	// yet: they keep being reconciled, or a manager resolves them by hand.
	InDoubt []InDoubtPayment `json:"in_doubt"`
	// RefundsInDoubt lists the refunds whose outcome is not known yet
	// (settled from their original order), those a manager must settle
	// (ambiguous) among them, and the refunds waiting behind them.
	RefundsInDoubt []InDoubtRefund `json:"refunds_in_doubt"`
	// Contradicted counts, since start, resolutions by hand the gateway
	// later contradicted.
	Contradicted int         `json:"resolutions_contradicted"`
	Clock        ClockStatus `json:"clock"`
	// StoreErrors counts journal errors in background steps since start.
	StoreErrors int `json:"store_errors"`
}

// InDoubtPayment is one in-doubt payment in /v1/status.
type InDoubtPayment struct {
	ID         string  `json:"id"`
	OrderID    string  `json:"order_id"`
	Amount     int64   `json:"amount"`
	AgeSeconds float64 `json:"age_seconds"`
	// Reversal: it was paid after the sale was abandoned and its
	// automatic refund is under way; Stuck: that refund has not been made
	// for ReversalEscalate (it goes on).
	Reversal bool `json:"reversal,omitempty"`
	Stuck    bool `json:"reversal_stuck,omitempty"`
}

// InDoubtRefund is one refund in /v1/status whose outcome is unknown, or
// that waits behind one.
type InDoubtRefund struct {
	PaymentID  string  `json:"payment_id"`
	RefundID   string  `json:"refund_id"`
	Amount     int64   `json:"amount"`
	State      string  `json:"state"`
	AgeSeconds float64 `json:"age_seconds"`
	Ambiguous  string  `json:"ambiguous,omitempty"`
	Behind     string  `json:"behind,omitempty"`
}

// ClockStatus says whether the wall clock is believed.
type ClockStatus struct {
	Plausible bool   `json:"plausible"`
	Problem   string `json:"problem,omitempty"`
	Jumps     int    `json:"jumps"` // jumps against the monotonic clock since start
}

// OutboxStatus is the outbox part of /v1/status.
type OutboxStatus struct {
	Depth            int            `json:"depth"`
	OldestAgeSeconds float64        `json:"oldest_age_seconds"`
	ByKind           map[string]int `json:"by_kind"`
	LastError        string         `json:"last_error,omitempty"`
}

// JournalStatus is the journal part of /v1/status.
type JournalStatus struct {
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
	LastSeq   uint64 `json:"last_event_seq"`
	// Backup: the newest verified backup (age_seconds -1: none yet).
	Backup store.BackupStatus `json:"backup"`
	// Check: how far the journal was checked (damaged: new payments refused).
	Check store.CheckStatus `json:"check"`
}

// Status reports the engine's state: its live part as the engine tells
// it, the rest from the journal.
func (r *Reader) Status() Status {
	l := r.live()
	s := Status{Version: l.Version, StartedAt: l.StartedAt, UptimeSeconds: l.Uptime.Seconds(),
		Devices: l.Devices, Gateway: l.Gateway, Outbox: r.outboxStatus(l.Now), Cart: l.Cart,
		Journal: r.journalStatus(l.LastSeq), OpenPayments: l.Open, StoreErrors: l.StoreErrors, Contradicted: l.Contradicted,
		Clock: ClockStatus{Plausible: l.ClockProblem == "", Problem: l.ClockProblem, Jumps: l.ClockJumps}}
	s.RefundsInDoubt = r.refundsInDoubt(l.Now, s.Outbox.ByKind[store.JobRefund])
	s.InDoubt = r.inDoubt(l.Now, l.InDoubt)
	return s
}

// inDoubt lists the in-doubt payments among ids (the open payments the
// engine keeps in doubt), read from the journal, oldest id first.
func (r *Reader) inDoubt(now time.Time, ids []string) []InDoubtPayment {
	doubt := append([]string(nil), ids...)
	sort.Strings(doubt)
	out := []InDoubtPayment{}
	r.st.View(func(tx *store.Tx) error {
		for _, id := range doubt {
			if p, err := tx.Payment(id); err == nil && p.State == store.InDoubt {
				out = append(out, InDoubtPayment{ID: p.ID, OrderID: p.OrderID, Amount: p.Amount, AgeSeconds: age(now, p.CreatedAt).Seconds(),
					Reversal: p.PaidLate, Stuck: p.Error != nil && p.Error.Code == "reversal_stuck"})
			}
		}
		return nil
	})
	return out
}

// outboxStatus reads the outbox's counters (store.Tx.OutboxSummary), not
// its jobs.
func (r *Reader) outboxStatus(now time.Time) OutboxStatus {
	o := OutboxStatus{ByKind: map[string]int{}}
	r.st.View(func(tx *store.Tx) error {
		sum, err := tx.OutboxSummary()
		o.Depth, o.ByKind, o.LastError = sum.Depth, sum.ByKind, sum.LastError
		if age := now.Sub(sum.Oldest).Seconds(); sum.Depth > 0 && age > 0 {
			o.OldestAgeSeconds = age
		}
		return err
	})
	return o
}

// maxListedRefunds bounds the refunds /v1/status lists.
const maxListedRefunds = 100

// refundsInDoubt lists the refunds in doubt and those waiting behind one,
// from the outbox's refund jobs (read only when there are some).
func (r *Reader) refundsInDoubt(now time.Time, jobs int) []InDoubtRefund {
	out := []InDoubtRefund{}
	if jobs == 0 {
		return out
	}
	r.st.View(func(tx *store.Tx) error {
		all, err := tx.Jobs()
		if err != nil {
			return err
		}
		for _, j := range all {
			if j.Kind != store.JobRefund || len(out) >= maxListedRefunds {
				continue
			}
			p, err := tx.Payment(j.PaymentID)
			if err != nil {
				continue
			}
			if rf := p.Refund(j.RefundID); rf != nil && (rf.State == store.RefundInDoubt || rf.Behind != "") {
				out = append(out, InDoubtRefund{PaymentID: p.ID, RefundID: rf.ID, Amount: rf.Amount, State: string(rf.State),
					AgeSeconds: age(now, rf.CreatedAt).Seconds(), Ambiguous: rf.Ambiguous, Behind: rf.Behind})
			}
		}
		return nil
	})
	return out
}

// journalStatus is the journal part of /v1/status, with the journal's
// backups (store.backup.*) and how far it was checked.
func (r *Reader) journalStatus(lastSeq uint64) JournalStatus {
	return JournalStatus{Path: r.st.Path(), SizeBytes: r.st.Size(), LastSeq: lastSeq, Backup: r.st.BackupStatus(), Check: r.st.CheckStatus()}
}
