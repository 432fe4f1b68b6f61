package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/posagent/posagent/store"
)

// journalSchedule configures maintainJournal: the journal's background
// work the daemon schedules (the store does each piece on request).
type journalSchedule struct {
	Backup store.BackupOptions
	// KeyCheck is how often data keys are rotated and destroyed when no
	// longer needed (default 1 h; keys rotate at store.Options.KeyRotation).
	KeyCheck time.Duration
	// CompactFree: the journal is rewritten without its free pages
	// (store.Store.CompactIfDue) when they take this many bytes and half
	// its pages, no payment is being taken and nothing was committed for
	// CompactIdle (0: store.DefaultCompactFree; negative: never).
	// CompactCheck is how often that is looked at (default 10 min);
	// CompactIdle defaults to 1 min.
	CompactFree  int64
	CompactIdle  time.Duration
	CompactCheck time.Duration
}

func (o *journalSchedule) defaults() {
	if o.Backup.Every <= 0 {
		o.Backup.Every = 24 * time.Hour
	}
	if o.Backup.Keep <= 0 {
		o.Backup.Keep = 7
	}
	if o.KeyCheck <= 0 {
		o.KeyCheck = time.Hour
	}
	if o.CompactCheck <= 0 {
		o.CompactCheck = 10 * time.Minute
	}
}

// maintainJournal runs the journal's background work until ctx ends:
// scheduled backups (when o.Backup.Dir is set; the first one is due
// o.Backup.Every after the newest backup already in the directory),
// data-key rotation, and the online compaction (o.CompactFree).
// Cancellation is not an error; failures are logged and shown by
// store.Store.BackupStatus, and never stop the agent.
func maintainJournal(ctx context.Context, st *store.Store, log *slog.Logger, o journalSchedule) error {
	o.defaults()
	now := time.Now()
	var nextBackup time.Time
	if o.Backup.Dir != "" {
		nextBackup = now
		if newest, ok := st.NoteBackupDir(o.Backup.Dir); ok {
			nextBackup = newest.Add(o.Backup.Every)
		}
	}
	nextKeys, nextCompact := now, now.Add(o.CompactCheck)
	for {
		now := time.Now()
		if o.CompactFree >= 0 && !now.Before(nextCompact) {
			st.CompactIfDue(o.CompactFree, o.CompactIdle)
			nextCompact = now.Add(o.CompactCheck)
		}
		if !now.Before(nextKeys) {
			if r, err := st.RotateKeys(false); err != nil {
				log.Error("store: rotate data keys", "err", err)
			} else if r.New != 0 || len(r.Destroyed) > 0 {
				log.Info("store: data keys rotated", "new", r.New, "destroyed", r.Destroyed)
			}
			nextKeys = now.Add(o.KeyCheck)
		}
		if o.Backup.Dir != "" && !now.Before(nextBackup) {
			if p, err := st.BackupNow(o.Backup); err != nil {
				log.Error("store: scheduled backup failed", "err", err)
				nextBackup = now.Add(min(o.Backup.Every, 10*time.Minute))
			} else {
				log.Info("store: backup written and verified", "path", p)
				nextBackup = now.Add(o.Backup.Every)
			}
		}
		wait := nextKeys.Sub(now)
		if o.CompactFree >= 0 {
			wait = min(wait, nextCompact.Sub(now))
		}
		if o.Backup.Dir != "" {
			wait = min(wait, nextBackup.Sub(now))
		}
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
