package check

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// WriteText writes the report for a technician, as `posagent journal
// check` prints it: what the file holds, each finding (DAMAGE or warn),
// and a result line that says what to do next.
func (rep *Report) WriteText(w io.Writer) {
	switch {
	case rep.Missing:
		fmt.Fprintf(w, "journal %s: no such file\n", rep.Path)
	case rep.Empty:
		fmt.Fprintf(w, "journal %s: empty file (0 bytes)\n", rep.Path)
	default:
		fmt.Fprintf(w, "journal %s: %d KiB, %d pages of %d bytes, transaction %d\n", rep.Path, rep.Size/1024, rep.Pages, rep.PageSize, rep.TxID)
		fmt.Fprintf(w, "  %d payments (%d open), %d order ids, %d outbox jobs, %d idempotency keys, %d events (last #%d)\n",
			rep.Payments, rep.Open, rep.Orders, rep.Jobs, rep.IdemKeys, rep.Events, rep.LastSeq)
	}
	if at := rep.ArchiveBefore; at != nil {
		fmt.Fprintf(w, "  an archive (posagent journal archive): the history before %s; read it with posagent export --archive %s\n", at.Format(time.RFC3339Nano), rep.Path)
	}
	if m := rep.Mark; m != nil {
		fmt.Fprintf(w, "  high-water mark: event #%d, transaction %d, written %s\n", m.Seq, m.TxID, m.At.UTC().Format(time.RFC3339))
	}
	for _, f := range rep.Findings {
		tag := "warn  "
		if f.Damage {
			tag = "DAMAGE"
		}
		fmt.Fprintf(w, "%s %s\n", tag, f)
	}
	switch {
	case rep.Damaged():
		fmt.Fprintln(w, "result: DAMAGED. The agent will not start on this file and has not written to it.")
		fmt.Fprintln(w, "  restore the newest backup:        posagent journal restore BACKUP.db")
		fmt.Fprintln(w, "  or keep every readable record:    posagent journal salvage NEW.db && posagent journal restore NEW.db")
	case rep.Rollback != nil:
		fmt.Fprintf(w, "ROLLBACK %s\n", rep.Rollback)
		fmt.Fprintln(w, "result: BEHIND ITS HIGH-WATER MARK. Put the right file back (posagent journal restore FILE), or accept the loss: posagent journal accept-rollback")
	default:
		fmt.Fprintln(w, "result: sound")
	}
}

// WriteText writes what a salvage copied (per bucket, sorted), and what
// it lost or dropped, as `posagent journal salvage` prints it.
func (sr *SalvageReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "salvaged %s into %s:\n", sr.From, sr.To)
	names := make([]string, 0, len(sr.Copied))
	for b := range sr.Copied {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		fmt.Fprintf(w, "  %-10s %d records\n", b, sr.Copied[b])
	}
	if sr.Rescued > 0 {
		fmt.Fprintf(w, "  (%d of them found on pages whose parent page was lost)\n", sr.Rescued)
	}
	if len(sr.Lost) == 0 && len(sr.Dropped) == 0 {
		fmt.Fprintln(w, "nothing was lost")
	}
	for _, f := range sr.Lost {
		fmt.Fprintf(w, "LOST    %s\n", f)
	}
	for _, d := range sr.Dropped {
		fmt.Fprintf(w, "DROPPED %s\n", d)
	}
}

// WritePages writes one line per page (id, type, bucket, entries), as
// `posagent journal check --pages` prints them.
func WritePages(w io.Writer, ps []PageInfo) {
	for _, pi := range ps {
		fmt.Fprintf(w, "page %6d  %-11s %-10s %d\n", pi.ID, pi.Type, pi.Bucket, pi.Count)
	}
}
