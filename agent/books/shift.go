package books

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/store"
)

// Shifts. A shift is a period of one lane (Options.Lane) between an
// opening and a Z report. Every payment and refund carries the number of
// the shift open when it was created; the first payment with no shift
// open opens one (auto_opened). Closing a shift writes its Z report in the
// same journal transaction. A shift still open at Options.CloseAt (local
// time of day) is closed by itself (auto_closed).

// Shift event kinds.
const (
	KindShiftOpened     = "shift.opened"
	KindReportZ         = "report.z"
	KindReportReconcile = "report.reconciled"
)

// CurrentShift returns the open shift, or nil.
func (b *Books) CurrentShift() (*store.Shift, error) {
	var sh *store.Shift
	err := b.st.View(func(tx *store.Tx) (err error) {
		sh, err = tx.OpenShift()
		return err
	})
	if sh != nil {
		b.localShift(sh)
	}
	return sh, err
}

func (b *Books) localShift(sh *store.Shift) {
	loc := b.Location()
	sh.OpenedAt = sh.OpenedAt.In(loc)
	if !sh.ClosedAt.IsZero() {
		sh.ClosedAt = sh.ClosedAt.In(loc)
	}
}

// OpenShift opens a shift (shift_open when one is open).
func (b *Books) OpenShift(by string) (*store.Shift, error) {
	if len(by) > 64 {
		return nil, errf(operr.CodeInvalidField, "operator is at most 64 characters")
	}
	var sh *store.Shift
	err := b.st.Update(func(tx *store.Tx) error {
		cur, err := tx.OpenShift()
		if err != nil {
			return err
		}
		if cur != nil {
			return errf(operr.CodeShiftOpen, "shift %d is open since %s: close it (Z report) first", cur.No, cur.OpenedAt.In(b.Location()).Format(time.DateTime))
		}
		sh, err = b.newShift(tx, by)
		return err
	})
	if err != nil {
		return nil, err
	}
	b.localShift(sh)
	return sh, nil
}

// newShift opens a shift by hand, with its shift.opened event (the engine
// opens one silently with the first payment when none is: agent.shiftNo).
func (b *Books) newShift(tx *store.Tx, by string) (*store.Shift, error) {
	now := b.now()
	sh := &store.Shift{Lane: b.o.Lane, OpenedAt: now, OpenedBy: by}
	if err := tx.NewShift(sh); err != nil {
		return nil, err
	}
	_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
		return json.Marshal(map[string]any{"seq": seq, "kind": KindShiftOpened, "at": now, "shift": sh})
	})
	return sh, err
}

// CloseShift closes the open shift with its Z report (no_open_shift).
// The shift's end, the report with its checksum and the report.z event
// are one transaction: after a crash either all exist or none, and a Z
// number once committed is never used again. The reconciliation with the
// gateway starts in the background (after a random delay up to
// Options.ReconcileSpread).
func (b *Books) CloseShift(by string, auto bool) (*Report, error) {
	if len(by) > 64 {
		return nil, errf(operr.CodeInvalidField, "operator is at most 64 characters")
	}
	var rep *Report
	err := b.st.Update(func(tx *store.Tx) error {
		sh, err := tx.OpenShift()
		if err != nil {
			return err
		}
		if sh == nil {
			return errf(operr.CodeNoOpenShift, "no shift is open: there is nothing to close")
		}
		now := b.now()
		sh.ClosedAt, sh.ClosedBy, sh.AutoClosed = now, by, auto
		rep, err = b.buildReport(tx, sh, "z", now)
		if err != nil {
			return err
		}
		z, err := tx.AddZ(sh.No, now, func(no uint64) ([]byte, error) {
			rep.Z, rep.Shift.Z = no, no
			for i := range rep.Unsettled {
				if rep.Unsettled[i].Shift == sh.No {
					rep.Unsettled[i].Z = no
				}
			}
			return json.Marshal(rep)
		})
		if err != nil {
			return err
		}
		sh.Z = z.No
		if err := tx.PutShift(sh); err != nil {
			return err
		}
		rep.SHA256 = z.SHA256
		_, err = tx.AppendEvent(func(seq uint64) ([]byte, error) {
			return json.Marshal(map[string]any{"seq": seq, "kind": KindReportZ, "at": now, "z": z.No, "shift": sh.No,
				"sha256": z.SHA256, "sales": rep.Sales, "refunds": rep.Refunds.Amount, "shift_net": rep.ShiftNet, "late": rep.Late.Count, "late_net": rep.Late.Net,
				"net": rep.Net, "in_doubt": len(rep.InDoubt), "unsettled": len(rep.Unsettled)})
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	b.log.Info("agent: shift closed with a Z report", "z", rep.Z, "shift", rep.Shift.No, "net", rep.Net, "in_doubt", len(rep.InDoubt), "auto", auto)
	b.reconcileLater(rep.Z, true)
	return rep, nil
}

// parseCloseAt reads "HH:MM" (Options.CloseAt) as the offset in the day.
func parseCloseAt(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, fmt.Errorf("agent: close_at %q: want HH:MM, 24-hour local time, like 03:00", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// lastBoundary is the latest moment at or before t when the local clock
// of loc read at (the offset in the day). On a day when DST skips that
// time it is the first instant after the gap.
func lastBoundary(t time.Time, loc *time.Location, at time.Duration) time.Time {
	l := t.In(loc)
	h, m := int(at/time.Hour), int(at%time.Hour/time.Minute)
	b := time.Date(l.Year(), l.Month(), l.Day(), h, m, 0, 0, loc)
	if b.After(t) {
		b = time.Date(l.Year(), l.Month(), l.Day()-1, h, m, 0, 0, loc)
	}
	return b
}

// shiftLoop closes a shift still open at the daily boundary (Options.CloseAt)
// and, on a night with no shift to close, reconciles the last Z report
// again. It checks at least every minute, so a wall-clock jump or a
// daemon down at the boundary is caught up.
func (b *Books) shiftLoop(ctx context.Context) {
	if b.o.CloseAt == "" {
		return
	}
	at, err := parseCloseAt(b.o.CloseAt)
	if err != nil {
		b.log.Error("agent: automatic shift close off", "err", err)
		return
	}
	var handled time.Time
	for {
		now := b.now()
		bd := lastBoundary(now, b.Location(), at)
		sh, err := b.CurrentShift()
		switch {
		case err != nil:
			b.eng.StoreError("shift: read the open shift", err)
		case sh != nil && sh.OpenedAt.Before(bd):
			if _, err := b.CloseShift("", true); err != nil {
				b.eng.StoreError("shift: automatic close", err)
			}
		case sh == nil && !handled.IsZero() && bd.After(handled):
			var last uint64
			b.st.View(func(tx *store.Tx) error { last = tx.LastZ(); return nil })
			if last > 0 {
				b.reconcileLater(last, true)
			}
		}
		handled = bd
		next := lastBoundary(now, b.Location(), at).AddDate(0, 0, 1)
		wait := min(next.Sub(now)+time.Second, time.Minute)
		select {
		case <-ctx.Done():
			return
		case <-b.clock.After(wait):
		}
	}
}
