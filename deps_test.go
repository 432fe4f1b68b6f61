// The import-direction test: posagent's packages depend one way,
//
//	cmd -> daemon -> agent/api -> agent -> agent/events -> store
//	        agent -> (gateway, store, devices); daemon -> (scanner, printer, display) -> drivers
//
// with paycode, money, slip and devices as leaves anyone may use (standard library
// only), fonts beside them, and config read only by cmd and the daemon. It runs `go list -deps
// -json` over the module (non-test code) and fails when an arrow runs up.
package posagent_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/posagent/posagent"

// allowed lists, per room, the rooms of this module its packages may
// import. A package belongs to the longest key that is its path or a
// parent of it, so a new package (agent/outbox) joins its room's rules; a
// package in no room fails the test until it is placed here. A room may
// always import its own subpackages.
var allowed = map[string][]string{
	"cmd": {"daemon", "agent", "config", "gateway", "scanner", "printer", "display", "store", "drivers", "fonts", "paycode", "money", "slip", "feed", "hq", "devices", "fleet", "internal/mangen", "client"},
	// The Go client of the local API, for POS integrators: the standard
	// library only (TestClientLinksNoEngine).
	"client": {},
	// Text views of the client's values (posagent status, show, payments),
	// for the CLI and any dashboard built on client.
	"client/textview": {"client", "money", "devices"},
	// The daemon composes the parts from the configuration; only cmd
	// imports it.
	"daemon": {"agent", "config", "gateway", "scanner", "printer", "display", "store", "drivers", "fonts", "paycode", "money", "slip", "feed", "devices", "fleet"},
	// The device registry: plain data behind a lock (standard library only).
	"devices": {},
	// Man pages from the cobra commands (posagent gen-docs).
	"internal/mangen": {},
	// The lane's feed to NATS JetStream reads the journal only.
	"feed": {"store", "paycode", "money"},
	// The head office's books (posagent-hq) read the feed's envelopes.
	"hq": {"feed", "fleet", "paycode", "money"},
	// Signed configuration bundles and heartbeats: the wire format of the
	// fleet, shared by head office and the lanes; a leaf.
	"fleet": {},
	// The lane's side of the fleet: watches head office's bundles, keeps
	// what it applied in the journal; the configuration is its Applier's.
	"fleet/lane": {"fleet", "store"},
	// The engine builds slips (receipts, reports) and takes scans of its
	// own type: no device, printer or display code (TestAgentLinksNoDeviceCode).
	"agent": {"gateway", "store", "paycode", "money", "slip", "devices"},
	// The HTTP API holds the engine and its books; the engine never
	// imports it (a cycle the compiler refuses anyway). It draws PNGs with
	// functions the daemon gives it (Options.Render*).
	"agent/api": {"agent", "agent/books", "agent/refund", "gateway", "store", "paycode", "money", "slip"},
	// The books (shifts, X/Z reports, reconciliation) reach the engine
	// through an interface of their own: they never import it, and the
	// engine never imports them (TestEngineImportsNoFeature).
	"agent/books": {"agent/operr", "gateway", "store", "paycode", "money", "slip"},
	// The refund desk (taking, sending and settling refunds) reaches the
	// engine through interfaces of its own (refund.Engine, refund.Clock):
	// the engine builds it and runs its jobs; it never imports the engine.
	"agent/refund": {"agent/operr", "agent/outbox", "gateway", "store"},
	// The exchange rate and the clock watch: the engine composes them.
	"agent/rate":       {"gateway", "store"},
	"agent/clockwatch": {"store"},
	// The gateway credentials' watch probes the metered gateway it is given.
	"agent/gwauth": {"agent/operr", "gateway", "store"},
	// The gateway's meter (latency, errors, reachability) tells the
	// credentials' watch of a suspect answer.
	"agent/gwmeter": {"agent/gwauth", "agent/rate", "gateway"},
	// What an answer says of the wallet's side: pure, over the gateway's
	// result and the journal's record of it.
	"agent/walletside": {"gateway", "store"},
	// The error an engine operation returns: a leaf (standard library only).
	"agent/operr": {},
	// Where a scan goes, applied (Intake: the routing rule, dedupe, the
	// cart and its tip rules): the standard library and two leaves, the
	// engine's errors and payment codes (classify, mask). It reaches the
	// payments through an interface of its own (route.Engine), never
	// through the journal or the gateway: the engine implements it.
	"agent/route": {"agent/operr", "paycode"},
	// The possible-duplicate warning reads the candidates' states in the
	// payment's own store transaction: the journal only, never the engine.
	"agent/dupguard": {"store", "money"},
	// The outbox's pool of workers knows the journal only; what a job
	// does is the engine's.
	"agent/outbox": {"store"},
	// The event bus knows the journal only.
	"agent/events": {"store"},
	// The read side (status, lists, exports, audit trail, metrics) reads
	// the journal and is told the engine's live state (view.Live): it
	// never imports the engine, which builds it (Engine.View).
	"agent/view": {"agent/dupguard", "agent/gwauth", "agent/gwmeter", "agent/operr", "agent/route", "store", "devices"},
	// Test support (internal/: no API, importable only inside the module).
	// The stack's, agent/api's, client's and cmd's tests share agenttest (the
	// typed client dialled at a test server, a raw one): no engine.
	// displaytest drives the display page in Chromium; fontstest
	// loads the CJK font.
	"internal/agenttest":   {"gateway", "client"},
	"internal/displaytest": {"display"},
	"internal/fontstest":   {"fonts"},
	"gateway":              {"paycode", "money"},
	"scanner":              {"drivers", "paycode", "money"},
	"printer":              {"drivers", "fonts", "paycode", "money", "slip"},
	"display":              {"drivers", "fonts", "paycode", "money"},
	"store":                {"paycode", "money"},
	"drivers":              {"paycode", "money"},
	"fonts":                {},
	"config":               {"paycode", "money", "fleet"},
	"scripts":              {},
	"paycode":              {}, // standard library only (checked below)
	"money":                {}, // standard library only (checked below)
	"slip":                 {}, // standard library only (checked below)
}

