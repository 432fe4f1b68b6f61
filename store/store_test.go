package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/store/record"
)

// open opens a journal in a temp dir and checks its consistency at the end.
func open(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "posagent.db")
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("consistency: %v", err)
		}
		s.Close()
	})
	return s
}

func event(kind string, at time.Time) func(uint64) ([]byte, error) {
	return func(seq uint64) ([]byte, error) {
		return json.Marshal(map[string]any{"seq": seq, "kind": kind, "at": at})
	}
}

func TestOpenSecondProcessLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	open(t, path, Options{})
	_, err := Open(path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "already running") {
		t.Errorf("message %q should name the file and the likely cause", err)
	}
}

func TestOpenZeroTimeoutDoesNotWaitForever(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	open(t, path, Options{})
	done := make(chan error, 1)
	go func() { _, err := Open(path, Options{}); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("got %v, want ErrLocked", err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a speed assertion
		t.Fatal("Open with zero LockTimeout waited forever")
	}
}

func TestOpenCorruptFilesUntouched(t *testing.T) {
	dir := t.TempDir()
	// A real journal to truncate.
	good := filepath.Join(dir, "good.db")
	s, err := Open(good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Update(func(tx *Tx) error {
		for i := range 200 {
			p := &Payment{ID: fmt.Sprintf("pay_%04d", i), OrderID: fmt.Sprintf("O%04d", i), State: Processing, Refunds: []Refund{}}
			p.Reference = strings.Repeat("x", 500)
			if err := tx.PutPayment(p); err != nil {
				return err
			}
		}
		return nil
	})
	s.Close()
	full, _ := os.ReadFile(good)

	cases := map[string][]byte{
		"garbage":   bytes.Repeat([]byte("not a database "), 1000),
		"short":     []byte("x"),
		"truncated": full[:len(full)/2],
		"zeros":     make([]byte, 16384),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, Options{})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("message %q does not name the file", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, content) {
				t.Error("the corrupt file was modified")
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		_, err := Open(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "directory") {
			t.Fatalf("got %v, want a clear 'is a directory' error", err)
		}
	})
	t.Run("parent is a file", func(t *testing.T) {
		parent := filepath.Join(dir, "afile")
		os.WriteFile(parent, []byte("x"), 0o600)
		path := filepath.Join(parent, "posagent.db")
		_, err := Open(path, Options{})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("got %v, want a clear error naming the path", err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: file permissions do not apply")
		}
		path := filepath.Join(dir, "noperm.db")
		os.WriteFile(path, full, 0o000)
		_, err := Open(path, Options{})
		if err == nil || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), path) {
			t.Fatalf("got %v, want a permission error naming the file", err)
		}
	})
}

