package textview

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/posagent/posagent/client"
)

// WriteReload writes what a reload did, as `posagent reload` prints it:
// warnings, then either why nothing was applied or each key applied at
// once and each that needs a restart. It reports whether the file was
// taken (res.OK).
func WriteReload(w io.Writer, res *client.ReloadResult) bool {
	for _, wmsg := range res.Warnings {
		fmt.Fprintln(w, "warning:", wmsg)
	}
	if !res.OK {
		fmt.Fprintf(w, "refused: %s was not applied; the daemon runs on unchanged\n", res.File)
		if res.Error != "" {
			fmt.Fprintln(w, "  "+res.Error)
		}
		for _, p := range res.Problems {
			fmt.Fprintln(w, "  "+p.String())
		}
		return false
	}
	if len(res.Applied) == 0 && len(res.Restart) == 0 {
		fmt.Fprintf(w, "reloaded %s: nothing changed\n", res.File)
		return true
	}
	fmt.Fprintf(w, "reloaded %s\n", res.File)
	for _, c := range res.Applied {
		fmt.Fprintf(w, "  applied  %s: %s -> %s\n", c.Key, c.Old, c.New)
	}
	for _, c := range res.Restart {
		fmt.Fprintf(w, "  restart  %s: %s -> %s (not applied: needs systemctl restart posagent)\n", c.Key, c.Old, c.New)
	}
	return true
}

// WriteAudit writes audit entries as a table (times in the local zone,
// "-" for what is not set), as `posagent audit` prints them.
func WriteAudit(w io.Writer, entries []client.AuditEntry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tCREDENTIAL\tOPERATOR\tAPPROVER\tCLIENT\tPAYMENT\tAMOUNT\tRESULT")
	for _, a := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d %s\n", a.At.Local().Format(time.DateTime), a.Action, a.Credential,
			dash(a.Operator), dash(a.Approver), a.Client, dash(a.Payment), a.Amount, a.Status, a.Result)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
