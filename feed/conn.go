package feed

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Conn says how to reach the NATS servers (config feed.*). The secrets
// (NkeySeed, Password) are never logged nor put in an error.
type Conn struct {
	URLs     []string
	Creds    string // a .creds file
	NkeySeed string // a user nkey seed (SU...)
	User     string
	Password string
	TLSCA    string // PEM file of the server's CA
	// Name is the connection's name the servers show (the lane).
	Name string
	// Timeout bounds the first connection's attempt (default 5 s).
	Timeout time.Duration
	// OnError, when set, gets the server's asynchronous errors (a
	// permissions violation).
	OnError func(error)
}

// Dial connects. With retry the connection is returned at once and made
// (and remade after any loss) in the background, for ever; without it
// (doctor) a server that does not answer is an error.
func (c Conn) Dial(retry bool) (*nats.Conn, error) {
	if len(c.URLs) == 0 {
		return nil, errors.New("feed: no server URL (feed.url)")
	}
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(retry),
		nats.Timeout(cmpOr(c.Timeout, 5*time.Second)),
		nats.IgnoreAuthErrorAbort(), // a credential fixed on the server side works without a restart
	}
	switch {
	case c.Creds != "":
		opts = append(opts, nats.UserCredentials(c.Creds))
	case c.NkeySeed != "":
		kp, err := nkeys.FromSeed([]byte(c.NkeySeed))
		if err != nil {
			return nil, errors.New("feed: feed.nkey_seed is not a valid nkey seed")
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, errors.New("feed: feed.nkey_seed is not a valid nkey seed")
		}
		opts = append(opts, nats.Nkey(pub, kp.Sign))
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	onErr := c.OnError
	if onErr == nil {
		onErr = func(error) {} // never the client's default, which writes to stderr
	}
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { onErr(err) }))
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	nc, err := nats.Connect(strings.Join(c.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("feed: connect to %s: %w", strings.Join(redact(c.URLs), ", "), err)
	}
	return nc, nil
}

// redact drops user information from URLs.
func redact(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if s := strings.Index(u, "://"); s >= 0 && s < at {
				u = u[:s+3] + "***@" + u[at+1:]
			}
		}
		out[i] = u
	}
	return out
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
