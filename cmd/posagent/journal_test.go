package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
	"github.com/posagent/posagent/daemon/doctor"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/record"
)

// template is a real journal made by real payments through the daemon
// (runDaemon with the simulator): its file, high-water mark and keys.
type template struct {
	db, mark, keys []byte
	codes          []string
}

var (
	templateOnce sync.Once
	templateJ    template
)

// realJournal takes 40 scan payments (some declined, some refunded) and
// three scans through the API of a real daemon (runDaemon with the
// simulator), stops it, and returns its files. Made once per test binary.
func realJournal(t testing.TB) template {
	templateOnce.Do(func() { templateJ = makeJournal(t) })
	if len(templateJ.db) == 0 {
		t.Fatal("could not make the template journal")
	}
	return templateJ
}

func makeJournal(t testing.TB) template {
	var tp template
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	cfg := journalConfig(t, dir, path)
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan running, 1), make(chan error, 1)
	go func() { done <- runDaemon(ctx, cfg, slog.New(slog.DiscardHandler), func(r running) { ready <- r }) }()
	var addr string
	select {
	case r := <-ready:
		addr = r.API
	case err := <-done:
		t.Fatalf("daemon: %v", err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"--api", addr}, args...))
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	for i := range 40 {
		cents := 1000 + i*7
		if i%10 == 3 {
			cents = 1001 // declined
		}
		code := fmt.Sprintf("13%016d", 5_000_000_000_000_000+i)
		tp.codes = append(tp.codes, code)
		out, err := run("pay", fmt.Sprintf("%d.%02d", cents/100, cents%100), "--code", code, "--json")
		if i%8 == 0 && err == nil {
			var p payment
			if j := strings.Index(out, "{"); j >= 0 && json.Unmarshal([]byte(out[j:strings.LastIndex(out, "}")+1]), &p) == nil {
				run("refund", p.ID, "1.00")
			}
		}
	}
	// Scans a POS sees echoed: a barcode, and payment codes in disguise.
	for _, c := range []string{"4006381333931", "]Q1134567890123456789", "PAY:1345\u200e67890123456788;"} {
		body, _ := json.Marshal(map[string]any{"code": c, "device": "counter"})
		if resp, err := http.Post("http://"+addr+"/v1/scans", "application/json", bytes.NewReader(body)); err == nil {
			resp.Body.Close()
		}
	}
	tp.codes = append(tp.codes, "134567890123456789", "134567890123456788")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon: %v", err)
	}
	tp.db, _ = os.ReadFile(path)
	tp.mark, _ = os.ReadFile(store.MarkPath(path))
	tp.keys, _ = os.ReadFile(store.KeysPath(path))
	return tp
}

// place writes the template's files into dir and returns the journal path.
func (tp template) place(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "posagent.db")
	for p, b := range map[string][]byte{path: tp.db, store.MarkPath(path): tp.mark, store.KeysPath(path): tp.keys} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func fileHash(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func randomPage(t testing.TB, path string, id uint64, seed uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(seed, id))
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if _, err := f.WriteAt(b, int64(id)*4096); err != nil {
		t.Fatal(err)
	}
}

func pageOf(t testing.TB, path, typ, bucket string) uint64 {
	t.Helper()
	ps, err := check.Pages(path)
	if err != nil {
		t.Fatal(err)
	}
	var found []uint64
	for _, p := range ps {
		if p.Type == typ && (bucket == "" || p.Bucket == bucket) {
			found = append(found, p.ID)
		}
	}
	if len(found) == 0 {
		t.Fatalf("the template journal has no %s page in %q", typ, bucket)
	}
	return found[len(found)/2]
}

