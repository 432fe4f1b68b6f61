package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/hq"
)

// commands are posagent-hq's subcommands; anything else runs head office.
var commands = map[string]bool{"keygen": true, "config": true, "fleet": true}

const commandsUsage = `posagent-hq commands (docs/fleet.md):
  posagent-hq keygen [--out FILE]
  posagent-hq config set  --merchant M --store S [--lane L] [--expires 7d] [--note TEXT] [--by NAME] FILE
  posagent-hq config show --merchant M --store S [--lane L] [--json]
  posagent-hq fleet ls [--json]
The commands that reach NATS take --nats URL (default nats://127.0.0.1:4222), --nats-creds FILE
(else POSAGENT_HQ_NATS_USER and POSAGENT_HQ_NATS_PASSWORD); config set signs with --key-file FILE
(else POSAGENT_HQ_KEY_FILE); config show and fleet ls check signatures with --public-key or the key file.
Without a command, posagent-hq runs head office (posagent-hq --help).
`

// env is what a command reads from the environment and writes to.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	now            func() time.Time
}

// command runs one subcommand and returns its exit status: 0 done, 1
// refused or failed, 2 bad usage.
func command(ctx context.Context, args []string, e env) int {
	if e.now == nil {
		e.now = time.Now
	}
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	var err error
	switch {
	case args[0] == "keygen":
		err = keygen(args[1:], e)
	case args[0] == "config" && sub == "set":
		err = configSet(ctx, args[2:], e)
	case args[0] == "config" && sub == "show":
		err = configShow(ctx, args[2:], e)
	case args[0] == "fleet" && sub == "ls":
		err = fleetLs(ctx, args[2:], e)
	default:
		fmt.Fprint(e.stderr, commandsUsage)
		return 2
	}
	var usage usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintln(e.stderr, "posagent-hq:", err)
		return 2
	}
	fmt.Fprintln(e.stderr, "posagent-hq:", err)
	return 1
}

type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func keygen(args []string, e env) error {
	fs := flag.NewFlagSet("posagent-hq keygen", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "posagent-hq-fleet.key", "the private key file to write (mode 0600; never overwritten)")
	if err := fs.Parse(args); err != nil {
		return usageOf(err)
	}
	if fs.NArg() > 0 {
		return usagef("keygen takes no argument (%q): --out FILE", fs.Arg(0))
	}
	pub, priv, err := fleet.GenerateKey()
	if err != nil {
		return err
	}
	pemKey, err := fleet.MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: keygen never overwrites a key (the lanes trust its public key); move it away first, or use another --out", *out)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(pemKey); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote head office's private key to %s (mode 0600: keep it on head office's machine only, and a copy offline)\n", *out)
	fmt.Fprintf(e.stdout, "key id %s; set this on every lane (posagent.yaml):\n\nfleet:\n  public_key: %s\n", fleet.KeyID(pub), fleet.FormatPublicKey(pub))
	return nil
}

func usageOf(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}

// conn is the NATS connection of a command.
type conn struct{ url, creds string }

func (c *conn) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "nats", "nats://127.0.0.1:4222", "head office's NATS (the embedded server of posagent-hq, or the chain's cluster)")
	fs.StringVar(&c.creds, "nats-creds", "", "a .creds file (else POSAGENT_HQ_NATS_USER and POSAGENT_HQ_NATS_PASSWORD)")
}

// buckets connects and opens the fleet's buckets, with a clear error when
// NATS or a bucket is not there.
func (c *conn) buckets(ctx context.Context, e env) (*nats.Conn, jetstream.KeyValue, jetstream.KeyValue, error) {
	opts := []nats.Option{nats.Name("posagent-hq command"), nats.Timeout(5 * time.Second), nats.MaxReconnects(0)}
	switch {
	case c.creds != "":
		opts = append(opts, nats.UserCredentials(c.creds))
	case e.getenv("POSAGENT_HQ_NATS_USER") != "":
		opts = append(opts, nats.UserInfo(e.getenv("POSAGENT_HQ_NATS_USER"), e.getenv("POSAGENT_HQ_NATS_PASSWORD")))
	}
	nc, err := nats.Connect(c.url, opts...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cannot reach NATS at %s: %v (is posagent-hq running there? --nats URL names another server)", c.url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	bundles, lanes, err := hq.OpenBuckets(ctx, js)
	if err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("NATS at %s: %w", c.url, err)
	}
	return nc, bundles, lanes, nil
}

