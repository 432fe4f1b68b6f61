package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/backup"
	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/offline"
)

// Exit codes of a journal that must not be used as it is (run, journal check).
const (
	exitJournalDamaged  = 3 // damaged: salvage it or restore a backup
	exitJournalRollback = 4 // behind its high-water mark: restore, or accept-rollback
)

// journalExit turns a journal error into the exit code a technician's
// script can act on; other errors pass through.
func journalExit(err error) error {
	switch {
	case errors.Is(err, store.ErrCorrupt):
		return exitError{code: exitJournalDamaged, msg: err.Error(), err: err}
	case errors.Is(err, store.ErrRolledBack):
		return exitError{code: exitJournalRollback, msg: err.Error(), err: err}
	}
	return err
}

func newJournalCmd(g *globalFlags) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "journal",
		Short: "Check, salvage, back up, restore and archive the payment journal (technicians)",
		Long: `Tools for the payment journal (store.path, or --file).

The agent checks the journal every time it starts and refuses one that is
damaged (exit code 3) or older than its high-water mark (exit code 4),
without writing to it. These commands say what is wrong and repair it:

  check              read-only: every page, every record, the high-water mark
  salvage OUT        copy every readable record into a new journal OUT
  backup OUT         a consistent copy, also while the agent runs
  restore IN         put a backup or a salvaged journal in place (agent stopped)
  compact            rewrite the journal without its free pages (agent stopped)
  archive --before DATE OUT   copy the history before DATE into an archive OUT
                     (agent stopped; read it with posagent export --archive OUT)
  accept-rollback    accept that the journal went back in time (recorded)

The file being repaired is never modified: restore keeps it beside the
journal as posagent.db.replaced-TIME.`,
	}
	c.PersistentFlags().StringVar(&file, "file", "", "the journal file (default: store.path from the config)")
	path := func() (string, *config.Config, error) {
		cfg, _, err := loadConfig(g)
		if file != "" {
			return file, cfg, nil
		}
		if err != nil && cfg == nil {
			return "", nil, err
		}
		return cfg.Store.Path, cfg, nil
	}
	c.AddCommand(newJournalCheckCmd(path), newJournalSalvageCmd(path), newJournalBackupCmd(g, path),
		newJournalRestoreCmd(path), newJournalAcceptCmd(path), newJournalCompactCmd(path), newJournalArchiveCmd(path))
	return c
}

type journalPath func() (string, *config.Config, error)

func newJournalCheckCmd(path journalPath) *cobra.Command {
	var asJSON, pages bool
	c := &cobra.Command{
		Use:   "check",
		Short: "Check the journal without modifying it and print what is wrong",
		Long: `Read every page of the journal with bound checks, decode every record, check
the journal's invariants (each payment's order ids are indexed, outbox jobs
name existing payments, the event sequence has no gap) and bbolt's own
consistency check, and compare it with its high-water mark. Nothing is
written. Exit status: 0 sound (warnings allowed), 3 damaged, 4 rolled back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, err := path()
			if err != nil {
				return err
			}
			rep, err := store.Inspect(p, store.CheckOptions{})
			if errors.Is(err, store.ErrLocked) {
				return fmt.Errorf("%s is held by the running agent, which checked it when it started. To check it now: posagent journal backup /tmp/now.db && posagent journal check --file /tmp/now.db", p)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.Encode(rep)
			} else {
				rep.WriteText(out)
			}
			if pages && !rep.Missing && !rep.Empty {
				if ps, err := check.Pages(p); err == nil {
					check.WritePages(out, ps)
				}
			}
			switch {
			case rep.Damaged():
				return exitError{code: exitJournalDamaged}
			case rep.Rollback != nil:
				return exitError{code: exitJournalRollback}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	c.Flags().BoolVar(&pages, "pages", false, "also list every page (type, bucket, entries)")
	return c
}

func newJournalSalvageCmd(path journalPath) *cobra.Command {
	return &cobra.Command{
		Use:   "salvage OUT",
		Short: "Copy every readable record of a (damaged) journal into a new journal OUT",
		Long: `Copy every record that can still be read into a new journal file OUT (which
must not exist), and list what could not be read. The journal itself is
only read. The order index is rebuilt; outbox jobs and idempotency keys of
payments that were lost are left out (and listed). Then put OUT in place
with: posagent journal restore OUT.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _, err := path()
			if err != nil {
				return err
			}
			sr, err := check.Salvage(p, args[0], store.CheckOptions{})
			if errors.Is(err, store.ErrLocked) {
				return fmt.Errorf("%s is held by the running agent: stop it first (systemctl stop posagent)", p)
			}
			out := cmd.OutOrStdout()
			if sr != nil {
				sr.WriteText(out)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "next: check it (posagent journal check --file %s), then put it in place: posagent journal restore %s\n", args[0], args[0])
			return nil
		},
	}
}