// TestJournalDamageMatrix: the start path (runDaemon, as posagent run)
// over damaged copies of a real journal. Each case has one outcome: the
// agent refuses with an exit code and a message naming the problem, or it
// starts (with a warning where one is due). A refused file is byte for
// byte what it was; nothing panics.
func TestJournalDamageMatrix(t *testing.T) {
	tp := realJournal(t)
	type outcome struct {
		exit int    // 0: started
		want string // in the error (refused) or the log (started)
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
		outcome
	}{
		{"sound journal", func(*testing.T, string) {}, outcome{0, "posagent running"}},
		{"zero-length file", func(t *testing.T, p string) { os.Truncate(p, 0) }, outcome{exitJournalRollback, "the journal file is empty (0 bytes)"}},
		{"file missing", func(t *testing.T, p string) { os.Remove(p) }, outcome{exitJournalRollback, "the journal file is missing"}},
		{"truncated to 100 bytes", func(t *testing.T, p string) { os.Truncate(p, 100) }, outcome{exitJournalDamaged, "page 1: meta page damaged"}},
		{"truncated to one page", func(t *testing.T, p string) { os.Truncate(p, 4096) }, outcome{exitJournalDamaged, "truncated: the file has 4096 bytes"}},
		{"truncated to half", func(t *testing.T, p string) { os.Truncate(p, int64(len(tp.db)/2/4096*4096)) }, outcome{exitJournalDamaged, "truncated: the file has"}},
		{"last page in use cut", func(t *testing.T, p string) { os.Truncate(p, inUse(t, p)-100) }, outcome{exitJournalDamaged, "truncated: the file has"}},
		{"unused tail cut", func(t *testing.T, p string) { os.Truncate(p, inUse(t, p)) }, outcome{0, "posagent running"}},
		{"zeroed file", func(t *testing.T, p string) { os.WriteFile(p, make([]byte, len(tp.db)), 0o600) }, outcome{exitJournalDamaged, "not a bbolt journal: no valid meta page"}},
		{"random bytes in meta page 0", func(t *testing.T, p string) { randomPage(t, p, 0, 1) }, outcome{exitJournalDamaged, "page 0: meta page damaged"}},
		{"random bytes in meta page 1", func(t *testing.T, p string) { randomPage(t, p, 1, 1) }, outcome{exitJournalDamaged, "page 1: meta page damaged"}},
		{"random bytes in a branch page", func(t *testing.T, p string) { randomPage(t, p, pageOf(t, p, "branch", ""), 2) }, outcome{exitJournalDamaged, "holds foreign bytes"}},
		{"random bytes in a payments leaf", func(t *testing.T, p string) { randomPage(t, p, pageOf(t, p, "leaf", "payments"), 3) }, outcome{exitJournalDamaged, "holds foreign bytes"}},
		{"random bytes in the freelist", func(t *testing.T, p string) { randomPage(t, p, pageOf(t, p, "freelist", ""), 4) }, outcome{exitJournalDamaged, "freelist unreadable"}},
		{"random bytes in a free page", func(t *testing.T, p string) { randomPage(t, p, pageOf(t, p, "free", ""), 5) }, outcome{0, "posagent running"}},
		{"one byte of a payment record", func(t *testing.T, p string) { flipInRecord(t, p) }, outcome{exitJournalDamaged, "payments pay_"}},
		{"a text file", func(t *testing.T, p string) {
			os.WriteFile(p, bytes.Repeat([]byte("store:\n  path: ./posagent.db\n"), 400), 0o600)
		}, outcome{exitJournalDamaged, "not a bbolt journal"}},
		{"a directory", func(t *testing.T, p string) { os.Remove(p); os.Mkdir(p, 0o700) }, outcome{exitJournalDamaged, "is a directory, not a journal file"}},
		{"newer posagent format", func(t *testing.T, p string) { setSchema(t, p, store.SchemaVersion+1) }, outcome{exitJournalDamaged, "written by a newer posagent (journal format 2"}},
		{"newer bbolt format", func(t *testing.T, p string) { setBoltVersion(t, p, 3) }, outcome{exitJournalDamaged, "bbolt file format 3, this posagent reads 2"}},
		{"an older copy put back", putBackOlder, outcome{exitJournalRollback, "the journal went back in time"}},
		{"high-water mark removed", func(t *testing.T, p string) { os.Remove(store.MarkPath(p)) }, outcome{0, "no high-water mark beside the journal"}},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| case | outcome | exit | file unchanged |\n|---|---|---|---|\n")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tp.place(t, dir)
			tc.damage(t, path)
			before := fileHash(path)
			var logs bytes.Buffer
			cfg := journalConfig(t, dir, path)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				err = runDaemon(ctx, cfg, slog.New(slog.NewTextHandler(&lockedBuffer{b: &logs}, nil)), func(running) { cancel() })
			}()
			var ee exitError
			got := 0
			if errors.As(err, &ee) {
				got = ee.code
			} else if err != nil {
				t.Fatalf("error without an exit code: %v", err)
			}
			unchanged := fileHash(path) == before
			text := logs.String()
			if err != nil {
				text = err.Error()
			}
			if got != tc.exit || !strings.Contains(text, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", got, tc.exit, tc.want, text)
			}
			if tc.exit != 0 && !unchanged {
				t.Errorf("a refused journal was modified")
			}
			if tc.exit != 0 && !strings.Contains(text, "posagent journal") {
				t.Errorf("the message does not say what to do: %s", text)
			}
			what := "starts"
			if tc.exit != 0 {
				what = "refused: " + firstFinding(text)
			} else if strings.Contains(text, "level=WARN msg=\"store: journal") {
				what = "starts with warning: " + firstWarning(text)
			}
			fmt.Fprintf(&table, "| %s | %s | %d | %v |\n", tc.name, what, got, unchanged || tc.exit == 0)
		})
	}
	t.Log(table.String())
}

