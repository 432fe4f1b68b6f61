// Package dupguard is the possible-duplicate warning: a new payment for
// the same amount as one that failed or is in doubt within a window (10
// minutes by default) carries a warning for the cashier, because a
// customer asked to pay again after a scan that failed or hangs may pay
// twice. Nothing is refused: the payment goes on, and the warning names
// the earlier one (Warnings).
//
// The engine (package agent) asks Guard.Of inside the commit of every new
// payment, so the lookup must cost the payments of that amount, not the
// window's: the Guard keeps, by amount, the payments written failed or in
// doubt within the window (Note, called by every payment write; Load at
// start, from the journal's state index), and checks each candidate's
// state as committed in the transaction it is given (store.Tx.StateOf): a
// candidate whose write was undone, or that has since been paid, is not
// named. No payment is decoded.
//
// The Guard keeps its own state behind its own mutex. It reads the
// journal (package store) and nothing of the engine.
package dupguard
