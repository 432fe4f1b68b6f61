package archive

import (
	"fmt"
	"io"
	"time"
)

// WriteText writes what Archive wrote, as `posagent journal archive`
// prints it: the records and events in the archive, its size, the
// payments left out because they are not final, and how to read it.
func (res *Result) WriteText(w io.Writer) {
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