// lockedBuffer is a bytes.Buffer for a logger shared by goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func firstFinding(msg string) string {
	if i := strings.Index(msg, "damaged: "); i >= 0 {
		msg = msg[i+len("damaged: "):]
	} else if i := strings.Index(msg, ".db: "); i >= 0 {
		msg = msg[i+len(".db: "):]
	}
	if i := strings.Index(msg, ". "); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 110 {
		msg = msg[:110] + "..."
	}
	return strings.ReplaceAll(msg, "|", "/")
}

func firstWarning(logs string) string {
	i := strings.Index(logs, "store: journal: ")
	s := logs[i+len("store: journal: "):]
	if j := strings.IndexAny(s, "(\""); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSpace(s)
}

// inUse is the size of the pages below the journal's high-water mark.
func inUse(t *testing.T, path string) int64 {
	ps, err := check.Pages(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(ps)) * 4096
}

// journalConfig is a daemon configuration for the journal at path.
func journalConfig(t testing.TB, dir, path string) *config.Config {
	t.Helper()
	yaml := "store:\n  path: " + path + "\napi:\n  listen: 127.0.0.1:0\nsim:\n  time_scale: 0.02\nagent:\n  time_scale: 0.02\nprinter:\n  kind: none\n"
	cf := filepath.Join(dir, "posagent.yaml")
	if err := os.WriteFile(cf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(cf, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// paymentValue is the offset in a leaf page of a payment record's first
// byte, JSON ('{') or packed (0x01, store/reccodec.go), right after its
// key, a payment id; -1 when there is none.
func paymentValue(page []byte) int {
	for off := 0; ; {
		i := bytes.Index(page[off:], []byte("pay_"))
		if i < 0 {
			return -1
		}
		v := off + i + len("pay_")
		for v < len(page) && (page[v] >= '0' && page[v] <= '9' || page[v] >= 'a' && page[v] <= 'z' || page[v] == '_') {
			v++
		}
		if v < len(page) && (page[v] == '{' || page[v] == 0x01) {
			return v
		}
		off += i + 1
	}
}

// flipInRecord changes the first byte of a payment's record (JSON or
// packed) to '[' (the page stays a well-formed page: only the record is
// wrong).
func flipInRecord(t *testing.T, path string) {
	leaf := int(pageOf(t, path, "leaf", "payments"))
	b, _ := os.ReadFile(path)
	i := paymentValue(b[leaf*4096 : (leaf+1)*4096])
	if i < 0 {
		t.Fatal("no payment record found")
	}
	b[leaf*4096+i] = '['
	os.WriteFile(path, b, 0o600)
}

// setSchema writes a journal format version into the meta bucket with
// bbolt directly (what a newer posagent would have written).
func setSchema(t *testing.T, path string, v uint64) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Update(func(tx *bbolt.Tx) error {
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, v)
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), b)
	})
}