// targetFlags are --merchant, --store and --lane.
type targetFlags struct{ t fleet.Target }

func (tf *targetFlags) flags(fs *flag.FlagSet) {
	fs.StringVar(&tf.t.Merchant, "merchant", "", "the chain: the lanes' merchant.id (else POSAGENT_HQ_MERCHANT)")
	fs.StringVar(&tf.t.Store, "store", "", "the store: the lanes' merchant.store")
	fs.StringVar(&tf.t.Lane, "lane", "", "one lane: its gateway.terminal_no (empty: every lane of the store)")
}

func (tf *targetFlags) target(e env) (fleet.Target, error) {
	t := tf.t
	if t.Merchant == "" {
		t.Merchant = e.getenv("POSAGENT_HQ_MERCHANT")
	}
	if t.Merchant == "" || t.Store == "" {
		return t, usagef("--merchant (or POSAGENT_HQ_MERCHANT) and --store name the target")
	}
	if err := t.Check(); err != nil {
		return t, usageError{err}
	}
	return t, nil
}

// readKey reads head office's private key: --key-file, else
// POSAGENT_HQ_KEY_FILE. Its content is never printed.
func readKey(path string, e env) (ed25519.PrivateKey, error) {
	if path == "" {
		path = e.getenv("POSAGENT_HQ_KEY_FILE")
	}
	if path == "" {
		return nil, usagef("the signing key is needed: --key-file FILE or POSAGENT_HQ_KEY_FILE (posagent-hq keygen writes one)")
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("the key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the key file %s is readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the key file: %w", err)
	}
	priv, err := fleet.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("the key file %s: %w", path, err)
	}
	return priv, nil
}

// publicKey is --public-key, else the key file's public half, else none.
func publicKey(pubFlag, keyFile string, e env) (ed25519.PublicKey, error) {
	if pubFlag == "" {
		pubFlag = e.getenv("POSAGENT_HQ_PUBLIC_KEY")
	}
	if pubFlag != "" {
		return fleet.ParsePublicKey(pubFlag)
	}
	if keyFile == "" && e.getenv("POSAGENT_HQ_KEY_FILE") == "" {
		return nil, nil
	}
	priv, err := readKey(keyFile, e)
	if err != nil {
		return nil, err
	}
	return priv.Public().(ed25519.PublicKey), nil
}

// parseExpiry reads 7d, 36h, 90m.
func parseExpiry(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, usagef("--expires %q: a number of days like 7d, or a duration like 36h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("--expires %q: a number of days like 7d, or a duration like 36h", s)
	}
	return d, nil
}

func whoAmI() string {
	name := "posagent-hq"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return name
}

