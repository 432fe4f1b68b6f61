package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/feedmark"
)

// Options configure a Feed.
type Options struct {
	Identity Identity
	// Stream is the JetStream stream that holds the lane's subjects.
	Stream string
	// Agent is the lane's posagent version, carried in each envelope.
	Agent string
	// Window bounds the publishes awaiting a PubAck (default 64).
	Window int
	// AckTimeout: a publish not acknowledged within this ends the round
	// (default 5 s).
	AckTimeout time.Duration
	// SaveEvery: the acknowledged sequence is written to the journal at
	// most this often while publishing, and whenever the feed catches up
	// or stops (default 250 ms).
	SaveEvery time.Duration
	// Poll: the journal is read this often when nothing calls Kick
	// (default 1 s).
	Poll time.Duration
	// StuckAfter: the oldest event waiting this long makes the state
	// "stuck" (default 5 min).
	StuckAfter time.Duration
	// Backoff and MaxBackoff: the pause after a failed round doubles from
	// Backoff to MaxBackoff, each drawn at random in [d/2, d] (defaults
	// 500 ms, 30 s).
	Backoff, MaxBackoff time.Duration
	// Clock is the wall clock of the lag in seconds (default time.Now).
	Clock func() time.Time
	Log   *slog.Logger
	// OnAck, when set, is called with each acknowledged sequence, on the
	// feed's goroutine (benchmarks measure commit-to-PubAck with it).
	OnAck func(seq uint64)
}

func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = 64
	}
	o.AckTimeout = cmpOr(o.AckTimeout, 5*time.Second)
	o.SaveEvery = cmpOr(o.SaveEvery, 250*time.Millisecond)
	o.Poll = cmpOr(o.Poll, time.Second)
	o.StuckAfter = cmpOr(o.StuckAfter, 5*time.Minute)
	o.Backoff = cmpOr(o.Backoff, 500*time.Millisecond)
	o.MaxBackoff = cmpOr(o.MaxBackoff, 30*time.Second)
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Feed publishes a journal's events to JetStream. Create it with New and
// run it with Run; Status and Collector may be called meanwhile.
type Feed struct {
	j    Journal
	nc   *nats.Conn
	o    Options
	kick chan struct{}

	mu sync.Mutex
	s  counters
}

// counters is the feed's state, under Feed.mu.
type counters struct {
	running              bool
	id                   string
	epoch                int
	acked                uint64
	ackedAt              time.Time
	published, dups      uint64
	errors               uint64
	lastErr, serverErr   string
	lastErrAt            time.Time
	oldestSeq            uint64 // the event whose time oldestAt is
	oldestAt             time.Time
	sessions, epochsMade int
}

// New makes a feed of journal j over connection nc (which the caller
// made, e.g. with Conn.Dial(true), and closes after Run returned).
func New(j Journal, nc *nats.Conn, o Options) (*Feed, error) {
	if err := o.Identity.Check(); err != nil {
		return nil, err
	}
	if o.Stream == "" {
		return nil, errors.New("feed: no stream name")
	}
	return &Feed{j: j, nc: nc, o: o.withDefaults(), kick: make(chan struct{}, 1)}, nil
}

// Kick says that events were committed; the feed reads them now rather
// than at its next poll. It never blocks.
func (f *Feed) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends; it returns nil then. A failed round is
// logged, counted and retried after a jittered pause.
func (f *Feed) Run(ctx context.Context) error {
	js, err := jetstream.New(f.nc, jetstream.WithPublishAsyncMaxPending(2*f.o.Window), jetstream.WithPublishAsyncTimeout(f.o.AckTimeout))
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	f.mu.Lock()
	f.s.running = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.s.running = false
		f.mu.Unlock()
	}()
	fails := 0
	for {
		progress, err := f.session(ctx, js)
		if ctx.Err() != nil {
			return nil
		}
		if progress {
			fails = 0
		}
		fails++
		f.failed(err)
		d := f.o.Backoff << min(fails-1, 16)
		d = min(d, f.o.MaxBackoff)
		d = d/2 + rand.N(d/2+1)
		f.o.Log.Warn("feed: publishing stopped; trying again", "err", err, "in", d.Round(time.Millisecond))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (f *Feed) failed(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s.errors++
	f.s.lastErr = err.Error()
	if f.s.serverErr != "" {
		f.s.lastErr += "; the server said: " + f.s.serverErr
		f.s.serverErr = ""
	}
	f.s.lastErrAt = f.o.Clock()
}

// ServerError records an asynchronous error of the server (Conn.OnError:
// a permissions violation), shown with the next failed round's error.
func (f *Feed) ServerError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s.serverErr = err.Error()
}