// stdlibOnly are the leaves: they import nothing outside the standard library.
var stdlibOnly = []string{"paycode", "money", "slip", "fleet", "agent/operr"}

// devicePackages must never be linked into the OTTPay client or its
// simulator: the protocol is pure, and the simulator runs anywhere.
var devicePackages = []string{"github.com/karalabe/hid", "github.com/tarm/serial",
	module + "/scanner", module + "/drivers", module + "/printer", module + "/display", module + "/store"}

type listedPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

// goList runs `go list -deps -json` with args and decodes its stream.
func goList(t *testing.T, args ...string) map[string]*listedPackage {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list imports: %v", err)
	}
	cmd := exec.Command(goBin, append([]string{"list", "-deps", "-json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	pkgs := map[string]*listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// rel is path inside the module ("agent/outbox"), ok false outside it.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// within reports whether path is room or below it.
func within(path, room string) bool { return path == room || strings.HasPrefix(path, room+"/") }

// roomOf is the longest key of allowed that holds path.
func roomOf(path string) (string, bool) {
	best := ""
	for room := range allowed {
		if within(path, room) && len(room) > len(best) {
			best = room
		}
	}
	return best, best != ""
}

func TestImportsPointDown(t *testing.T) {
	pkgs := goList(t, "./...")
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok || from == "" { // outside the module, or this test
			continue
		}
		room, ok := roomOf(from)
		if !ok {
			t.Errorf("%s is in no room: add it to the allowed table in deps_test.go", from)
			continue
		}
		for _, imp := range p.Imports {
			to, ok := rel(imp)
			if !ok {
				continue
			}
			if within(to, room) || slices.ContainsFunc(allowed[room], func(r string) bool { return within(to, r) }) {
				continue
			}
			t.Errorf("%s imports %s: %s may import only %v (and its own subpackages)", from, to, room, allowed[room])
		}
		// Nothing below agent depends on agent or config, even indirectly:
		// only cmd and the daemon it runs compose them.
		if room != "cmd" && room != "daemon" {
			for _, dep := range p.Deps {
				to, ok := rel(dep)
				if !ok {
					continue
				}
				for _, top := range []string{"agent", "config"} {
					if within(to, top) && !within(from, top) {
						t.Errorf("%s depends on %s: only cmd and the daemon may", from, to)
					}
				}
			}
		}
		if slices.Contains(stdlibOnly, room) {
			for _, imp := range p.Imports {
				if q := pkgs[imp]; q == nil || !q.Standard {
					if r, _ := rel(imp); !within(r, room) {
						t.Errorf("%s imports %s: %s is a leaf, standard library only", from, imp, room)
					}
				}
			}
		}
	}
}

// TestEngineSpeaksNoHTTP: the payment engine (package agent) imports no
// net/http; the local API, its front door and the call-backs are agent/api.
func TestEngineSpeaksNoHTTP(t *testing.T) {
	pkgs := goList(t, "./agent")
	p := pkgs[module+"/agent"]
	if p == nil {
		t.Fatal("go list ./agent did not list the agent package")
	}
	for _, imp := range p.Imports {
		if imp == "net/http" || strings.HasPrefix(imp, "net/http/") {
			t.Errorf("agent imports %s: HTTP belongs in agent/api", imp)
		}
	}
}

// TestEngineImportsNoFeature: the payment engine (package agent) links
// neither its books nor the API built over it (go list -deps ./agent): they
// reach the engine through interfaces of their own, and the daemon wires
// them, so the engine's tests can build them without a cycle.
func TestEngineImportsNoFeature(t *testing.T) {
	pkgs := goList(t, "./agent")
	for _, feature := range []string{"agent/books", "agent/api"} {
		if pkgs[module+"/"+feature] != nil {
			t.Errorf("agent links %s: the engine must not depend on the parts built over it", feature)
		}
	}
	if pkgs[module+"/agent"] == nil {
		t.Fatal("go list ./agent did not list the agent package")
	}
}

// TestGatewayLinksNoDeviceCode is `go list -deps ./gateway/...`: the OTTPay
// client and the simulator link no device driver, no cgo HID code.
func TestGatewayLinksNoDeviceCode(t *testing.T) {
	pkgs := goList(t, "./gateway/...")
	if len(pkgs) == 0 {
		t.Fatal("go list ./gateway/... listed nothing")
	}
	for path := range pkgs {
		for _, bad := range devicePackages {
			if within(path, bad) {
				t.Errorf("./gateway/... depends on %s", path)
			}
		}
	}
}

// engineForbidden are the packages the engine and its local API must not
// link: the scanner and printer code, the drivers (the cgo HID library, the
// serial library), the QR codec and the font rasterizer. Receipts and
// reports reach agent as slip values; pictures are drawn by functions the daemon
// hands the API.
var engineForbidden = []string{module + "/scanner", module + "/printer", module + "/drivers",
	module + "/display", module + "/fonts", "github.com/karalabe/hid", "github.com/tarm/serial",
	"github.com/makiuchi-d/gozxing", "golang.org/x/image/font", "github.com/golang/freetype"}

// TestAgentLinksNoDeviceCode is `go list -deps ./agent/...`: the payment
// engine, its API, events, outbox and routing link no device,
// printer, QR or font code.
func TestAgentLinksNoDeviceCode(t *testing.T) {
	pkgs := goList(t, "./agent/...")
	if pkgs[module+"/agent"] == nil || pkgs[module+"/agent/api"] == nil {
		t.Fatal("go list ./agent/... did not list agent and agent/api")
	}
	for path := range pkgs {
		for _, bad := range engineForbidden {
			if within(path, bad) {
				t.Errorf("./agent/... depends on %s", path)
			}
		}
	}
}

// TestLaneLinksNoNATSServer: the lane's binary is a NATS client only; the
// server (embedded by posagent-hq and the tests) is never linked into it.
func TestLaneLinksNoNATSServer(t *testing.T) {
	pkgs := goList(t, "./cmd/posagent")
	if pkgs[module+"/cmd/posagent"] == nil {
		t.Fatal("go list ./cmd/posagent did not list the lane's binary")
	}
	for path := range pkgs {
		if within(path, "github.com/nats-io/nats-server") {
			t.Errorf("./cmd/posagent depends on %s: the lane must not link a NATS server", path)
		}
	}
}

// TestClientLinksNoEngine is `go list -deps ./client`: the Go client a POS
// imports links none of the daemon (no engine, journal, gateway, device,
// printer or display code) and nothing outside the standard library.
func TestClientLinksNoEngine(t *testing.T) {
	pkgs := goList(t, "./client")
	if pkgs[module+"/client"] == nil {
		t.Fatal("go list ./client did not list the client package")
	}
	for path, p := range pkgs {
		if path == module+"/client" {
			continue
		}
		if !p.Standard {
			t.Errorf("./client depends on %s: the client is the standard library only", path)
		}
	}
}