func newJournalBackupCmd(g *globalFlags, path journalPath) *cobra.Command {
	return &cobra.Command{
		Use:   "backup OUT",
		Short: "Write a consistent, verified copy of the journal to OUT, also while the agent runs",
		Long: `Write a consistent copy of the journal to OUT (which must not exist) and check
it. While the agent runs, the copy comes from it over the local API
(GET /v1/journal/backup), from one read transaction: payments go on being
taken, and the copy holds every one committed before it started. With the
agent stopped, the journal is checked and copied directly. The data keys of
payment codes are not in the copy: codes of payments still open at the time
of the copy cannot be read from it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _, err := path()
			if err != nil {
				return err
			}
			out := args[0]
			rep, err := backup.Copy(p, out, store.CheckOptions{LockTimeout: 200 * time.Millisecond})
			via := "directly (no agent running)"
			if errors.Is(err, store.ErrLocked) {
				via = "from the running agent"
				rep, err = backupFromAgent(cmd, g, out)
			}
			if err != nil {
				return journalExit(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup %s written %s and verified: %d payments (%d open), %d events (last #%d), %d KiB\n",
				out, via, rep.Payments, rep.Open, rep.Events, rep.LastSeq, rep.Size/1024)
			return nil
		},
	}
}

func backupFromAgent(cmd *cobra.Command, g *globalFlags, out string) (*store.Report, error) {
	c, err := newAPIClient(g)
	if err != nil {
		return nil, err
	}
	rd, err := c.JournalBackup(cmd.Context()) // no overall time-out: a large journal takes a while
	var ae *client.Error
	if errors.As(err, &ae) {
		return nil, fmt.Errorf("the agent refused the backup: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("the journal is held by a running agent, which did not answer: %w", err)
	}
	defer rd.Close()
	return backup.Save(out, rd)
}

func newJournalRestoreCmd(path journalPath) *cobra.Command {
	return &cobra.Command{
		Use:   "restore IN",
		Short: "Put a backup or a salvaged journal IN in place of the journal (agent stopped)",
		Long: `Check IN and put it in place of the journal. Refused while the agent runs
(stop it first: systemctl stop posagent) and when IN is not sound. The
journal that was in place is kept as posagent.db.replaced-TIME. The restore
is recorded in the journal as a journal.restored event, and the event
sequence continues after the last one ever announced.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _, err := path()
			if err != nil {
				return err
			}
			res, err := offline.Restore(p, args[0], store.Options{LockTimeout: 200 * time.Millisecond})
			if err != nil {
				if errors.Is(err, store.ErrLocked) {
					return fmt.Errorf("the agent is running and holds %s: stop it first (systemctl stop posagent), then restore", p)
				}
				return err
			}
			matchOwner(p, store.MarkPath(p), store.KeysPath(p))
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "restored %s from %s (%d payments, %d open, %d events)\n", p, args[0], res.Report.Payments, res.Report.Open, res.Report.Events)
			if res.Replaced != "" {
				fmt.Fprintf(out, "the journal that was in place is kept as %s\n", res.Replaced)
			}
			if res.Rollback != nil {
				fmt.Fprintf(out, "recorded: %s\n", res.Rollback)
				fmt.Fprintln(out, "payments taken after the copy was made are not in it: reconcile them with the OTTPay merchant portal")
			}
			return nil
		},
	}
}

func newJournalCompactCmd(path journalPath) *cobra.Command {
	return &cobra.Command{
		Use:   "compact",
		Short: "Rewrite the journal into a fresh file without its free pages (agent stopped)",
		Long: `Copy every record of the journal into a fresh file packed full, check the
copy and compare it record by record with the journal, then put it in place
(the high-water mark follows; the key file is unchanged). Refused while the
agent runs (stop it first: systemctl stop posagent) and when the journal is
not sound. The agent does the same by itself at start when the free pages
take 16 MiB and half the file. Recorded as a journal.compacted event.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, err := path()
			if err != nil {
				return err
			}
			res, err := store.CompactFile(p, store.Options{LockTimeout: 200 * time.Millisecond})
			if err != nil {
				if errors.Is(err, store.ErrLocked) {
					return fmt.Errorf("the agent is running and holds %s: stop it first (systemctl stop posagent), then compact", p)
				}
				return err
			}
			matchOwner(p, store.MarkPath(p), store.KeysPath(p))
			fmt.Fprintf(cmd.OutOrStdout(), "compacted %s: %d -> %d bytes in use (%d were free); %d payments, %d events\n",
				p, res.Before, res.After, res.FreeBefore, res.Report.Payments, res.Report.Events)
			return nil
		},
	}
}

func newJournalAcceptCmd(path journalPath) *cobra.Command {
	var note string
	c := &cobra.Command{
		Use:   "accept-rollback",
		Short: "Accept that the journal went back in time or was replaced, so the agent starts on it",
		Long: `When the agent refuses to start because the journal is behind its high-water
mark (exit code 4), and no better file exists, accept the journal as it is.
The acceptance is recorded in the journal (a journal.rollback_accepted event
with what was expected and what was found), and the event sequence moves
past every sequence already announced. A damaged journal is still refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, err := path()
			if err != nil {
				return err
			}
			r, err := offline.AcceptRollback(p, store.Options{LockTimeout: 200 * time.Millisecond}, note)
			if err != nil {
				if errors.Is(err, store.ErrLocked) {
					return fmt.Errorf("the agent is running and holds %s, so there is nothing to accept", p)
				}
				return journalExit(err)
			}
			matchOwner(p, store.MarkPath(p), store.KeysPath(p))
			if r == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is not behind its high-water mark: nothing to accept\n", p)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "accepted and recorded in the journal: %s\n", r)
			return nil
		},
	}
	c.Flags().StringVar(&note, "note", "", "why (recorded with the acceptance), e.g. \"SD card replaced, ticket 1234\"")
	return c
}

// matchOwner gives files a root-run repair created to the owner of their
// directory (the service user), so the agent can open them.
func matchOwner(paths ...string) {
	if os.Geteuid() != 0 || len(paths) == 0 {
		return
	}
	fi, err := os.Stat(filepath.Dir(paths[0]))
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	for _, p := range paths {
		_ = os.Lchown(p, int(st.Uid), int(st.Gid))
	}
}
