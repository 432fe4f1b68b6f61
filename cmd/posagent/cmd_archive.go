package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/archive"
)

func newJournalArchiveCmd(path journalPath) *cobra.Command {
	var before string
	c := &cobra.Command{
		Use:   "archive --before DATE OUT",
		Short: "Copy the history before DATE into an archive file OUT that check verifies and export reads (agent stopped)",
		Long: `Write the final payments created before DATE (with their refunds, history
and order ids) and the events stamped before it (the audit trail among
them) into a new file OUT, which must not exist. OUT is a journal file: it
is written beside its final name, fsynced, checked and compared with what
was written before it takes that name, and then

  posagent journal check --file OUT     verifies it
  posagent export --archive OUT         exports its payments and audit trail

DATE is a date (2026-01-01: midnight in the shop's time zone) or an RFC 3339
time, not in the future. The journal is only read: nothing leaves it here.
Final payments leave the live journal by retention (store.retention), once
a Z report, a verified backup and the back-office feed hold them; archive
the history you keep before it reaches that age.

The journal must not be held by a running agent (stop it first:
systemctl stop posagent), or archive a copy while it runs:
  posagent journal backup /tmp/now.db
  posagent journal archive --file /tmp/now.db --before DATE OUT`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, cfg, err := path()
			if err != nil {
				return err
			}
			at, err := parseBefore(before, cfgLocation(cfg), time.Now())
			if err != nil {
				return err
			}
			res, err := archive.Archive(p, args[0], at, store.CheckOptions{LockTimeout: 200 * time.Millisecond})
			if errors.Is(err, store.ErrLocked) {
				return fmt.Errorf("%s is held by the running agent: stop it first (systemctl stop posagent), or archive a copy while it runs: posagent journal backup /tmp/now.db && posagent journal archive --file /tmp/now.db --before %s %s", p, before, args[0])
			}
			if err != nil {
				return journalExit(err)
			}
			printArchive(cmd.OutOrStdout(), res)
			return nil
		},
	}
	c.Flags().StringVar(&before, "before", "", "archive what is older than this: a date (2026-01-01) or an RFC 3339 time (required)")
	return c
}

func printArchive(w io.Writer, res *archive.Result) {
	fmt.Fprintf(w, "archive %s written and verified: the history of %s before %s\n", res.To, res.From, res.Before.Format(time.RFC3339Nano))
	fmt.Fprintf(w, "  %d payments, %d order ids, %d events", res.Payments, res.Orders, res.Events)
	if res.Events > 0 {
		fmt.Fprintf(w, " (#%d to #%d)", res.FirstEvent, res.LastEvent)
	}
	fmt.Fprintf(w, ", %d KiB\n", res.Check.Size/1024)
	if res.NotFinal > 0 {
		fmt.Fprintf(w, "  %d payments created before then are not final yet and are not in the archive\n", res.NotFinal)
	}
	fmt.Fprintf(w, "the journal was not modified. Read the archive with: posagent export --archive %s\n", res.To)
}

// parseBefore reads archive's --before: a date (midnight in loc) or an
// RFC 3339 time, not after now.
func parseBefore(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("--before DATE is required: archive what is older than DATE, e.g. --before 2026-01-01")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02", s, loc)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("--before %q: use a date (2026-01-01, midnight in the shop's time zone) or an RFC 3339 time (2026-01-01T00:00:00Z)", s)
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("--before %s is in the future: an archive holds history that is over", s)
	}
	return t, nil
}

// cfgLocation is the shop's time zone, or the system's without a config.
func cfgLocation(cfg *config.Config) *time.Location {
	if cfg == nil {
		return time.Local
	}
	return daemon.ShopLocation(cfg)
}

// exportArchive writes the export of the archive (or backup) file at path,
// read without the agent, to w.
func exportArchive(w io.Writer, path string, cfg *config.Config, since time.Time, format string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--archive %s: %w", path, err)
	}
	r, err := store.OpenReader(path, store.CheckOptions{LockTimeout: 200 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("--archive %s: the file is held by a running agent: it is a live journal; export it without --archive (through the agent)", path)
	}
	if err != nil {
		return journalExit(fmt.Errorf("--archive %s: %w", path, err))
	}
	defer r.Close()
	return api.WriteExport(w, agent.NewArchiveExport(r, cfgLocation(cfg)), since, format)
}

// exportArchiveTo is export --archive: to outPath, or standard output.
func exportArchiveTo(cmd *cobra.Command, g *globalFlags, archive, outPath string, since time.Time, format string) error {
	cfg, _, _ := loadConfig(g) // only the shop's time zone: none is fine
	w := cmd.OutOrStdout()
	if outPath != "" {
		f, err := os.OpenFile(outPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		w = f
		err = exportArchive(w, archive, cfg, since, format)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return exportArchive(w, archive, cfg, since, format)
}
