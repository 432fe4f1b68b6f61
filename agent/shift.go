package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/store"
)

// Shifts. A shift is a period of one lane (Options.TerminalNo) between an
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

// location is the shop's time zone.
func (e *Engine) Location() *time.Location {
	if e.o.Location != nil {
		return e.o.Location
	}
	return time.Local
}

// CurrentShift returns the open shift, or nil.
func (e *Engine) CurrentShift() (*store.Shift, error) {
	var sh *store.Shift
	err := e.st.View(func(tx *store.Tx) (err error) {
		sh, err = tx.OpenShift()
		return err
	})
	if sh != nil {
		e.localShift(sh)
	}
	return sh, err
}

func (e *Engine) localShift(sh *store.Shift) {
	loc := e.Location()
	sh.OpenedAt = sh.OpenedAt.In(loc)
	if !sh.ClosedAt.IsZero() {
		sh.ClosedAt = sh.ClosedAt.In(loc)
	}
}

// OpenShift opens a shift (shift_open when one is open).
func (e *Engine) OpenShift(by string) (*store.Shift, error) {
	if len(by) > 64 {
		return nil, errf(CodeInvalidField, "operator is at most 64 characters")
	}
	var sh *store.Shift
	err := e.st.Update(func(tx *store.Tx) error {
		cur, err := tx.OpenShift()
		if err != nil {
			return err
		}
		if cur != nil {
			return errf(CodeShiftOpen, "shift %d is open since %s: close it (Z report) first", cur.No, cur.OpenedAt.In(e.Location()).Format(time.DateTime))
		}
		sh, err = e.newShift(tx, by, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	e.localShift(sh)
	return sh, nil
}

func (e *Engine) newShift(tx *store.Tx, by string, auto bool) (*store.Shift, error) {
	now := e.now()
	sh := &store.Shift{Lane: e.o.TerminalNo, OpenedAt: now, OpenedBy: by, AutoOpened: auto}
	if err := tx.NewShift(sh); err != nil {
		return nil, err
	}
	if auto {
		return sh, nil // silently, with the first payment: its events are the payment's
	}
	_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
		return json.Marshal(map[string]any{"seq": seq, "kind": KindShiftOpened, "at": now, "shift": sh})
	})
	return sh, err
}

// shiftNo is the number of the open shift, opening one when none is
// (inside the payment's or refund's transaction). This is where payments
// and refunds are stamped with their shift.
func (e *Engine) shiftNo(tx *store.Tx) (uint64, error) {
	sh, err := tx.OpenShift()
	if err != nil {
		return 0, err
	}
	if sh == nil {
		if sh, err = e.newShift(tx, "", true); err != nil {
			return 0, err
		}
	}
	return sh.No, nil
}

// CloseShift closes the open shift with its Z report (no_open_shift).
// The shift's end, the report with its checksum and the report.z event
// are one transaction: after a crash either all exist or none, and a Z
// number once committed is never used again. The reconciliation with the
// gateway starts in the background (after a random delay up to
// Options.ReconcileSpread).
func (e *Engine) CloseShift(by string, auto bool) (*Report, error) {
	if len(by) > 64 {
		return nil, errf(CodeInvalidField, "operator is at most 64 characters")
	}
	var rep *Report
	err := e.st.Update(func(tx *store.Tx) error {
		sh, err := tx.OpenShift()
		if err != nil {
			return err
		}
		if sh == nil {
			return errf(CodeNoOpenShift, "no shift is open: there is nothing to close")
		}
		now := e.now()
		sh.ClosedAt, sh.ClosedBy, sh.AutoClosed = now, by, auto
		rep, err = e.buildReport(tx, sh, "z", now)
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
	e.log.Info("agent: shift closed with a Z report", "z", rep.Z, "shift", rep.Shift.No, "net", rep.Net, "in_doubt", len(rep.InDoubt), "auto", auto)
	e.reconcileLater(rep.Z, true)
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
func (e *Engine) shiftLoop(ctx context.Context) {
	if e.o.CloseAt == "" {
		return
	}
	at, err := parseCloseAt(e.o.CloseAt)
	if err != nil {
		e.log.Error("agent: automatic shift close off", "err", err)
		return
	}
	var handled time.Time
	for {
		now := e.now()
		b := lastBoundary(now, e.Location(), at)
		sh, err := e.CurrentShift()
		switch {
		case err != nil:
			e.storeError("shift: read the open shift", err)
		case sh != nil && sh.OpenedAt.Before(b):
			if _, err := e.CloseShift("", true); err != nil {
				e.storeError("shift: automatic close", err)
			}
		case sh == nil && !handled.IsZero() && b.After(handled):
			var last uint64
			e.st.View(func(tx *store.Tx) error { last = tx.LastZ(); return nil })
			if last > 0 {
				e.reconcileLater(last, true)
			}
		}
		handled = b
		next := lastBoundary(now, e.Location(), at).AddDate(0, 0, 1)
		wait := min(next.Sub(now)+time.Second, time.Minute)
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(wait):
		}
	}
}
