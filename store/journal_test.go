package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/store/backup"
	"github.com/posagent/posagent/store/check"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// code returns a distinct, valid-looking WeChat payment code.
func code(i int) string { return fmt.Sprintf("13%016d", 4567890000000000+i) }

// takePayments writes n payments the way the agent does: created with a
// code, an event and an idempotency key; then final (odd ones stay open,
// with an outbox query job), each step its own transaction.
func takePayments(t testing.TB, s *Store, from, n int) []string {
	t.Helper()
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	var ids []string
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("pay_%08d", i)
		ids = append(ids, id)
		p := &Payment{ID: id, OrderID: fmt.Sprintf("P%08d", i), Mode: "scan", Wallet: "wechat", Amount: int64(100 + i), Currency: "CAD",
			State: Processing, AuthCode: code(i), AuthCodeMasked: code(i)[:4] + "**********" + code(i)[14:], CreatedAt: at, UpdatedAt: at,
			History: []HistoryEntry{{State: "processing", At: at}}, Refunds: []Refund{}}
		err := s.Update(func(tx *Tx) error {
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			if err := tx.PutIdem("idem-"+id, &Idem{Hash: "h", PaymentID: id, CreatedAt: at}); err != nil {
				return err
			}
			_, err := tx.AppendEvent(event("payment.updated", at))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Update(func(tx *Tx) error {
			if i%2 == 0 {
				p.State = Succeeded
				p.Refunds = []Refund{{ID: "ref_" + id, OrderID: "R" + p.OrderID, Amount: 50, State: RefundSucceeded, CreatedAt: at, UpdatedAt: at}}
			} else {
				p.State = InDoubt
				if err := tx.AddJob(&Job{Kind: JobQuery, PaymentID: id, NextAt: at, CreatedAt: at}); err != nil {
					return err
				}
			}
			p.History = append(p.History, HistoryEntry{State: string(p.State), At: at})
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			_, err := tx.AppendEvent(event("payment.updated", at))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// journal makes a real journal of n payments in dir and closes it.
func journal(t testing.TB, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "posagent.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	takePayments(t, s, 0, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func hashFile(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// damagePage writes random bytes over page id (page size 4096).
func damagePage(t testing.TB, path string, id uint64, seed uint64) {
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

// pagesOf lists the pages of a type in a bucket.
func pagesOf(t testing.TB, path, typ, bucket string) []check.PageInfo {
	t.Helper()
	pages, err := check.Pages(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []check.PageInfo
	for _, p := range pages {
		if p.Type == typ && (bucket == "*" || p.Bucket == bucket) {
			out = append(out, p)
		}
	}
	return out
}

func TestCheckCleanJournal(t *testing.T) {
	path := journal(t, t.TempDir(), 60)
	rep, err := Inspect(path, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 {
		t.Fatalf("findings on a clean journal: %v", rep.Findings)
	}
	if rep.Payments != 60 || rep.Open != 30 || rep.Jobs != 30 || rep.Orders != 90 || rep.Events != 120 || rep.LastSeq != 120 {
		t.Errorf("counts: %+v", rep)
	}
	if rep.Mark == nil || rep.Mark.Seq != 120 || rep.Mark.TxID != rep.TxID || rep.Rollback != nil {
		t.Errorf("mark %+v, journal tx %d", rep.Mark, rep.TxID)
	}
	if len(pagesOf(t, path, "branch", "payments")) == 0 {
		t.Error("precondition: the payments bucket should have a branch page")
	}
}

// TestDamagedLeafRefusedUntouchedAndSalvaged: random bytes in one leaf page
// of the payments bucket. Open refuses, naming the page, and writes
// nothing; Salvage recovers every payment on the other pages, exactly.
func TestDamagedLeafRefusedUntouchedAndSalvaged(t *testing.T) {
	dir := t.TempDir()
	const n = 200
	path := journal(t, dir, n)
	leaves := pagesOf(t, path, "leaf", "payments")
	if len(leaves) < 5 {
		t.Fatalf("precondition: %d payment leaves", len(leaves))
	}
	victim := leaves[len(leaves)/2]
	recs, err := check.PageRecords(path, victim.ID)
	if err != nil {
		t.Fatal(err)
	}
	var onPage []string
	for _, e := range recs {
		onPage = append(onPage, string(e.Key))
	}
	damagePage(t, path, victim.ID, 1)
	before := hashFile(t, path)

	_, err = Open(path, Options{})
	var de *DamageError
	if !errors.As(err, &de) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: got %v, want a DamageError", err)
	}
	if want := fmt.Sprintf("page %d: ", victim.ID); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "posagent journal salvage") {
		t.Errorf("message %q should name %q and say what to do", err, want)
	}
	if hashFile(t, path) != before {
		t.Fatal("Open modified the damaged file")
	}

	out := filepath.Join(dir, "salvaged.db")
	sr, err := check.Salvage(path, out, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hashFile(t, path) != before {
		t.Fatal("Salvage modified the damaged file")
	}
	if got, want := sr.Copied["payments"], n-len(onPage); got != want {
		t.Errorf("salvaged %d payments, want %d (%d were on page %d)", got, want, len(onPage), victim.ID)
	}
	t.Logf("salvage of a %d-payment journal with leaf page %d damaged: %d payments recovered, %d lost with the page, %d records dropped, copied %v",
		n, victim.ID, sr.Copied["payments"], len(onPage), len(sr.Dropped), sr.Copied)
	s, err := Open(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.View(func(tx *Tx) error {
		got := 0
		tx.ForEachPayment(false, "", func(p *Payment) (bool, error) {
			got++
			if slices.Contains(onPage, p.ID) {
				t.Errorf("payment %s came back from a damaged page", p.ID)
			}
			if id, err := tx.PaymentIDByOrder(p.OrderID); err != nil || id != p.ID {
				t.Errorf("order index of %s: %v %v", p.ID, id, err)
			}
			if !p.State.Final() && p.AuthCode == "" {
				t.Errorf("open payment %s lost its code in salvage", p.ID)
			}
			return true, nil
		})
		if got != n-len(onPage) {
			t.Errorf("salvaged journal holds %d payments", got)
		}
		return nil
	})
}

// TestDamagedBranchSalvagedFromOrphans: a branch page of the payments
// bucket is lost; its leaves are still on disk, neither in use nor free,
// and Salvage finds every payment on them.
func TestDamagedBranchSalvagedFromOrphans(t *testing.T) {
	dir := t.TempDir()
	const n = 200
	path := journal(t, dir, n)
	br := pagesOf(t, path, "branch", "payments")
	if len(br) == 0 {
		t.Fatal("precondition: no branch page")
	}
	damagePage(t, path, br[0].ID, 2)
	before := hashFile(t, path)
	if _, err := Open(path, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: %v", err)
	}
	sr, err := check.Salvage(path, filepath.Join(dir, "out.db"), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hashFile(t, path) != before {
		t.Fatal("modified")
	}
	if sr.Copied["payments"] != n || sr.Rescued < n/2 {
		t.Errorf("branch lost: %d payments salvaged (%d rescued from orphaned pages), want %d", sr.Copied["payments"], sr.Rescued, n)
	}
	t.Logf("salvage with the payments branch page damaged: %d of %d payments (%d from orphaned leaves)", sr.Copied["payments"], n, sr.Rescued)
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCodesShredded: payment codes never reach the journal file in clear;
// after the payments are final and the keys rotate, no sealed code left in
// the file (live or in a freed page) opens with any key that still exists.
func TestCodesShredded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	clk := &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	s, err := Open(path, Options{Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 40
	takePayments(t, s, 0, n) // even: succeeded; odd: in_doubt, code still needed
	sealedRe := regexp.MustCompile(`v1\.[0-9]+\.[A-Za-z0-9_-]+`)
	raw := fileAndUnpacked(path)
	for i := range n {
		if bytes.Contains(raw, []byte(code(i))) {
			t.Fatalf("code %d is in the journal file in clear", i)
		}
	}
	if len(sealedRe.FindAll(raw, -1)) == 0 {
		t.Fatal("precondition: sealed codes in the file")
	}
	// A day later the key rotates; the old one is kept while open
	// payments need it.
	clk.add(25 * time.Hour)
	r, err := s.RotateKeys(false)
	if err != nil || r.New == 0 || len(r.Destroyed) != 0 {
		t.Fatalf("rotate with open payments: %+v %v", r, err)
	}
	// The open payments end; the next rotation destroys the old key.
	s.Update(func(tx *Tx) error {
		return tx.ForEachPayment(false, "", func(p *Payment) (bool, error) {
			if p.State.Final() {
				return true, nil
			}
			if p.AuthCode == "" {
				t.Errorf("open payment %s: code not readable before its key is destroyed", p.ID)
			}
			p.State = Failed
			return true, tx.PutPayment(p)
		})
	})
	r, err = s.RotateKeys(false)
	if err != nil || len(r.Destroyed) != 1 || len(r.Kept) != 1 {
		t.Fatalf("rotate after the payments ended: %+v %v", r, err)
	}
	raw = fileAndUnpacked(path)
	keys, _ := os.ReadFile(KeysPath(path))
	for i := range n {
		if bytes.Contains(raw, []byte(code(i))) || bytes.Contains(keys, []byte(code(i))) {
			t.Fatalf("code %d readable in clear", i)
		}
	}
	left := sealedRe.FindAll(raw, -1)
	opened := 0
	for _, sb := range left {
		for i := range n {
			if c, err := s.keys.Open(string(sb), fmt.Sprintf("pay_%08d", i)); err == nil {
				t.Errorf("a sealed code left in the file still opens: %s", c)
				opened++
			}
		}
	}
	t.Logf("%d sealed codes left in the journal's pages after rotation; %d open", len(left), opened)
}

// TestBackupUnderLoad: a backup taken while payments are written at about
// 100 per second opens, checks clean and holds every payment committed
// before it started.
func TestBackupUnderLoad(t *testing.T) {
	dir := t.TempDir()
	path := journal(t, dir, 300)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var committed atomic.Int64
	committed.Store(300)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond) // ~100 payments/s
		defer tick.Stop()
		for i := 300; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			takePayments(t, s, i, 1)
			committed.Add(1)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	before := committed.Load()
	start := time.Now()
	out := filepath.Join(dir, "backup.db")
	rep, err := s.BackupFile(out)
	took := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if rep.Damaged() || int64(rep.Payments) < before {
		t.Fatalf("backup: %d payments (at least %d were committed before it started), findings %v", rep.Payments, before, rep.Findings)
	}
	b, err := Open(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.View(func(tx *Tx) error {
		for i := range int(before) {
			if _, err := tx.Payment(fmt.Sprintf("pay_%08d", i)); err != nil {
				t.Errorf("payment %d committed before the backup started is missing: %v", i, err)
			}
		}
		return nil
	})
	t.Logf("backup while taking ~100 payments/s: %d payments committed before it started, %d in the backup, %d at the end; %d bytes in %v",
		before, rep.Payments, committed.Load(), rep.Size, took.Round(time.Millisecond))
}

// TestScheduledBackupsRotateAndStatus: BackupNow writes verified backups
// and keeps the newest Keep; BackupStatus reports the newest one's age.
func TestScheduledBackupsRotateAndStatus(t *testing.T) {
	dir := t.TempDir()
	path := journal(t, dir, 10)
	clk := &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	s, err := Open(path, Options{Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := s.BackupStatus(); st.AgeSeconds != -1 {
		t.Errorf("no backup yet: %+v", st)
	}
	bdir := filepath.Join(dir, "backups")
	for range 5 {
		if _, err := s.BackupNow(BackupOptions{Dir: bdir, Keep: 3}); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Hour)
	}
	paths, times, err := backup.List(bdir)
	if err != nil || len(paths) != 3 {
		t.Fatalf("backups kept: %v %v", paths, err)
	}
	if !times[0].Equal(clk.now().Add(-time.Hour)) {
		t.Errorf("newest %v", times[0])
	}
	if st := s.BackupStatus(); st.AgeSeconds != 3600 || st.LastPath != paths[0] {
		t.Errorf("status %+v", st)
	}
	for _, p := range paths {
		if rep, err := check.CheckFile(p, CheckOptions{}); err != nil || rep.Damaged() || rep.Payments != 10 {
			t.Errorf("backup %s: %v %v", p, rep, err)
		}
	}
}

// BenchmarkCheckFile: the check every start makes, on a journal of 2,000
// payments.
func BenchmarkCheckFile(b *testing.B) {
	path := journal(b, b.TempDir(), 2000)
	b.ResetTimer()
	for range b.N {
		if rep, err := check.CheckFile(path, CheckOptions{}); err != nil || rep.Damaged() {
			b.Fatal(err, rep.Findings)
		}
	}
}

// BenchmarkBackup: a consistent copy of a 2,000-payment journal, verified.
func BenchmarkBackup(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(journal(b, dir, 2000), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.BackupFile(filepath.Join(dir, fmt.Sprintf("b%d.db", i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitWithMark: one fsynced commit with its high-water mark.
func BenchmarkCommitWithMark(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "posagent.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	takePayments(b, s, 0, b.N)
}
