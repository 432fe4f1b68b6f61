package agent

import "github.com/posagent/posagent/store"

// shiftNo is the number of the open shift, opening one when none is
// (inside the payment's or refund's transaction): the first payment with
// no shift open opens one silently (auto_opened; its events are the
// payment's). This is where payments and refunds are stamped with their
// shift; the shifts themselves, opened and closed by hand or at
// close_at, and their reports are agent/books.
func (e *Engine) shiftNo(tx *store.Tx) (uint64, error) {
	sh, err := tx.OpenShift()
	if err != nil {
		return 0, err
	}
	if sh == nil {
		sh = &store.Shift{Lane: e.o.TerminalNo, OpenedAt: e.now(), AutoOpened: true}
		if err := tx.NewShift(sh); err != nil {
			return 0, err
		}
	}
	return sh.No, nil
}
