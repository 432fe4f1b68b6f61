package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
)

// exportDoc is the JSON export as posagent export writes it.
type exportDoc struct {
	Payments []json.RawMessage `json:"payments"`
	Audit    []struct {
		Seq uint64    `json:"seq"`
		At  time.Time `json:"at"`
	} `json:"audit"`
}

// TestJournalArchive: posagent journal archive on a journal the daemon
// wrote, then journal check and export --archive on what it wrote, as a
// technician runs them.
func TestJournalArchive(t *testing.T) {
	tp := realJournal(t)
	dir := t.TempDir()
	path := tp.place(t, dir)
	cf := filepath.Join(dir, "posagent.yaml")
	journalConfig(t, dir, path)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"--config", cf}, args...))
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	export := func(file string) exportDoc {
		t.Helper()
		out, err := run("export", "--archive", file, "--format", "json")
		if err != nil {
			t.Fatalf("export --archive %s: %v\n%s", file, err, out)
		}
		var d exportDoc
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("export --archive %s: %v\n%s", file, err, out)
		}
		return d
	}
	// The whole journal, read as a file (the agent is stopped).
	all := export(path)
	if len(all.Payments) != 40 || len(all.Audit) == 0 {
		t.Fatalf("the journal exports %d payments and %d audit entries, want 40 and some", len(all.Payments), len(all.Audit))
	}
	// Cut between the 25th and the 26th payment.
	var created []time.Time
	for _, raw := range all.Payments {
		var p struct {
			CreatedAt time.Time `json:"created_at"`
		}
		json.Unmarshal(raw, &p)
		created = append(created, p.CreatedAt)
	}
	before := created[25]
	if !created[24].Before(before) {
		t.Fatalf("payments 24 and 25 were created at the same time %s", before)
	}
	hash := fileHash(path)
	out := filepath.Join(dir, "archive-2026.db")
	msg, err := run("journal", "archive", "--before", before.Format(time.RFC3339Nano), out)
	if err != nil || !strings.Contains(msg, "written and verified") || !strings.Contains(msg, " 25 payments") {
		t.Fatalf("archive: %v\n%s", err, msg)
	}
	t.Logf("posagent journal archive:\n%s", msg)
	if fileHash(path) != hash {
		t.Error("archive modified the journal")
	}
	if msg, err := run("journal", "check", "--file", out); err != nil || !strings.Contains(msg, "result: sound") || !strings.Contains(msg, "25 payments (0 open)") ||
		!strings.Contains(msg, "an archive (posagent journal archive): the history before") {
		t.Fatalf("check of the archive: %v\n%s", err, msg)
	} else {
		t.Logf("posagent journal check --file %s:\n%s", out, msg)
	}
	// export --archive gives the archived payments exactly as the journal
	// does, and the audit entries stamped before the cut.
	got := export(out)
	if len(got.Payments) != 25 {
		t.Fatalf("the archive exports %d payments, want 25", len(got.Payments))
	}
	for i, raw := range got.Payments {
		if !bytes.Equal(raw, all.Payments[i]) {
			t.Fatalf("payment %d from the archive:\n%s\nfrom the journal:\n%s", i, raw, all.Payments[i])
		}
	}
	var wantAudit []uint64
	for _, a := range all.Audit {
		if a.At.Before(before) {
			wantAudit = append(wantAudit, a.Seq)
		}
	}
	var gotAudit []uint64
	for _, a := range got.Audit {
		gotAudit = append(gotAudit, a.Seq)
	}
	if len(wantAudit) == 0 || !slices.Equal(gotAudit, wantAudit) {
		t.Fatalf("the archive's audit trail is %v, want %v", gotAudit, wantAudit)
	}
	// The CSV export reads it too: the header and the first 25 rows of
	// the running agent's own export of the journal.
	csvOut := filepath.Join(dir, "archive.csv")
	if msg, err := run("export", "--archive", out, "--out", csvOut); err != nil {
		t.Fatalf("export --archive (csv): %v\n%s", err, msg)
	}
	b, _ := os.ReadFile(csvOut)
	agentCSV := agentExport(t, path, "--format", "csv")
	lines := strings.SplitAfter(agentCSV, "\n")
	if len(lines) < 27 || string(b) != strings.Join(lines[:26], "") {
		t.Fatalf("CSV export of the archive:\n%s\nthe agent's:\n%s", b, agentCSV)
	}
	var live exportDoc
	if err := json.Unmarshal([]byte(agentExport(t, path, "--format", "json")), &live); err != nil || len(live.Payments) != 40 {
		t.Fatalf("the agent's JSON export: %v, %d payments", err, len(live.Payments))
	}
	for i, raw := range got.Payments {
		if !bytes.Equal(raw, live.Payments[i]) {
			t.Fatalf("payment %d from the archive:\n%s\nfrom the agent:\n%s", i, raw, live.Payments[i])
		}
	}

	// The agent does not start on an archive.
	ah := fileHash(out)
	adir := t.TempDir()
	err = runDaemon(context.Background(), journalConfig(t, adir, out), slog.New(slog.DiscardHandler), func(running) { t.Error("the agent started on an archive") })
	if !errors.Is(err, store.ErrArchive) || !strings.Contains(err.Error(), "posagent export --archive") {
		t.Errorf("run on an archive: %v", err)
	}
	if fileHash(out) != ah {
		t.Error("the agent wrote to the archive it refused")
	}

	// An existing OUT is refused, and kept as it was.
	if msg, err := run("journal", "archive", "--before", before.Format(time.RFC3339Nano), out); err == nil || !strings.Contains(err.Error(), "the file exists") {
		t.Fatalf("archive to an existing file: %v\n%s", err, msg)
	}
	if fileHash(out) != ah {
		t.Error("archive overwrote an existing file")
	}

	// A damaged archive fails check and export.
	dmg := filepath.Join(dir, "damaged.db")
	copyTo(t, out, dmg)
	randomPage(t, dmg, pageOf(t, dmg, "leaf", "payments"), 5)
	var ee exitError
	if msg, err := run("journal", "check", "--file", dmg); !errors.As(err, &ee) || ee.code != exitJournalDamaged || !strings.Contains(msg, "DAMAGE") {
		t.Fatalf("check of a damaged archive: %v\n%s", err, msg)
	}
	if msg, err := run("export", "--archive", dmg); !errors.As(err, &ee) || ee.code != exitJournalDamaged {
		t.Fatalf("export of a damaged archive: %v\n%s", err, msg)
	}
}