// setBoltVersion rewrites both meta pages with another bbolt format
// version and a valid checksum.
func setBoltVersion(t *testing.T, path string, v uint32) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for id := range 2 {
		m := make([]byte, 64)
		f.ReadAt(m, int64(id*4096+16))
		binary.LittleEndian.PutUint32(m[4:], v)
		h := fnv.New64a()
		h.Write(m[:56])
		binary.LittleEndian.PutUint64(m[56:], h.Sum64())
		f.WriteAt(m, int64(id*4096+16))
	}
}

// putBackOlder commits one more transaction to the journal (its mark
// follows), then puts the older file back, as a technician copying an old
// file over the journal would.
func putBackOlder(t *testing.T, path string) {
	old, _ := os.ReadFile(path)
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Update(func(tx *store.Tx) error {
		_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
			return []byte(fmt.Sprintf(`{"seq":%d,"kind":"test","at":"2026-11-25T18:30:00Z"}`, seq)), nil
		})
		return err
	})
	s.Close()
	os.WriteFile(path, old, 0o600)
}

// FuzzJournalStart mutates a real journal and opens it through the start
// path (the journal check, then agent.New, which reads every payment):
// nothing panics, and a journal that is refused is not written to.
func FuzzJournalStart(f *testing.F) {
	tp := realJournal(f)
	f.Add(uint32(0), []byte{0xff})
	f.Add(uint32(4096+20), []byte{1, 2, 3, 4})
	f.Add(uint32(3*4096), bytes.Repeat([]byte{0xAB}, 4096))
	f.Add(uint32(len(tp.db)-10), []byte("garbage at the end"))
	f.Add(uint32(bytes.Index(tp.db, []byte(`"state"`))), []byte(`"stat`))
	f.Fuzz(func(t *testing.T, off uint32, data []byte) {
		db := bytes.Clone(tp.db)
		at := int(off) % (len(db) + 1)
		db = append(db[:at], append(data, db[min(len(db), at+len(data)):]...)...)
		dir := t.TempDir()
		path := filepath.Join(dir, "posagent.db")
		os.WriteFile(path, db, 0o600)
		os.WriteFile(store.MarkPath(path), tp.mark, 0o600)
		os.WriteFile(store.KeysPath(path), tp.keys, 0o600)
		before := fileHash(path)
		cfg := journalConfig(t, dir, path)
		st, err := daemon.OpenJournal(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			if fileHash(path) != before {
				t.Fatalf("refused (%v) but the file changed", err)
			}
			return
		}
		defer st.Close()
		gw, _ := gateway.New(gateway.Config{URL: "http://127.0.0.1:1/processV2", MerchantID: cfg.Gateway.MerchantID, SignKey: cfg.Gateway.SignKey})
		if _, err := agent.New(agent.Options{Gateway: gw, Store: st, Currency: "CAD"}); err != nil {
			t.Fatalf("the journal passed the check but the agent cannot read it: %v", err)
		}
	})
}

// TestJournalCodesNeverInClear: payments through the real daemon, scans of
// payment codes in disguise, the payments final, the keys rotated: no
// payment code is anywhere in the journal file in clear.
func TestJournalCodesNeverInClear(t *testing.T) {
	tp := realJournal(t)
	// The file's bytes, and its packed records (live and freed) as plain.
	all := append(bytes.Clone(tp.db), bytes.Join(record.Unpacked(tp.db), []byte{'\n'})...)
	for _, c := range tp.codes {
		if bytes.Contains(all, []byte(c)) {
			t.Errorf("payment code %s is in the journal in clear", c)
		}
	}
	// "]Q1" + a payment code is that payment code (routed, here ignored as
	// nothing waits, masked); a code inside a longer string is a barcode
	// whose code is masked; a product barcode stays plain.
	for _, want := range []string{"1345**********6789", "PAY:1345**********6788;", "4006381333931"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("the scan events should hold %q", want)
		}
	}
}

