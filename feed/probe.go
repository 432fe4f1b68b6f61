package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Check is one result of Probe.
type Check struct {
	Name string
	// Level is "ok", "warn" or "fail".
	Level  string
	Detail string
}

// Probe tests what the feed needs of the servers, storing nothing: the
// connection, the stream, that the stream takes the lane's subjects and the
// credential may publish on them, that it may not publish as another lane,
// and that it may read the lane's last message (the restored-journal
// check). The publishes carry a Nats-Expected-Stream header naming no
// stream, so the stream answers them with an error and keeps nothing.
func Probe(ctx context.Context, c Conn, id Identity, stream string, timeout time.Duration) []Check {
	var mu sync.Mutex
	var asyncErrs []error
	c.OnError = func(err error) { mu.Lock(); asyncErrs = append(asyncErrs, err); mu.Unlock() }
	c.Timeout = timeout
	nc, err := c.Dial(false)
	if err != nil {
		return []Check{{"feed", "fail", err.Error() + ": check feed.url, the credentials (feed.creds, feed.nkey_seed or feed.user) and feed.tls_ca"}}
	}
	defer nc.Close()
	out := []Check{{"feed", "ok", "connected to " + nc.ConnectedUrlRedacted()}}
	ctx, cancel := context.WithTimeout(ctx, 4*timeout)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		return append(out, Check{"feed stream", "fail", err.Error()})
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return append(out, Check{"feed stream", "fail", fmt.Sprintf("stream %s: %v: the head office (or the store's leaf node) makes it; the lane's credential needs $JS.API.STREAM.INFO.%s (docs/feed.md)", stream, err, stream)})
	}
	out = append(out, Check{"feed stream", "ok", fmt.Sprintf("%s (%d messages)", stream, s.CachedInfo().State.Msgs)})
	permErr := func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range asyncErrs {
			if strings.Contains(strings.ToLower(e.Error()), "permission") {
				return e
			}
		}
		return nil
	}
	subj := id.Subject("doctor.probe")
	switch err := probePublish(nc, subj, timeout); {
	case permErr() != nil:
		out = append(out, Check{"feed publish", "fail", fmt.Sprintf("%s: %v: the credential must allow publishing on %s.>", subj, permErr(), id.Prefix())})
	case err != nil:
		out = append(out, Check{"feed publish", "fail", fmt.Sprintf("%s: %v: the stream %s must take posagent.> (or this lane's subjects)", subj, err, stream)})
	default:
		out = append(out, Check{"feed publish", "ok", "may publish on " + id.Prefix() + ".>"})
	}
	other := Identity{Merchant: id.Merchant, Store: id.Store, Lane: id.Lane + "-not-this-lane"}
	mu.Lock()
	asyncErrs = nil
	mu.Unlock()
	if err := probePublish(nc, other.Subject("doctor.probe"), timeout); err == nil && permErr() == nil {
		out = append(out, Check{"feed permissions", "warn", fmt.Sprintf("the credential may publish as another lane (%s): give each lane a credential for its own subjects only (docs/feed.md)", other.Prefix())})
	} else {
		out = append(out, Check{"feed permissions", "ok", "another lane's subjects are refused"})
	}
	if _, err := s.GetLastMsgForSubject(ctx, id.Prefix()+".>"); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		out = append(out, Check{"feed read", "warn", fmt.Sprintf("cannot read the lane's last message (%v): a journal restored from a copy is not detected; allow $JS.API.STREAM.MSG.GET.%s (docs/feed.md)", err, stream)})
	}
	return out
}

// probePublish publishes to subj with an expected stream that matches none:
// nil when a stream answered (it takes subj, and refused the message).
func probePublish(nc *nats.Conn, subj string, timeout time.Duration) error {
	m := nats.NewMsg(subj)
	m.Header.Set(jetstream.ExpectedStreamHeader, "posagent-doctor-no-such-stream")
	m.Data = []byte("{}")
	resp, err := nc.RequestMsg(m, timeout)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return errors.New("no stream takes this subject")
		}
		return err
	}
	var ack struct {
		Error *struct {
			Code int `json:"err_code"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.Data, &ack) != nil || ack.Error == nil {
		return errors.New("a stream stored the probe (it should have refused it)")
	}
	return nil
}