// TestJournalArchiveRefused: a bad or missing date, and a journal a
// running agent holds, each get their own clear error, and no file.
func TestJournalArchiveRefused(t *testing.T) {
	tp := realJournal(t)
	dir := t.TempDir()
	path := tp.place(t, dir)
	cf := filepath.Join(dir, "posagent.yaml")
	journalConfig(t, dir, path)
	run := func(args ...string) error {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"--config", cf}, args...))
		return root.ExecuteContext(context.Background())
	}
	out := filepath.Join(dir, "a.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"journal", "archive", out}, "--before DATE is required"},
		{[]string{"journal", "archive", "--before", "last year", out}, `--before "last year": use a date (2026-01-01`},
		{[]string{"journal", "archive", "--before", "2026-13-01", out}, `--before "2026-13-01"`},
		{[]string{"journal", "archive", "--before", time.Now().AddDate(1, 0, 0).Format("2006-01-02"), out}, "is in the future"},
		{[]string{"export", "--archive", filepath.Join(dir, "none.db")}, "--archive " + filepath.Join(dir, "none.db")},
	} {
		if err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	held, err := store.Open(path, store.Options{CompactFree: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	err = run("journal", "archive", "--before", "2026-01-01", out)
	if err == nil || !strings.Contains(err.Error(), "held by the running agent: stop it first") || !strings.Contains(err.Error(), "posagent journal backup") {
		t.Errorf("archive of a held journal: %v", err)
	}
	if err := run("export", "--archive", path); err == nil || !strings.Contains(err.Error(), "held by a running agent") {
		t.Errorf("export --archive of a held journal: %v", err)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Error("a refused archive left a file")
	}
	if m, _ := filepath.Glob(out + ".tmp*"); len(m) > 0 {
		t.Errorf("a refused archive left %v", m)
	}
}

// agentExport runs posagent export against a daemon started on the journal
// at path (and stopped again), and returns what it wrote.
func agentExport(t *testing.T, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan running, 1), make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, journalConfig(t, t.TempDir(), path), slog.New(slog.DiscardHandler), func(r running) { ready <- r })
	}()
	var addr string
	select {
	case r := <-ready:
		addr = r.API
	case err := <-done:
		cancel()
		t.Fatalf("daemon: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"--api", addr, "export"}, args...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("export through the agent: %v\n%s", err, out.String())
	}
	return out.String()
}
