package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

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
			at, err := archive.ParseBefore(before, cfgLocation(cfg), time.Now())
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
			res.WriteText(cmd.OutOrStdout())
			return nil
		},
	}
	c.Flags().StringVar(&before, "before", "", "archive what is older than this: a date (2026-01-01) or an RFC 3339 time (required)")
	return c
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
	return journalExit(daemon.ExportArchive(w, path, cfgLocation(cfg), since, format))
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