func TestPaymentRoundTripAndOrderIndex(t *testing.T) {
	s := open(t, "", Options{})
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	p := &Payment{ID: "pay_1", OrderID: "P1", Mode: "scan", Amount: 1250, Currency: "CAD", State: Processing,
		AuthCode: "134567890123456789", CreatedAt: now, UpdatedAt: now,
		Refunds: []Refund{{ID: "ref_1", OrderID: "R1", Amount: 100, State: RefundPending}}}
	if err := s.Update(func(tx *Tx) error { return tx.PutPayment(p) }); err != nil {
		t.Fatal(err)
	}
	err := s.View(func(tx *Tx) error {
		got, err := tx.Payment("pay_1")
		if err != nil {
			return err
		}
		if got.Amount != 1250 || got.AuthCode != "134567890123456789" || len(got.Refunds) != 1 {
			t.Errorf("round trip: %+v", got)
		}
		for _, oid := range []string{"P1", "R1"} {
			if id, err := tx.PaymentIDByOrder(oid); err != nil || id != "pay_1" {
				t.Errorf("order %s -> %q, %v", oid, id, err)
			}
		}
		if _, err := tx.Payment("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing payment: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another payment may not reuse an order id; the failed Update leaves nothing behind.
	err = s.Update(func(tx *Tx) error {
		return tx.PutPayment(&Payment{ID: "pay_2", OrderID: "P1", State: Processing})
	})
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate order id: %v", err)
	}
	s.View(func(tx *Tx) error {
		if _, err := tx.Payment("pay_2"); !errors.Is(err, ErrNotFound) {
			t.Error("a failed Update left a record")
		}
		return nil
	})
}

func TestFinalStateErasesCodeFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s := open(t, path, Options{})
	code := "134567890123456789"
	p := &Payment{ID: "pay_1", OrderID: "P1", State: Processing, AuthCode: code}
	s.Update(func(tx *Tx) error { return tx.PutPayment(p) })
	raw := fileAndUnpacked(path)
	if bytes.Contains(raw, []byte(code)) {
		t.Fatal("the code is in the file in clear while processing; it should be sealed")
	}
	if !bytes.Contains(raw, []byte(`"auth_code_sealed":"v1.`)) {
		t.Fatal("precondition: the sealed code should be in the file while processing")
	}
	s.View(func(tx *Tx) error {
		if got, _ := tx.Payment("pay_1"); got.AuthCode != code {
			t.Errorf("read back %q, want the code", got.AuthCode)
		}
		return nil
	})
	p.State = Succeeded
	p.AuthCode = code // the caller forgot: the store erases it anyway
	s.Update(func(tx *Tx) error { return tx.PutPayment(p) })
	// The live record does not hold it.
	s.View(func(tx *Tx) error {
		got, _ := tx.Payment("pay_1")
		if got.AuthCode != "" {
			t.Errorf("final record still holds the code")
		}
		return nil
	})
	// Push a few more transactions so the freed page holding the old
	// record gets reused, then look at the raw bytes. bbolt may keep a
	// freed page for a while (see the doc's caveat), so this loop writes
	// until it is gone, and fails only if it never goes.
	for i := 0; i < 50; i++ {
		s.Update(func(tx *Tx) error {
			p.Reference = fmt.Sprintf("ref-%d", i)
			return tx.PutPayment(p)
		})
		raw = fileAndUnpacked(path)
		if !bytes.Contains(raw, []byte(code)) {
			return
		}
	}
	t.Error("the payment code is still in the file after 50 transactions")
}

func TestEventsMonotonicAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	var mu sync.Mutex
	var seen []uint64
	onCommit := func(evs []Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			seen = append(seen, e.Seq)
		}
	}
	s, err := Open(path, Options{OnCommit: onCommit})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				s.Update(func(tx *Tx) error {
					tx.AppendEvent(event("a", now))
					_, err := tx.AppendEvent(event("b", now))
					return err
				})
			}
		}()
	}
	wg.Wait()
	// A failed Update announces nothing and assigns no sequence that is seen.
	s.Update(func(tx *Tx) error {
		tx.AppendEvent(event("lost", now))
		return errors.New("boom")
	})
	s.Close()
	if len(seen) != 160 || !slices.IsSorted(seen) || seen[0] != 1 || seen[159] != 160 {
		t.Fatalf("OnCommit order: %d events, sorted=%v first=%d", len(seen), slices.IsSorted(seen), seen[0])
	}
	s = open(t, path, Options{})
	var seq uint64
	s.Update(func(tx *Tx) error { seq, err = tx.AppendEvent(event("c", now)); return err })
	if seq != 161 {
		t.Fatalf("after restart seq = %d, want 161", seq)
	}
	s.View(func(tx *Tx) error {
		evs, _ := tx.Events(150, 155, 0)
		if len(evs) != 5 || evs[0].Seq != 151 || evs[4].Seq != 155 {
			t.Errorf("Events(150,155): %v", evs)
		}
		evs, _ = tx.Events(0, 0, 3)
		if len(evs) != 3 || evs[0].Seq != 1 {
			t.Errorf("Events limit: %v", evs)
		}
		return nil
	})
}

func TestOutboxOrderAndSurvival(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s, _ := Open(path, Options{})
	s.Update(func(tx *Tx) error {
		for _, k := range []string{JobRefund, JobQuery, JobReceipt} {
			if err := tx.PutPayment(&Payment{ID: "pay_" + k, OrderID: "O" + k, State: Succeeded}); err != nil {
				return err
			}
			if err := tx.AddJob(&Job{Kind: k, PaymentID: "pay_" + k}); err != nil {
				return err
			}
		}
		return nil
	})
	s.Update(func(tx *Tx) error {
		j, err := tx.Job(2)
		if err != nil {
			return err
		}
		j.Attempts, j.LastError = 3, "gateway down"
		return tx.PutJob(j)
	})
	s.Close()
	s = open(t, path, Options{})
	s.Update(func(tx *Tx) error {
		jobs, _ := tx.Jobs()
		var kinds []string
		for _, j := range jobs {
			kinds = append(kinds, j.Kind)
		}
		if fmt.Sprint(kinds) != "[refund query receipt]" || jobs[1].Attempts != 3 || jobs[1].LastError != "gateway down" {
			t.Errorf("jobs after restart: %v %+v", kinds, jobs[1])
		}
		tx.DeleteJob(1)
		jobs, _ = tx.Jobs()
		if len(jobs) != 2 {
			t.Errorf("after delete: %d jobs", len(jobs))
		}
		return nil
	})
}

func TestIdemSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s, _ := Open(path, Options{})
	s.Update(func(tx *Tx) error { return tx.PutIdem("k1", &Idem{Hash: "h", PaymentID: "pay_1", Status: 201}) })
	s.Close()
	s = open(t, path, Options{})
	s.View(func(tx *Tx) error {
		r, err := tx.Idem("k1")
		if err != nil || r.Hash != "h" || r.PaymentID != "pay_1" || r.Status != 201 {
			t.Errorf("idem after restart: %+v %v", r, err)
		}
		if _, err := tx.Idem("k2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown key: %v", err)
		}
		return nil
	})
}

