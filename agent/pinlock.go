package agent

import (
	"errors"
	"time"

	"github.com/posagent/posagent/store"
)

// PINAttempt counts one attempt at operator op's PIN in the journal,
// before the PIN is compared, so that neither concurrent guesses nor a
// restart between the guess and its result escape the count. It returns
// how long op stays locked (0: the attempt may go on), and last: this
// attempt is the last before a lock-out. The attempt that makes max starts
// a lock-out of lockout at once; PINAccepted ends it when that attempt's
// PIN was right. The caller runs one attempt per
// operator at a time (the comparison is slow on purpose).
func (e *Engine) PINAttempt(op string, max int, lockout time.Duration) (left time.Duration, last bool, err error) {
	err = e.st.Update(func(tx *store.Tx) error {
		f, err := tx.PINFailures(op)
		if err != nil {
			return err
		}
		now := e.now()
		if !f.LockedUntil.IsZero() {
			left = f.LockedUntil.Sub(now)
			if left > lockout {
				left = lockout // the wall clock went back: never longer than one lock-out
			}
			if left > 0 {
				return errNoChange
			}
			f = store.PINFailures{} // the lock-out is over: a fresh count
			left = 0
		}
		f.N++
		if f.N >= max {
			f.LockedUntil, last = now.Add(lockout), true
		}
		return tx.PutPINFailures(op, f)
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return left, last, err
}

// PINAccepted forgets op's counted attempts: its PIN was right.
func (e *Engine) PINAccepted(op string) error {
	return e.st.Update(func(tx *store.Tx) error { return tx.PutPINFailures(op, store.PINFailures{}) })
}
