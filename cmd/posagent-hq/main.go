// Command posagent-hq is the head office of a chain of posagent lanes: it
// keeps the chain's books from the lanes' feed (NATS JetStream) and serves
// them, read-only, to a token holder (docs/feed.md).
//
//	posagent-hq --data /var/lib/posagent-hq --token-file /etc/posagent-hq/token
//
// By default it runs an embedded NATS server with JetStream (a small chain
// needs one box and one command); with --nats URL it uses an existing
// cluster.
//
// Its commands push signed configuration to the lanes and list the fleet
// (docs/fleet.md):
//
//	posagent-hq keygen [--out FILE]
//	posagent-hq config set --merchant M --store S [--lane L] [--expires 7d] [--note TEXT] FILE
//	posagent-hq config show --merchant M --store S [--lane L]
//	posagent-hq fleet ls [--json]
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/hq"
)

type options struct {
	data, listen, token, natsURL, natsListen, natsConfig, stream, tz string
	// natsCreds, natsUser, natsPassword: posagent-hq's own credential
	// (a .creds file, or POSAGENT_HQ_NATS_USER and _PASSWORD).
	natsCreds, natsUser, natsPassword string
	replicas                          int
	quiet                             bool // no server log (tests)
	// publicKey checks the published bundles in the fleet view; staleAfter
	// is when a lane without a heartbeat is stale.
	publicKey  ed25519.PublicKey
	staleAfter time.Duration
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if len(os.Args) > 1 && commands[os.Args[1]] {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := command(ctx, os.Args[1:], env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr})
		stop()
		os.Exit(code)
	}
	o, err := parse(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "posagent-hq:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, log, nil); err != nil {
		fmt.Fprintln(os.Stderr, "posagent-hq:", err)
		os.Exit(1)
	}
}

func parse(args []string, getenv func(string) string) (options, error) {
	var o options
	var tokenFile, pub string
	fs := flag.NewFlagSet("posagent-hq", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of posagent-hq (head office):\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\n"+commandsUsage)
	}
	fs.StringVar(&o.data, "data", "./posagent-hq", "directory of the books (and of the embedded server's JetStream store)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:7430", "address of the API and web page")
	fs.StringVar(&tokenFile, "token-file", "", "file holding the API token (else POSAGENT_HQ_TOKEN)")
	fs.StringVar(&o.natsURL, "nats", "", "an existing NATS cluster (nats://host:4222); empty: run an embedded server")
	fs.StringVar(&o.natsListen, "nats-listen", "127.0.0.1:4222", "where the embedded server takes the lanes' connections")
	fs.StringVar(&o.natsConfig, "nats-config", "", "a nats-server configuration file for the embedded server (users, permissions, TLS, leaf nodes)")
	fs.StringVar(&o.natsCreds, "nats-creds", "", "posagent-hq's .creds file (else POSAGENT_HQ_NATS_USER and POSAGENT_HQ_NATS_PASSWORD, when the server asks for a user)")
	fs.StringVar(&o.stream, "stream", "POSAGENT", "the lanes' stream")
	fs.IntVar(&o.replicas, "replicas", 1, "replicas of the stream when posagent-hq makes it (a cluster: 3)")
	fs.StringVar(&o.tz, "tz", "", "the chain's time zone for days (IANA name; empty: the system's)")
	fs.StringVar(&pub, "public-key", "", "head office's public key (ed25519:..., from keygen; else POSAGENT_HQ_PUBLIC_KEY): the fleet view checks the published bundles with it")
	fs.DurationVar(&o.staleAfter, "stale-after", fleet.StaleAfter, "a lane without a heartbeat this long is stale (three missed)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if pub == "" {
		pub = getenv("POSAGENT_HQ_PUBLIC_KEY")
	}
	if pub != "" {
		k, err := fleet.ParsePublicKey(pub)
		if err != nil {
			return o, fmt.Errorf("--public-key: %w", err)
		}
		o.publicKey = k
	}
	if o.staleAfter <= 0 {
		return o, fmt.Errorf("--stale-after %s: a positive duration", o.staleAfter)
	}
	o.token = getenv("POSAGENT_HQ_TOKEN")
	o.natsUser, o.natsPassword = getenv("POSAGENT_HQ_NATS_USER"), getenv("POSAGENT_HQ_NATS_PASSWORD")
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return o, fmt.Errorf("--token-file: %w", err)
		}
		o.token = strings.TrimSpace(string(b))
	}
	if len(o.token) < 16 {
		return o, errors.New("a token of at least 16 characters is needed (--token-file or POSAGENT_HQ_TOKEN), e.g. from `openssl rand -hex 16`")
	}
	if o.tz != "" {
		if _, err := time.LoadLocation(o.tz); err != nil {
			return o, fmt.Errorf("--tz %q: %w", o.tz, err)
		}
	}
	return o, nil
}