func TestForEachPaymentCursor(t *testing.T) {
	s := open(t, "", Options{})
	s.Update(func(tx *Tx) error {
		for i := 1; i <= 5; i++ {
			tx.PutPayment(&Payment{ID: fmt.Sprintf("pay_%d", i), OrderID: fmt.Sprintf("O%d", i), State: Succeeded})
		}
		return nil
	})
	list := func(rev bool, after string, n int) string {
		var ids []string
		s.View(func(tx *Tx) error {
			return tx.ForEachPayment(rev, after, func(p *Payment) (bool, error) {
				ids = append(ids, strings.TrimPrefix(p.ID, "pay_"))
				return len(ids) < n, nil
			})
		})
		return strings.Join(ids, ",")
	}
	cases := []struct {
		rev   bool
		after string
		n     int
		want  string
	}{
		{true, "", 2, "5,4"},
		{true, "pay_4", 10, "3,2,1"},
		{true, "pay_35", 10, "3,2,1"}, // a cursor that is not an id
		{false, "", 10, "1,2,3,4,5"},
		{false, "pay_2", 2, "3,4"},
		{true, "pay_1", 10, ""},
	}
	for _, c := range cases {
		if got := list(c.rev, c.after, c.n); got != c.want {
			t.Errorf("rev=%v after=%q n=%d: %q, want %q", c.rev, c.after, c.n, got, c.want)
		}
	}
}

func TestCompact(t *testing.T) {
	s := open(t, "", Options{})
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	recent := old.Add(60 * 24 * time.Hour)
	cut := old.Add(30 * 24 * time.Hour)
	mk := func(id string, st State, at time.Time, refunds ...Refund) *Payment {
		return &Payment{ID: id, OrderID: "O" + id, State: st, UpdatedAt: at, Refunds: refunds}
	}
	s.Update(func(tx *Tx) error {
		tx.PutPayment(mk("old_final", Succeeded, old, Refund{ID: "r", OrderID: "Rold", State: RefundSucceeded}))
		tx.PutPayment(mk("old_open", InDoubt, old))
		tx.PutPayment(mk("old_receipt_pending", Succeeded, old))
		tx.PutPayment(mk("old_refund_pending", Succeeded, old, Refund{ID: "r2", OrderID: "Rpend", State: RefundInDoubt}))
		tx.PutPayment(mk("recent_final", Failed, recent))
		tx.AddJob(&Job{Kind: JobReceipt, PaymentID: "old_receipt_pending"})
		tx.PutIdem("k_old", &Idem{PaymentID: "old_final", CreatedAt: recent})
		tx.PutIdem("k_recent", &Idem{PaymentID: "recent_final", CreatedAt: recent})
		tx.AppendEvent(event("x", old))
		tx.AppendEvent(event("y", recent))
		return nil
	})
	res, err := s.Compact(cut)
	if err != nil {
		t.Fatal(err)
	}
	if res.Payments != 1 || res.Events != 1 || res.IdemKeys != 1 {
		t.Errorf("result %+v", res)
	}
	s.View(func(tx *Tx) error {
		var left []string
		tx.ForEachPayment(false, "", func(p *Payment) (bool, error) { left = append(left, p.ID); return true, nil })
		sort.Strings(left)
		if fmt.Sprint(left) != "[old_open old_receipt_pending old_refund_pending recent_final]" {
			t.Errorf("left: %v", left)
		}
		if tx.OrderUsed("Oold_final") || tx.OrderUsed("Rold") {
			t.Error("order index entries of the removed payment remain")
		}
		if _, err := tx.Idem("k_old"); !errors.Is(err, ErrNotFound) {
			t.Error("idempotency key of the removed payment remains")
		}
		evs, _ := tx.Events(0, 0, 0)
		if len(evs) != 1 || evs[0].Seq != 2 {
			t.Errorf("events left: %v", evs)
		}
		if tx.LastEventSeq() != 2 {
			t.Errorf("sequence went back: %d", tx.LastEventSeq())
		}
		return nil
	})
}

func BenchmarkCommit(b *testing.B) {
	s := open(b, "", Options{})
	p := &Payment{ID: "pay_1", OrderID: "P1", Mode: "scan", Amount: 1250, Currency: "CAD", State: Processing}
	lat := make([]time.Duration, 0, b.N)
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		err := s.Update(func(tx *Tx) error {
			p.History = append(p.History[:0], HistoryEntry{State: string(p.State), At: now})
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			_, err := tx.AppendEvent(event("payment.updated", now))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// fileAndUnpacked is a journal file's bytes followed by its packed
// records (live and freed) unpacked: what a search for a secret must read.
func fileAndUnpacked(path string) []byte {
	raw, _ := os.ReadFile(path)
	return append(raw, bytes.Join(record.Unpacked(raw), []byte{'\n'})...)
}
