package daemon

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/store"
)

// ExportArchive writes the export of the archive (store/archive) or
// backup file at path, read without the agent, to w: the payments created
// since since, as CSV or JSON with the same columns and members as GET
// /v1/export, times in loc. The errors name the file as `posagent export
// --archive` does; a live journal held by a running agent is refused.
func ExportArchive(w io.Writer, path string, loc *time.Location, since time.Time, format string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--archive %s: %w", path, err)
	}
	r, err := store.OpenReader(path, store.CheckOptions{LockTimeout: 200 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("--archive %s: the file is held by a running agent: it is a live journal; export it without --archive (through the agent)", path)
	}
	if err != nil {
		return fmt.Errorf("--archive %s: %w", path, err)
	}
	defer r.Close()
	return api.WriteExport(w, view.NewArchive(r, loc), since, format)
}
