package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/store"
	"golang.org/x/sync/errgroup"
)

// journalPart is the journal: Run does its maintenance (scheduled backups,
// data-key rotation, online compaction: journalmaint.go) and the
// background check of what the quick check at start left
// (store/bgcheck.go); Close closes the file.
type journalPart struct {
	st     *store.Store
	backup config.Backup
}

func (j *journalPart) Name() string { return "journal" }

func (j *journalPart) Run(ctx context.Context) error {
	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error {
		return maintainJournal(ctx, j.st, j.st.Logger(), journalSchedule{Backup: store.BackupOptions{
			Dir: j.backup.Dir, Every: j.backup.Every, Keep: j.backup.Keep}})
	})
	grp.Go(func() error { return j.st.RunCheck(ctx) })
	return grp.Wait()
}

func (j *journalPart) Close() error { return j.st.Close() }

// OpenJournal is the start path's journal: checked before it is used
// (store.Open reads it with bound checks, checks its invariants and its
// high-water mark, and writes nothing to a file that fails), with the
// warnings logged.
func OpenJournal(cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	// Retention removes only what a Z report and a verified backup hold
	// (and the back-office feed acknowledged, when one registered).
	st, _, err := store.OpenReport(cfg.Store.Path, store.Options{Logger: log.With("part", "store"), GuardRetention: true})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// journalBackupHandler is GET /v1/journal/backup: a consistent copy of the
// journal from one read transaction, while payments go on.
func journalBackupHandler(st *store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="posagent-journal.db"`)
		_, err := st.WriteBackup(w, func(n int64) { w.Header().Set("Content-Length", strconv.FormatInt(n, 10)) })
		if err != nil {
			log.Error("journal backup over the API", "err", err) // the client sees a short body
		}
	})
}
