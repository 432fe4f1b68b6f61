package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server timeouts of the local API. A request's headers must arrive within
// ReadHeaderTimeout; its body within Access.BodyTimeout (set by the front
// door once it accepted the headers); an idle keep-alive connection is
// closed after IdleTimeout.
const (
	ReadHeaderTimeout = 5 * time.Second
	IdleTimeout       = 60 * time.Second
	maxHeaderBytes    = 32 << 10
	// shutdownWait is how long a stop waits for requests in flight before
	// it closes what is left (slow bodies, idle connections).
	shutdownWait = 2 * time.Second
)

// NewServer returns the http.Server for the API's handler, with the
// timeouts above and the connection kept for the front door (Unix socket
// peer credentials).
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler: h, ReadHeaderTimeout: ReadHeaderTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ConnContext: ConnContext, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// Serve serves srv on every listener until ctx ends, then stops: requests in
// flight get a moment to finish, then every connection still open (an
// event stream, a slow body, an idle keep-alive) is closed. A stop is not
// an error.
func Serve(ctx context.Context, srv *http.Server, ls ...net.Listener) error {
	errc := make(chan error, len(ls))
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("agent: serve api on %s: %w", l.Addr(), err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	srv.SetKeepAlivesEnabled(false)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownWait)
	if srv.Shutdown(sctx) != nil {
		srv.Close()
	}
	cancel()
	wg.Wait()
	return err
}

// ListenUnix listens on a Unix socket at path, mode 0660, owned by group
// (a name or a number; "" keeps the agent's group). A stale socket file
// left by a crash is replaced; a live one is an error.
func ListenUnix(path, group string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("agent: api.socket %s exists and is not a socket: remove it or choose another path", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("agent: api.socket %s: another agent is listening on it", path)
		}
		os.Remove(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("agent: api.socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("agent: api.socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("agent: api.socket %s: chmod: %w", path, err)
	}
	if group != "" {
		gid, err := strconv.Atoi(group)
		if err != nil {
			g, lerr := user.LookupGroup(group)
			if lerr != nil {
				l.Close()
				return nil, fmt.Errorf("agent: api.socket_group %s: %w", group, lerr)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("agent: api.socket %s: chown to group %s: %w", path, group, err)
		}
	}
	return l, nil
}

// LookupUIDs turns api.socket_users (user names or numeric uids) into uids.
func LookupUIDs(names []string) ([]int, error) {
	var out []int
	for _, n := range names {
		if uid, err := strconv.Atoi(n); err == nil {
			out = append(out, uid)
			continue
		}
		u, err := user.Lookup(n)
		if err != nil {
			return nil, fmt.Errorf("agent: api.socket_users %s: %w", n, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		out = append(out, uid)
	}
	return out, nil
}

// AutoCertPaths is where api.tls auto keeps its certificate and key: beside
// the journal.
func AutoCertPaths(journal string) (cert, key string) {
	dir := filepath.Dir(journal)
	return filepath.Join(dir, "api-tls.crt"), filepath.Join(dir, "api-tls.key")
}

// LoadOrCreateCert loads the certificate and key at the two paths; when
// neither exists it makes a self-signed ECDSA P-256 certificate for hosts
// (names and IP addresses), valid ten years, and writes both (the key
// 0600). A POS pins its SHA-256 fingerprint (Fingerprint).
func LoadOrCreateCert(certPath, keyPath string, hosts []string) (tls.Certificate, error) {
	_, cerr := os.Stat(certPath)
	_, kerr := os.Stat(keyPath)
	if errors.Is(cerr, os.ErrNotExist) && errors.Is(kerr, os.ErrNotExist) {
		if err := createCert(certPath, keyPath, hosts); err != nil {
			return tls.Certificate{}, err
		}
	}
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("agent: api tls: load %s: %w", certPath, err)
	}
	return c, nil
}

func createCert(certPath, keyPath string, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("agent: api tls: key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	name, _ := os.Hostname()
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "posagent " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range append(hosts, "localhost", "127.0.0.1", "::1", name) {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			if !ip.IsUnspecified() {
				tpl.IPAddresses = append(tpl.IPAddresses, ip)
			}
		} else {
			tpl.DNSNames = append(tpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("agent: api tls: certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("agent: api tls: key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o750); err != nil {
		return fmt.Errorf("agent: api tls: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return fmt.Errorf("agent: api tls: write key: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("agent: api tls: write certificate: %w", err)
	}
	return nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, as
// "AB:CD:..." (what openssl x509 -fingerprint -sha256 prints).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// CertFileFingerprint reads a PEM certificate file and returns Fingerprint
// of its first certificate.
func CertFileFingerprint(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("agent: api tls: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return "", fmt.Errorf("agent: api tls: %s holds no PEM certificate", path)
	}
	return Fingerprint(blk.Bytes), nil
}

// CheckListen refuses a non-loopback listen address without a token
// (contract: loopback needs no credentials; anything else requires api.token).
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("agent: api.listen %q: %v (want host:port, s.g. 127.0.0.1:7420)", addr, err)
	}
	if isLoopback(host) || token != "" {
		return nil
	}
	where := host
	if where == "" {
		where = "every interface"
	}
	return fmt.Errorf("agent: api.listen %s listens on %s, not loopback: set api.token (or POSAGENT_API_TOKEN) so that requests must carry Authorization: Bearer <token>, or listen on 127.0.0.1", addr, where)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
