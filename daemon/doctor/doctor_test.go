package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.etcd.io/bbolt"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/store"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func doctorOn(t *testing.T, body string, opt Options) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "posagent.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, src, err := config.Load(path, nil)
	var out bytes.Buffer
	n := Run(context.Background(), &out, cfg, src, err, opt)
	return out.String(), n
}

// TestDoctorBrokenConfig: every problem of a deliberately broken setup is
// named, with its fix, and the run fails.
func TestDoctorBrokenConfig(t *testing.T) {
	dir := t.TempDir()
	printerAddr, gatewayAddr := closedPort(t), closedPort(t)
	body := fmt.Sprintf(`
gateway:
  url: http://%s/processV2
  merchant_id: X1
store:
  path: %s/missing/posagent.db
scanners:
  - name: counter
    kind: serial
    device: %s/ttyACM9
  - name: handheld
    kind: hid
    vid: 0x1eab
    pid: 0xfffe
printer:
  kind: network
  address: %s
  papr: 80mm
`, gatewayAddr, dir, dir, printerAddr)
	out, failed := doctorOn(t, body, Options{Timeout: 2 * time.Second})
	for _, want := range []string{
		"FAIL  scanner handheld: ", // no such device, no USB access or no cgo: each says so
		"1eab:fffe",
		"FAIL  config: line 18: unknown key printer.papr (did you mean printer.paper?)",
		`FAIL  config: gateway.merchant_id "X1" must be two letters and eight digits`,
		"FAIL  journal: directory " + dir + "/missing does not exist",
		"FAIL  scanner counter: " + dir + "/ttyACM9 not found: plug the device in, or fix scanners[0].device",
		"FAIL  printer: " + printerAddr + " refused the connection: is the printer on, and is printer.address right",
		"FAIL  gateway: " + gatewayAddr + " refused the connection: check the network",
		"ok    clock:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
	if failed != 7 {
		t.Errorf("%d failures, want 7:\n%s", failed, out)
	}
	if t.Failed() {
		t.Log(out)
	}
}

// TestDoctorHealthy runs doctor against real parts: a pseudo-terminal as the
// serial scanner, a TCP listener as the printer, the OTTPay simulator over
// loopback HTTP as the gateway and a real bbolt journal.
func TestDoctorHealthy(t *testing.T) {
	dir := t.TempDir()
	ptmx, tty, err := pty.Open()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no pseudo-terminals: %v (CI runs on Linux, which has them)", err)
		}
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()

	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	go func() {
		for {
			c, err := pl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sim := ottsim.New(ottsim.Options{MerchantID: "ON00004652", SignKey: config.ExampleSignKey})
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, sl) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("sim: %v", err)
		}
	}()

	dbPath := filepath.Join(dir, "posagent.db")
	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	body := fmt.Sprintf(`
gateway:
  url: http://%s/processV2
store:
  path: %s
scanners:
  - name: counter
    kind: serial
    device: %s
printer:
  kind: network
  address: %s
`, sl.Addr(), dbPath, tty.Name(), pl.Addr())
	out, failed := doctorOn(t, body, Options{Timeout: 5 * time.Second})
	if failed != 0 {
		t.Fatalf("%d failures:\n%s", failed, out)
	}
	for _, want := range []string{
		"ok    config:",
		"ok    journal: " + dbPath + " checks sound (0 payments",
		"ok    scanner counter: " + tty.Name() + " opens at 9600 baud",
		"ok    printer: " + pl.Addr().String() + " accepts connections",
		"ok    gateway: " + sl.Addr().String() + " answered EX_RATE_QUERY: 1 CAD = ",
		"ok    clock: within ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}

	// The same run with a clock ten minutes fast fails the clock check
	// against the simulator's Date header.
	out, failed = doctorOn(t, body, Options{Timeout: 5 * time.Second, Now: func() time.Time { return time.Now().Add(10 * time.Minute) }})
	// (the Date header has whole seconds, so the skew reads 10m0s or 10m1s)
	if failed != 1 || !strings.Contains(out, "FAIL  clock: 10m") || !strings.Contains(out, "off the gateway's clock: enable time synchronisation") {
		t.Errorf("skewed clock: %d failures:\n%s", failed, out)
	}
}

func TestDoctorWrongKeyAndYear(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sim := ottsim.New(ottsim.Options{MerchantID: "ON00004652", SignKey: config.ExampleSignKey})
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, sl) }()
	defer func() { cancel(); <-done }()

	const key = "ZZZZZZZZZZZZZZZZ"
	body := fmt.Sprintf("gateway:\n  url: http://%s/processV2\n  sign_key: %s\nstore:\n  path: %s/p.db\n", sl.Addr(), key, t.TempDir())
	out, failed := doctorOn(t, body, Options{Timeout: 5 * time.Second, Now: func() time.Time { return time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if !strings.Contains(out, "FAIL  gateway: gateway_auth: "+sl.Addr().String()+" refuses this terminal's credentials (EX_RATE_QUERY refused: FAIL") {
		t.Errorf("wrong key not named gateway_auth:\n%s", out)
	}
	if !strings.Contains(out, "FAIL  clock: the system time is 1970-01-01T00:00:00Z") {
		t.Errorf("bad year not reported:\n%s", out)
	}
	if strings.Contains(out, key) {
		t.Errorf("doctor prints the sign key:\n%s", out)
	}
	if failed != 2 {
		t.Errorf("%d failures, want 2:\n%s", failed, out)
	}
}

// TestDoctorLockedJournal: a journal held by a running agent is reported as
// locked, not as broken.
func TestDoctorLockedJournal(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "posagent.db")
	db, err := bbolt.Open(dbPath, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out, failed := doctorOn(t, "store:\n  path: "+dbPath+"\n", Options{Timeout: 100 * time.Millisecond})
	if failed != 1 || !strings.Contains(out, "FAIL  journal: "+dbPath+" is locked: an agent is running") {
		t.Fatalf("%d failures:\n%s", failed, out)
	}
}

// TestDoctorPrintTest prints the test receipt into a file printer.
func TestDoctorPrintTest(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "receipts.bin")
	out, failed := doctorOn(t, "store:\n  path: "+dir+"/p.db\nprinter:\n  kind: file\n  path: "+bin+"\n", Options{PrintTest: true})
	if failed != 0 || !strings.Contains(out, "ok    print-test: sent a test receipt") {
		t.Fatalf("%d failures:\n%s", failed, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte{0x1b, 0x40}) || !bytes.Contains(data, []byte("posagent doctor: test print")) {
		t.Fatalf("test receipt bytes: %q", data)
	}
}

// TestDoctorMalformedFile stops after the config when nothing loads.
func TestDoctorMalformedFile(t *testing.T) {
	out, failed := doctorOn(t, "printer: [\n", Options{})
	if failed != 2 || !strings.Contains(out, "FAIL  config: malformed YAML: line 1") || strings.Contains(out, "journal") {
		t.Fatalf("%d failures:\n%s", failed, out)
	}
}