// pending is a publish awaiting its PubAck.
type pending struct {
	seq      uint64
	fut      jetstream.PubAckFuture
	deadline time.Time // monotonic
}

// session is one round: check the stream, then publish from the last
// acknowledged event until an error or ctx ends. progress: an event was
// acknowledged.
func (f *Feed) session(ctx context.Context, js jetstream.JetStream) (progress bool, err error) {
	st, err := f.j.FeedState()
	if err != nil {
		return false, err
	}
	if st, err = f.checkStream(ctx, js, st); err != nil {
		return false, err
	}
	// Register with the journal's retention before the first publish: it
	// removes nothing this feed has not acknowledged.
	if err := f.j.SetFeedAcked(st.ID, st.Acked, f.o.Clock()); err != nil {
		return false, err
	}
	f.mu.Lock()
	f.s.id, f.s.epoch, f.s.acked, f.s.sessions = st.ID, st.Epoch, st.Acked, f.s.sessions+1
	f.mu.Unlock()
	acked, saved := st.Acked, st.Acked
	lastSave := time.Now()
	save := func(force bool) error {
		if acked == saved || !force && time.Since(lastSave) < f.o.SaveEvery {
			return nil
		}
		if err := f.j.SetFeedAcked(st.ID, acked, f.o.Clock()); err != nil {
			return err
		}
		saved, lastSave = acked, time.Now()
		return nil
	}
	defer func() {
		if serr := save(true); serr != nil && err == nil {
			err = serr
		}
	}()
	var inflight []pending
	var buf []store.Event
	readAfter := acked
	for {
		for len(inflight) < f.o.Window {
			if len(buf) == 0 {
				if buf, err = f.j.Events(readAfter, f.o.Window); err != nil || len(buf) == 0 {
					break
				}
			}
			ev := buf[0]
			buf = buf[1:]
			readAfter = ev.Seq
			p, err := f.publish(js, st.ID, ev)
			if err != nil {
				return progress, err
			}
			inflight = append(inflight, p)
		}
		if err != nil {
			return progress, fmt.Errorf("feed: read the journal: %w", err)
		}
		if len(inflight) == 0 {
			if err := save(true); err != nil {
				return progress, err
			}
			select {
			case <-ctx.Done():
				return progress, ctx.Err()
			case <-f.kick:
			case <-time.After(f.o.Poll):
			}
			continue
		}
		head := inflight[0]
		t := time.NewTimer(time.Until(head.deadline))
		select {
		case pa := <-head.fut.Ok():
			t.Stop()
			inflight = inflight[1:]
			acked, progress = head.seq, true
			f.acked(head.seq, pa.Duplicate)
			if f.o.OnAck != nil {
				f.o.OnAck(head.seq)
			}
			if err := save(false); err != nil {
				return progress, err
			}
		case err := <-head.fut.Err():
			t.Stop()
			return progress, fmt.Errorf("feed: event %d: %w", head.seq, err)
		case <-t.C:
			return progress, fmt.Errorf("feed: event %d: no acknowledgement within %s", head.seq, f.o.AckTimeout)
		case <-ctx.Done():
			t.Stop()
			return progress, ctx.Err()
		}
	}
}