// running is what run tells a test once it serves.
type running struct{ API, NATS string }

func run(ctx context.Context, o options, log *slog.Logger, ready func(running)) error {
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return err
	}
	url := o.natsURL
	if url == "" {
		ns, err := embedded(o)
		if err != nil {
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		url = ns.ClientURL()
		log.Info("posagent-hq: embedded NATS server", "url", url)
	}
	copts := []nats.Option{nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true), nats.Name("posagent-hq")}
	switch {
	case o.natsCreds != "":
		copts = append(copts, nats.UserCredentials(o.natsCreds))
	case o.natsUser != "":
		copts = append(copts, nats.UserInfo(o.natsUser, o.natsPassword))
	}
	nc, err := nats.Connect(url, copts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := hq.EnsureStream(ctx, nc, hq.StreamConfig(o.stream, o.replicas)); err != nil {
		return err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if err := hq.EnsureFleetBuckets(ctx, js, o.replicas); err != nil {
		return err
	}
	bundles, lanes, err := hq.OpenBuckets(ctx, js)
	if err != nil {
		return err
	}
	fl := &hq.Fleet{Conn: nc, Lanes: lanes, Bundles: bundles, PublicKey: o.publicKey, Limits: hq.Limits{StaleAfter: o.staleAfter}, Log: log}
	books, err := hq.Open(filepath.Join(o.data, "books.db"), nil)
	if err != nil {
		return err
	}
	defer books.Close()
	loc := time.Local
	if o.tz != "" {
		loc, _ = time.LoadLocation(o.tz)
	}
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: (&hq.Server{Books: books, Token: o.token, Loc: loc, Fleet: fl}).Handler(), ReadHeaderTimeout: 10 * time.Second}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return (&hq.Consumer{Books: books, Conn: nc, Stream: o.stream, Log: log}).Run(ctx) })
	g.Go(func() error { return fl.Run(ctx) })
	g.Go(func() error {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	log.Info("posagent-hq running", "api", l.Addr().String(), "nats", url, "stream", o.stream)
	if ready != nil {
		ready(running{API: l.Addr().String(), NATS: url})
	}
	return g.Wait()
}

// embedded starts the embedded JetStream server.
func embedded(o options) (*server.Server, error) {
	var so *server.Options
	if o.natsConfig != "" {
		var err error
		if so, err = server.ProcessConfigFile(o.natsConfig); err != nil {
			return nil, fmt.Errorf("--nats-config: %w", err)
		}
	} else {
		host, port, err := net.SplitHostPort(o.natsListen)
		if err != nil {
			return nil, fmt.Errorf("--nats-listen %q: %w", o.natsListen, err)
		}
		so = &server.Options{Host: host}
		if _, err := fmt.Sscan(port, &so.Port); err != nil {
			return nil, fmt.Errorf("--nats-listen %q: the port is not a number", o.natsListen)
		}
		if so.Port == 0 {
			so.Port = -1
		}
	}
	so.JetStream = true
	if so.StoreDir == "" {
		so.StoreDir = filepath.Join(o.data, "jetstream")
	}
	if so.ServerName == "" {
		so.ServerName = "posagent-hq"
	}
	so.NoSigs = true
	so.NoLog = so.NoLog || o.quiet
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, err
	}
	ns.ConfigureLogger()
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("the embedded NATS server did not start")
	}
	return ns, nil
}
