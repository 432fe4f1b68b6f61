package feed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/feedmark"
)

// A feed in a child process of the test binary, SIGKILLed while it
// publishes.
const (
	childJournalEnv = "POSAGENT_TEST_FEED_JOURNAL"
	childURLEnv     = "POSAGENT_TEST_FEED_URL"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(childJournalEnv); path != "" {
		os.Exit(feedChild(path, os.Getenv(childURLEnv)))
	}
	os.Exit(m.Run())
}

// feedChild publishes the journal at path until it is killed.
func feedChild(path, url string) int {
	st, err := store.Open(path, store.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "feed child:", err)
		return 2
	}
	nc, err := Conn{URLs: []string{url}}.Dial(true)
	if err != nil {
		fmt.Fprintln(os.Stderr, "feed child:", err)
		return 2
	}
	o := testOptions(lane1)
	o.Window = 8 // many rounds of acknowledgements before the kill
	f, err := New(StoreJournal{st}, nc, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "feed child:", err)
		return 2
	}
	f.Run(context.Background()) // until SIGKILL
	return 1
}

// TestFeedSIGKILLedMidPublish: a lane's feed is killed (no cleanup) while
// it publishes a backlog, twice; a feed started again on the journal
// publishes the rest, and the stream holds every event once, in order.
func TestFeedSIGKILLedMidPublish(t *testing.T) {
	ns := startNATS(t, nil)
	nc := dial(t, ns.url())
	s := makeStream(t, nc)
	path := journalPath(t)
	st := openJournal(t, path)
	appendEvents(t, st, 1200, "a")
	jid := st.JournalID()
	st.Close()
	msgs := func() uint64 {
		info, err := s.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	var killedAt []uint64
	for _, at := range []uint64{200, 700} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childJournalEnv+"="+path, childURLEnv+"="+ns.url())
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("%d messages in the stream", at), 20*time.Second, func() bool { return msgs() >= at })
		cmd.Process.Kill()
		cmd.Wait()
		killedAt = append(killedAt, msgs())
	}
	if killedAt[1] >= 1200 {
		t.Fatalf("the child was killed after it had published everything (%v): not mid-publish", killedAt)
	}
	st = openJournal(t, path)
	defer st.Close()
	saved, _ := feedmark.Get(st)
	f, _ := New(StoreJournal{st}, nc, testOptions(lane1))
	stop := runFeed(t, f)
	waitFor(t, "caught up", 20*time.Second, caughtUp(f))
	stop()
	checkOnce(t, readStream(t, nc, lane1.Prefix()), jid, 1200)
	if fs, _ := feedmark.Get(st); fs.Acked != 1200 {
		t.Fatalf("the journal's acknowledged sequence: %d", fs.Acked)
	}
	t.Logf("killed with %v messages in the stream; the journal had saved %d acknowledged; the restart published %d (%d answered as duplicates)",
		killedAt, saved.Acked, f.Status().Published, f.Status().Duplicates)
}