// publish sends one event.
func (f *Feed) publish(js jetstream.JetStream, id string, ev store.Event) (pending, error) {
	b, env, err := Encode(f.o.Identity, id, f.o.Agent, ev.Seq, ev.Data)
	if err != nil {
		// An event that does not read (it never should): its sequence is
		// still published, so that the head office sees no gap.
		f.o.Log.Error("feed: a journal event is not JSON; published as journal.unreadable", "seq", ev.Seq, "err", err)
		data := fmt.Appendf(nil, `{"seq":%d,"kind":"journal.unreadable","at":%q}`, ev.Seq, f.o.Clock().UTC().Format(time.RFC3339Nano))
		if b, env, err = Encode(f.o.Identity, id, f.o.Agent, ev.Seq, data); err != nil {
			return pending{}, err
		}
	}
	msg := &nats.Msg{Subject: f.o.Identity.Subject(env.Kind), Data: b, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, MsgID(id, ev.Seq))
	fut, err := js.PublishMsgAsync(msg, jetstream.WithExpectStream(f.o.Stream))
	if err != nil {
		return pending{}, fmt.Errorf("feed: publish event %d: %w", ev.Seq, err)
	}
	return pending{seq: ev.Seq, fut: fut, deadline: time.Now().Add(f.o.AckTimeout)}, nil
}

func (f *Feed) acked(seq uint64, dup bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s.acked, f.s.ackedAt = seq, f.o.Clock()
	f.s.published++
	if dup {
		f.s.dups++
	}
}

// checkStream compares the stream's last message of the lane with the
// journal (package doc): a journal behind the stream, or different from
// it, gets a new feed id. An acknowledgement the journal missed (a stop
// between the PubAck and the save) is taken from the stream.
func (f *Feed) checkStream(ctx context.Context, js jetstream.JetStream, st feedmark.State) (feedmark.State, error) {
	cctx, cancel := context.WithTimeout(ctx, f.o.AckTimeout)
	defer cancel()
	s, err := js.Stream(cctx, f.o.Stream)
	if err != nil {
		return st, fmt.Errorf("feed: stream %s: %w", f.o.Stream, err)
	}
	m, err := s.GetLastMsgForSubject(cctx, f.o.Identity.Prefix()+".>")
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("feed: read the stream's last message of %s: %w", f.o.Identity.Prefix(), err)
	}
	env, err := Decode(m.Data)
	if err != nil {
		f.o.Log.Warn("feed: the stream's last message of this lane is not an envelope; ignored", "stream_seq", m.Sequence, "err", err)
		return st, nil
	}
	jid := f.j.JournalID()
	if env.Journal != jid && !strings.HasPrefix(env.Journal, jid+"~") {
		return st, nil // another journal's (a replaced device): its sequences are its own
	}
	reason := f.diverged(st, env)
	if reason == "" {
		if env.Journal == st.ID && env.Seq > st.Acked {
			if err := f.j.SetFeedAcked(st.ID, env.Seq, f.o.Clock()); err != nil {
				return st, err
			}
			st.Acked = env.Seq
		}
		return st, nil
	}
	nst, err := f.j.NewFeedEpoch(env.Seq, reason)
	if err != nil {
		return st, err
	}
	f.o.Log.Warn("feed: the stream holds events this journal does not: publishing under a new id", "reason", reason, "old_id", st.ID, "new_id", nst.ID)
	f.mu.Lock()
	f.s.epochsMade++
	f.mu.Unlock()
	return nst, nil
}

// diverged says why the journal cannot go on publishing under st.ID given
// the stream's last message env of this journal; "" when it can.
func (f *Feed) diverged(st feedmark.State, env Envelope) string {
	if env.Journal != st.ID {
		if epochOf(env.Journal) > st.Epoch {
			return fmt.Sprintf("the stream's last message of this lane has id %s, a later epoch than this journal's %s (a journal restored from a copy)", env.Journal, st.ID)
		}
		return ""
	}
	evs, err := f.j.Events(env.Seq-1, 1)
	if err == nil && len(evs) == 1 && evs[0].Seq == env.Seq {
		p, err := Payload(evs[0].Data)
		if err == nil && Digest(p) == env.Digest {
			return ""
		}
		return fmt.Sprintf("event %d in the stream differs from this journal's", env.Seq)
	}
	if last := f.j.LastSeq(); last < env.Seq {
		return fmt.Sprintf("the stream holds event %d of this journal, which ends at %d (a journal restored from a copy or salvaged)", env.Seq, last)
	}
	return "" // the journal skipped past it (restored past its high-water mark)
}

// epochOf is the epoch number of a feed id ("<journal>~e<N>-<hex>"; 0).
func epochOf(id string) int {
	_, e, ok := strings.Cut(id, "~e")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(strings.SplitN(e, "-", 2)[0])
	return n
}
