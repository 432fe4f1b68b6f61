package feed

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/feedmark"
)

// runFeed runs a feed until the returned stop is called.
func runFeed(t *testing.T, f *Feed) (stop func()) { return runFeedB(t, f) }

func runFeedB(t testing.TB, f *Feed) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func caughtUp(f *Feed) func() bool {
	return func() bool { s := f.Status(); return s.State == StateCaughtUp }
}

// checkOnce checks that the stream holds events 1..n of the lane, each
// once, in order, under the journal's id, with the right message ids.
func checkOnce(t *testing.T, msgs []streamedMsg, id string, n int) {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("the stream holds %d messages of the lane, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m.err != nil {
			t.Fatalf("message %d: %v", i, m.err)
		}
		if want := uint64(i + 1); m.env.Seq != want || m.env.Journal != id || m.msgID != MsgID(id, want) {
			t.Fatalf("message %d: journal %s seq %d msg id %s, want %s seq %d", i, m.env.Journal, m.env.Seq, m.msgID, id, want)
		}
	}
}

func TestFeedPublishesEveryEventOnceInOrder(t *testing.T) {
	ns := startNATS(t, nil)
	nc := dial(t, ns.url())
	makeStream(t, nc)
	path := journalPath(t)
	st := openJournal(t, path)
	appendEvents(t, st, 150, "a")
	f, err := New(StoreJournal{st}, nc, testOptions(lane1))
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Status(); s.LagEvents != 150 || s.State == StateCaughtUp {
		t.Fatalf("before Run: %+v", s)
	}
	stop := runFeed(t, f)
	waitFor(t, "caught up", 10*time.Second, caughtUp(f))
	// Live events, woken by Kick.
	appendEvents(t, st, 50, "b")
	f.Kick()
	waitFor(t, "caught up again", 10*time.Second, caughtUp(f))
	stop()
	s := f.Status()
	if s.Acked != 200 || s.LagEvents != 0 || s.LagSeconds != 0 || s.Published != 200 || s.Duplicates != 0 {
		t.Fatalf("status: %+v", s)
	}
	checkOnce(t, readStream(t, nc, lane1.Prefix()), st.JournalID(), 200)
	if fs, _ := feedmark.Get(st); fs.Acked != 200 || fs.ID != st.JournalID() {
		t.Fatalf("the journal's feed state: %+v", fs)
	}
	// The journal with its feed state passes the check before use.
	st.Close()
	if _, err := check.CheckFile(path, store.CheckOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A restart publishes from the acknowledged sequence; one that lost its
// last save (a SIGKILL) takes it from the stream.
func TestFeedResumesWhereTheStreamIs(t *testing.T) {
	ns := startNATS(t, nil)
	nc := dial(t, ns.url())
	makeStream(t, nc)
	st := openJournal(t, journalPath(t))
	appendEvents(t, st, 40, "a")
	// As if killed before saving the acknowledgements after 25: the
	// journal says 25, the stream holds 40.
	f, _ := New(lossyJournal{StoreJournal{st}, 25}, nc, testOptions(lane1))
	stop := runFeed(t, f)
	waitFor(t, "caught up", 10*time.Second, caughtUp(f))
	stop()
	if fs, _ := feedmark.Get(st); fs.Acked != 25 {
		t.Fatalf("the journal says %d acknowledged, want 25", fs.Acked)
	}
	appendEvents(t, st, 10, "b")
	f2, _ := New(StoreJournal{st}, nc, testOptions(lane1))
	stop2 := runFeed(t, f2)
	waitFor(t, "caught up", 10*time.Second, caughtUp(f2))
	stop2()
	checkOnce(t, readStream(t, nc, lane1.Prefix()), st.JournalID(), 50)
	if s := f2.Status(); s.Published != 10 {
		t.Fatalf("after the restart %d events were published, want the 10 new ones: %+v", s.Published, s)
	}
}

// lossyJournal saves no acknowledgement past upto (a lane killed before
// its saves).
type lossyJournal struct {
	StoreJournal
	upto uint64
}

func (j lossyJournal) SetFeedAcked(id string, seq uint64, at time.Time) error {
	return j.StoreJournal.SetFeedAcked(id, min(seq, j.upto), at)
}

// The server goes away while the lane takes payments: the lag shows, and
// once it is back every event is there once.
func TestFeedThroughAnOutage(t *testing.T) {
	ns := startNATS(t, nil)
	nc := dial(t, ns.url())
	makeStream(t, nc)
	st := openJournal(t, journalPath(t))
	o := testOptions(lane1)
	o.StuckAfter = 50 * time.Millisecond
	f, _ := New(StoreJournal{st}, nc, o)
	stop := runFeed(t, f)
	appendEvents(t, st, 30, "a")
	f.Kick()
	waitFor(t, "caught up", 10*time.Second, caughtUp(f))
	ns.stop()
	appendEvents(t, st, 40, "b")
	f.Kick()
	waitFor(t, "lag while the server is down", 10*time.Second, func() bool {
		s := f.Status()
		return s.State == StateStuck && s.LagEvents == 40 && s.LagSeconds > 0
	})
	ns.start()
	waitFor(t, "caught up after the outage", 20*time.Second, caughtUp(f))
	stop()
	checkOnce(t, readStream(t, nc, lane1.Prefix()), st.JournalID(), 70)
	if s := f.Status(); s.Errors == 0 || s.LastError == "" {
		t.Fatalf("the outage left no error in the status: %+v", s)
	}
}

// A journal put back from an older copy (without its high-water mark)
// holds different events under sequences the stream already has: the feed
// must take a new id rather than have them dropped as duplicates (or,
// past the duplicate window, stored under a message id that means another
// event).
func TestFeedRestoredJournalTakesANewID(t *testing.T) {
	ns := startNATS(t, nil)
	nc := dial(t, ns.url())
	makeStream(t, nc)
	dir := t.TempDir()
	path := dir + "/posagent.db"
	st := openJournal(t, path)
	appendEvents(t, st, 5, "a")
	f, _ := New(StoreJournal{st}, nc, testOptions(lane1))
	stop := runFeed(t, f)
	waitFor(t, "caught up", 10*time.Second, caughtUp(f))
	backup := dir + "/copy.db"
	if _, err := st.BackupFile(backup); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, 5, "b") // 6..10, published
	f.Kick()
	waitFor(t, "caught up", 10*time.Second, func() bool { return f.Status().Acked == 10 })
	stop()
	st.Close()
	jid := st.JournalID()

	// The copy, with no mark beside it, takes three different payments.
	os.Remove(store.MarkPath(backup))
	cp := openJournal(t, backup)
	if cp.JournalID() != jid {
		t.Fatalf("the copy's id %s, want the journal's %s", cp.JournalID(), jid)
	}
	appendEvents(t, cp, 3, "c") // 6..8 in the copy, different from the stream's 6..8
	f2, _ := New(StoreJournal{cp}, nc, testOptions(lane1))
	stop2 := runFeed(t, f2)
	waitFor(t, "caught up", 10*time.Second, caughtUp(f2))
	stop2()

	s := f2.Status()
	if s.Epoch != 1 || s.ID == jid {
		t.Fatalf("the restored journal publishes as %s (epoch %d), want a new id", s.ID, s.Epoch)
	}
	byID := map[string]string{} // msg id -> digest
	bySeq := map[uint64]map[string]bool{}
	got := 0
	for _, m := range readStream(t, nc, lane1.Prefix()) {
		if d, ok := byID[m.msgID]; ok && d != m.env.Digest {
			t.Fatalf("message id %s stands for two different events", m.msgID)
		}
		byID[m.msgID] = m.env.Digest
		if bySeq[m.env.Seq] == nil {
			bySeq[m.env.Seq] = map[string]bool{}
		}
		bySeq[m.env.Seq][m.env.Digest] = true
		if m.env.Journal == s.ID {
			got++
		}
	}
	// The copy's events 6..8 (c) reached the stream under the new id.
	evs, _ := StoreJournal{cp}.Events(5, 0)
	for _, ev := range evs {
		p, _ := Payload(ev.Data)
		found := false
		for _, m := range readStream(t, nc, lane1.Prefix()) {
			if m.env.Journal == s.ID && m.env.Seq == ev.Seq && m.env.Digest == Digest(p) {
				found = true
			}
		}
		if !found {
			t.Errorf("the copy's event %d is not in the stream under %s", ev.Seq, s.ID)
		}
	}
	// The copy's sequence moved past the stream's 10: no sequence means
	// two events for the head office either, but for the copy's 6..8,
	// which it publishes again under the new id.
	if last := (StoreJournal{cp}).LastSeq(); last <= 10 {
		t.Fatalf("the copy's last sequence %d did not move past the stream's 10", last)
	}
	if got == 0 {
		t.Fatal("nothing was published under the new id")
	}
	cp.Close()
}

func TestFeedRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Identity: Identity{Merchant: "m", Store: "s.1", Lane: "L"}, Stream: "X"}, `store "s.1"`},
		{Options{Identity: Identity{Merchant: "m", Store: "s", Lane: ">"}, Stream: "X"}, `lane ">"`},
		{Options{Identity: lane1}, "no stream"},
	} {
		if _, err := New(nil, nil, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.o, err, tc.want)
		}
	}
}
