package store

import (
	"encoding/binary"
	"fmt"
)

// Guarded retention. With Options.GuardRetention (the agent sets it),
// Compact removes a final payment, its events and its index entries from
// the live journal only once, besides being older than the retention:
//
//   - the payment and each of its refunds are in a Z report (their shift
//     was closed with one);
//   - a verified backup holds them: the last event about the payment is
//     at or before the event sequence of the newest scheduled backup the
//     agent wrote and verified (BackupNow; meta "retention/backup_seq");
//   - when a back-office feed registered itself (SetFeedAck), the feed
//     acknowledged that event (meta "retention/feed_ack").
//
// Events are removed under the same bounds. Without a verified backup
// nothing is removed.

var (
	kBackupSeq = []byte("retention/backup_seq")
	kFeedAck   = []byte("retention/feed_ack")
)

// SetFeedAck records that the back-office feed acknowledged every event up
// to seq (it never moves back). From the first call on, guarded retention
// removes nothing the feed has not acknowledged; DropFeedAck ends that
// (the feed was taken out of the configuration).
func (t *Tx) SetFeedAck(seq uint64) error {
	m := t.w().Bucket(bMeta)
	if v := m.Get(kFeedAck); len(v) == 8 && binary.BigEndian.Uint64(v) >= seq {
		return nil
	}
	return m.Put(kFeedAck, u64(seq))
}

// FeedAck is the event sequence the feed acknowledged; ok is false when no
// feed registered.
func (t *Tx) FeedAck() (seq uint64, ok bool) {
	v := t.tx.Bucket(bMeta).Get(kFeedAck)
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// DropFeedAck forgets the feed: retention no longer waits for it.
func (t *Tx) DropFeedAck() error { return t.w().Bucket(bMeta).Delete(kFeedAck) }

// BackupSeq is the event sequence the newest verified scheduled backup
// holds (0: none yet).
func (t *Tx) BackupSeq() uint64 {
	if v := t.tx.Bucket(bMeta).Get(kBackupSeq); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// noteBackup records that a verified backup holds every event up to seq.
func (s *Store) noteBackup(seq uint64) error {
	return s.Update(func(t *Tx) error {
		if t.BackupSeq() >= seq {
			return nil
		}
		return t.w().Bucket(bMeta).Put(kBackupSeq, u64(seq))
	})
}

// retentionGuard decides what guarded retention may remove.
type retentionGuard struct {
	t     *Tx
	bound uint64          // events up to this sequence may go
	zOf   map[uint64]bool // shift -> closed with a Z report
}

func (t *Tx) retentionGuard() *retentionGuard {
	g := &retentionGuard{t: t, bound: t.BackupSeq(), zOf: map[uint64]bool{}}
	if ack, ok := t.FeedAck(); ok {
		g.bound = min(g.bound, ack)
	}
	return g
}

// inZ reports whether shift no was closed with a Z report.
func (g *retentionGuard) inZ(no uint64) bool {
	if no == 0 {
		return false // a payment from before shifts: in no Z report
	}
	z, ok := g.zOf[no]
	if !ok {
		sh, err := g.t.Shift(no)
		z = err == nil && sh.Z != 0
		g.zOf[no] = z
	}
	return z
}

// allows reports whether a final payment old enough may be removed.
func (g *retentionGuard) allows(p *Payment) bool {
	if !g.inZ(p.Shift) {
		return false
	}
	for _, r := range p.Refunds {
		if !g.inZ(r.Shift) {
			return false
		}
	}
	el := g.t.tx.Bucket(bEvLast)
	if el == nil {
		return false
	}
	v := el.Get([]byte(p.ID))
	return len(v) == 8 && binary.BigEndian.Uint64(v) <= g.bound
}

func (g *retentionGuard) String() string { return fmt.Sprintf("events up to #%d", g.bound) }
