// Package outbox runs the journal's durable follow-ups (store.Job: the
// reconciler's queries of in-doubt payments, refunds, receipts) on a
// bounded pool of workers.
//
// The jobs live in the journal, written in the same transaction as the
// change that needs them, so they survive a crash; this package only
// decides when each runs. A Pool reads the due end of the outbox's time
// index (never the whole bucket), starts at most Workers jobs at once,
// never starts a job twice, and sleeps until the next job is due or it is
// kicked (a commit queued a job, a job ended). A job is run by the
// engine's Runner, which lets its worker slot go (free) once its gateway
// call or print is over and then commits what it learnt: the commits of
// several jobs share one fsync while the next calls go out.
//
// Time: a job due further out than the horizon (the longest backoff) was
// scheduled before the wall clock went back, and is made due now. Delays
// come from Backoff and Jitter, which spread a fleet's retries so that
// terminals whose calls failed together during a gateway outage do not
// come back in step.
package outbox