// TestJournalCommands: check, backup, salvage, restore and accept-rollback
// as a technician runs them.
func TestJournalCommands(t *testing.T) {
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
	out, err := run("journal", "check")
	if err != nil || !strings.Contains(out, "result: sound") || !strings.Contains(out, "40 payments") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	bk := filepath.Join(dir, "b.db")
	if out, err = run("journal", "backup", bk); err != nil || !strings.Contains(out, "written directly") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	randomPage(t, path, pageOf(t, path, "leaf", "payments"), 9)
	out, err = run("journal", "check")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != exitJournalDamaged || !strings.Contains(out, "DAMAGE page ") {
		t.Fatalf("check of a damaged journal: %v\n%s", err, out)
	}
	// doctor says so too (it used to say "ok").
	cfg, src, lerr := config.Load(cf, nil)
	var dout bytes.Buffer
	if n := doctor.Run(context.Background(), &dout, cfg, src, lerr, doctor.Options{}); n == 0 || !strings.Contains(dout.String(), "FAIL  journal: "+path+" is damaged") {
		t.Errorf("doctor on a damaged journal:\n%s", dout.String())
	}
	sal := filepath.Join(dir, "salvaged.db")
	out, err = run("journal", "salvage", sal)
	if err != nil || !strings.Contains(out, "LOST ") || !strings.Contains(out, "payments") {
		t.Fatalf("salvage: %v\n%s", err, out)
	}
	t.Logf("posagent journal salvage %s:\n%s", sal, out)
	out, err = run("journal", "restore", sal)
	if err != nil || !strings.Contains(out, "kept as "+path+".replaced-") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if out, err = run("journal", "check"); err != nil || !strings.Contains(out, "result: sound") {
		t.Fatalf("check after restore: %v\n%s", err, out)
	}
	// An older backup put back by hand is refused until accepted.
	os.Remove(path)
	copyTo(t, bk, path)
	if out, err = run("journal", "check"); !errors.As(err, &ee) || ee.code != exitJournalRollback {
		t.Fatalf("check of a rolled-back journal: %v\n%s", err, out)
	}
	if out, err = run("journal", "accept-rollback", "--note", "test"); err != nil || !strings.Contains(out, "accepted and recorded") {
		t.Fatalf("accept: %v\n%s", err, out)
	}
	if out, err = run("journal", "check"); err != nil || !strings.Contains(out, "result: sound") {
		t.Fatalf("check after accept: %v\n%s", err, out)
	}
	// Compaction: refused while held, then the journal is rewritten and
	// still sound, with its mark.
	held, err := store.Open(path, store.Options{CompactFree: -1})
	if err != nil {
		t.Fatal(err)
	}
	out, err = run("journal", "compact")
	held.Close()
	if err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("compact while held: %v\n%s", err, out)
	}
	if out, err = run("journal", "compact"); err != nil || !strings.Contains(out, "compacted "+path) {
		t.Fatalf("compact: %v\n%s", err, out)
	}
	t.Logf("posagent journal compact: %s", out)
	if out, err = run("journal", "check"); err != nil || !strings.Contains(out, "result: sound") {
		t.Fatalf("check after compact: %v\n%s", err, out)
	}
}

func copyTo(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(to, b, 0o600)
}

// TestJournalHotBackup: posagent journal backup against a running daemon
// goes through the API and verifies; /v1/status and /metrics show the
// scheduled backups.
func TestJournalHotBackup(t *testing.T) {
	d := newDaemon(t, "")
	bdir := filepath.Join(t.TempDir(), "backups")
	d.cfg.Store.Backup = config.Backup{Dir: bdir, Every: time.Hour, Keep: 2}
	addr := d.start().API
	if out, err := cli(t, addr, "pay", "12.50", "--code", "134567890123450001"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := cli(t, addr, "--config", "/nonexistent.yaml", "journal", "--file", d.cfg.Store.Path, "backup", filepath.Join(t.TempDir(), "hot.db"))
	if err != nil || !strings.Contains(out, "from the running agent and verified: 1 payments") {
		t.Fatalf("hot backup: %v\n%s", err, out)
	}
	var st struct {
		Journal struct {
			Backup store.BackupStatus `json:"backup"`
		} `json:"journal"`
	}
	for i := 0; i < 100 && st.Journal.Backup.LastPath == ""; i++ {
		time.Sleep(20 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
	}
	if st.Journal.Backup.LastPath == "" || st.Journal.Backup.AgeSeconds < 0 {
		t.Fatalf("/v1/status has no scheduled backup: %+v", st.Journal.Backup)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var m bytes.Buffer
	m.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(m.String(), "posagent_journal_backup_age_seconds ") {
		t.Error("no backup age metric")
	}
}