func configSet(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("posagent-hq config set", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c conn
	var tf targetFlags
	c.flags(fs)
	tf.flags(fs)
	expires := fs.String("expires", "7d", "how long the bundle is valid: a lane offline longer catches up with the next push (at most 366d)")
	note := fs.String("note", "", "why (kept in the lanes' journal and audit)")
	by := fs.String("by", "", "who pushes (default user@host)")
	keyFile := fs.String("key-file", "", "head office's private key (else POSAGENT_HQ_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return usageOf(err)
	}
	if fs.NArg() != 1 {
		return usagef("config set takes one YAML file (the keys to push), after the flags")
	}
	target, err := tf.target(e)
	if err != nil {
		return err
	}
	d, err := parseExpiry(*expires)
	if err != nil {
		return err
	}
	file := fs.Arg(0)
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	// Checked before anything else: a refused file needs neither key nor NATS.
	if _, err := config.CheckFragment(file, data); err != nil {
		return err
	}
	priv, err := readKey(*keyFile, e)
	if err != nil {
		return err
	}
	if *by == "" {
		*by = whoAmI()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, bundles, _, err := c.buckets(ctx, e)
	if err != nil {
		return err
	}
	defer nc.Close()
	p := &hq.Publisher{Bundles: bundles, Key: priv, By: *by, Now: e.now, Check: func(file string, yaml []byte) error {
		_, err := config.CheckFragment(file, yaml)
		return err
	}}
	b, err := p.Publish(ctx, hq.Push{Target: target, File: file, YAML: data, Expires: d, Note: *note})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %s version %d for %s: expires %s, signed by key %s\n", target.Key(), b.Version, target,
		b.Expires.Format(time.RFC3339), fleet.KeyID(priv.Public().(ed25519.PublicKey)))
	return nil
}

func configShow(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("posagent-hq config show", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c conn
	var tf targetFlags
	c.flags(fs)
	tf.flags(fs)
	asJSON := fs.Bool("json", false, "JSON")
	pubFlag := fs.String("public-key", "", "check the signature against this key (ed25519:...; else POSAGENT_HQ_PUBLIC_KEY, or the key file's)")
	keyFile := fs.String("key-file", "", "check the signature against this private key's public half")
	if err := fs.Parse(args); err != nil {
		return usageOf(err)
	}
	if fs.NArg() != 0 {
		return usagef("config show takes no argument (%q)", fs.Arg(0))
	}
	target, err := tf.target(e)
	if err != nil {
		return err
	}
	pub, err := publicKey(*pubFlag, *keyFile, e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, bundles, _, err := c.buckets(ctx, e)
	if err != nil {
		return err
	}
	defer nc.Close()
	p, err := hq.Show(ctx, bundles, target, pub, e.now())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "key\t%s\nversion\t%d\nissued\t%s\nexpires\t%s\nby\t%s\nnote\t%s\nsignature\t%s\n", p.Key, p.Version,
		p.Issued.Format(time.RFC3339), p.Expires.Format(time.RFC3339), p.By, p.Note, p.Check)
	w.Flush()
	fmt.Fprintf(e.stdout, "---\n%s", p.YAML)
	return nil
}

func fleetLs(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("posagent-hq fleet ls", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c conn
	c.flags(fs)
	asJSON := fs.Bool("json", false, "JSON (as GET /api/fleet)")
	stale := fs.Duration("stale-after", fleet.StaleAfter, "a lane without a heartbeat this long is stale")
	pubFlag := fs.String("public-key", "", "check the published bundles' signatures (ed25519:...; else POSAGENT_HQ_PUBLIC_KEY)")
	if err := fs.Parse(args); err != nil {
		return usageOf(err)
	}
	if fs.NArg() != 0 {
		return usagef("fleet ls takes no argument (%q)", fs.Arg(0))
	}
	pub, err := publicKey(*pubFlag, "", env{getenv: func(k string) string {
		if k == "POSAGENT_HQ_KEY_FILE" {
			return "" // fleet ls never needs the private key
		}
		return e.getenv(k)
	}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, bundles, lanes, err := c.buckets(ctx, e)
	if err != nil {
		return err
	}
	defer nc.Close()
	f := &hq.Fleet{Lanes: lanes, Bundles: bundles, PublicKey: pub, Limits: hq.Limits{StaleAfter: *stale}, Now: e.now}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(rctx) }()
	select {
	case <-f.Synced():
	case err := <-done:
		stop()
		return err
	case <-ctx.Done():
		stop()
		return fmt.Errorf("NATS at %s: the fleet's buckets did not answer in time", c.url)
	}
	report := hq.FleetReport{Lanes: f.View(), Published: f.PublishedBundles()}
	stop()
	<-done
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	writeFleet(e.stdout, report.Lanes)
	return nil
}

// writeFleet prints the fleet as a table: lane, software, configuration
// versions applied/published (store, lane), last heartbeat's age, state,
// problems.
func writeFleet(out io.Writer, lanes []hq.FleetLane) {
	if len(lanes) == 0 {
		fmt.Fprintln(out, "no lane has reported yet (each lane with fleet: set reports every 30 s)")
		return
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "LANE\tSOFTWARE\tSTORE CFG\tLANE CFG\tHEARTBEAT\tSTATE\tPROBLEMS")
	for _, l := range lanes {
		sw := l.Software
		if sw == "" {
			sw = "-"
		}
		probs := "-"
		if len(l.Problems) > 0 {
			probs = strings.Join(l.Problems, "; ")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s ago\t%s\t%s\n", l.Lane, sw, versions(l.Applied.Store, l.Published.Store),
			versions(l.Applied.Lane, l.Published.Lane), age(l.AgeSeconds), l.State, probs)
	}
	w.Flush()
}

// versions is "applied/published", "-" when neither.
func versions(applied, published uint64) string {
	if applied == 0 && published == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", applied, published)
}

func age(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
