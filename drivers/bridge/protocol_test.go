package bridge_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/posagent/posagent/drivers/bridge"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// examples are the protocol's messages as docs/bridge.md shows them; their
// wire form is pinned by testdata/messages/<name>.json.
var examples = []struct {
	name string
	m    bridge.Message
}{
	{"hello", bridge.Message{Type: "hello", Version: 1, Device: "sunmi-t2", Helper: "posbridge-android/1.0"}},
	{"hello_range", bridge.Message{Type: "hello", Version: 2, MinVersion: 1, Device: "clover-station", Helper: "posbridge-android/2.0"}},
	{"welcome", bridge.Message{Type: "welcome", Version: 1, Session: "9f3c2a71d04be815", Server: "posagent", PingMillis: 15000}},
	{"scan", bridge.Message{Type: "scan", ID: "41", Code: "134567890123456789", Symbology: "]Q1"}},
	{"scan_ack", bridge.Message{Type: "ack", Ref: "41"}},
	{"scan_nack", bridge.Message{Type: "nack", Ref: "42", Error: "no payment is waiting for a code"}},
	{"state", bridge.Message{Type: "state", ID: "43", Devices: []bridge.DeviceState{
		{Kind: "printer", Name: "sunmi-inner", State: "paper_out", Error: "paper out"},
		{Kind: "scanner", Name: "sunmi-scanner", State: "ok"},
	}}},
	{"job_print_escpos", bridge.Message{Type: "job", JobID: "rcpt:pay_7Qm2:customer:0", Kind: "print", Format: "escpos",
		Data: []byte("\x1b@Maple Tea House\n\x1dVB\x03"), WidthDots: 384}},
	{"job_print_png", bridge.Message{Type: "job", JobID: "rcpt:pay_7Qm2:merchant:0", Kind: "print", Format: "png",
		Data: []byte("\x89PNG\r\n\x1a\n..."), WidthDots: 576}},
	{"job_display", bridge.Message{Type: "job", JobID: "display:17", Kind: "display", Format: "png", Data: []byte("\x89PNG\r\n\x1a\n...")}},
	{"job_ack", bridge.Message{Type: "ack", JobID: "rcpt:pay_7Qm2:customer:0"}},
	{"job_nack", bridge.Message{Type: "nack", JobID: "rcpt:pay_7Qm2:customer:0", Error: "printer: paper out"}},
	{"ping", bridge.Message{Type: "ping", ID: "p9"}},
	{"pong", bridge.Message{Type: "pong", Ref: "p9"}},
	{"error", bridge.Message{Type: "error", Ref: "44", Error: `bridge: invalid scan: missing "code"`}},
}

func TestExamplesGolden(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			b, err := bridge.Encode(ex.m)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			path := filepath.Join("testdata", "messages", ex.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := string(b) + "\n"; got != string(want) {
				t.Errorf("wire form differs from %s:\n got %s\nwant %s", path, got, want)
			}
			back, err := bridge.Decode(want)
			if err != nil {
				t.Fatalf("Decode(golden): %v", err)
			}
			if !reflect.DeepEqual(back, ex.m) {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, ex.m)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct{ in, want string }{
		{``, "empty message"},
		{`  `, "empty message"},
		{`null`, "not a JSON object"},
		{`{"type":`, "unexpected end of JSON input"},
		{`{}`, `missing "type"`},
		{`{"type":"hello"}`, `invalid hello: missing "version"`},
		{`{"type":"hello","version":1}`, `invalid hello: missing "device"`},
		{`{"type":"hello","version":1,"min_version":2,"device":"d"}`, "min_version 2 above version 1"},
		{`{"type":"hello","version":-1,"device":"d"}`, "negative number"},
		{`{"type":"hello","version":"one","device":"d"}`, "cannot unmarshal string"},
		{`{"type":"welcome","version":1}`, `needs "version" and "session"`},
		{`{"type":"scan","code":"1"}`, `invalid scan: missing "id"`},
		{`{"type":"scan","id":"1"}`, `invalid scan: missing "code"`},
		{`{"type":"scan","id":"1","code":"a\u0000b"}`, "code contains control character U+0000"},
		{`{"type":"scan","id":"1","code":"` + strings.Repeat("9", 4097) + `"}`, "code is 4097 bytes, at most 4096"},
		{`{"type":"scan","id":"` + long + `","code":"1"}`, "id is 200 bytes, at most 128"},
		{`{"type":"scan","id":"a\nb","code":"1"}`, "id contains control character"},
		{`{"type":"state","devices":[{"kind":"printer","name":"p"}]}`, `device 0 needs "kind", "name" and "state"`},
		{`{"type":"job","kind":"print","format":"escpos","data":"AA=="}`, `missing "job_id"`},
		{`{"type":"job","job_id":"j","kind":"fax","format":"escpos","data":"AA=="}`, `kind "fax"`},
		{`{"type":"job","job_id":"j","kind":"print","format":"pdf","data":"AA=="}`, `format "pdf"`},
		{`{"type":"job","job_id":"j","kind":"display","format":"escpos","data":"AA=="}`, `a display frame must be "png"`},
		{`{"type":"job","job_id":"j","kind":"print","format":"escpos"}`, `missing "data"`},
		{`{"type":"job","job_id":"j","kind":"print","format":"escpos","data":"%%%"}`, "illegal base64"},
		{`{"type":"ack"}`, `needs "job_id" (a job) or "ref" (a request)`},
		{`{"type":"nack","job_id":"j"}`, `invalid nack: missing "error"`},
		{`{"type":"error"}`, `invalid error: missing "error"`},
	} {
		_, err := bridge.Decode([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%.60q): %v, want an error containing %q", tc.in, err, tc.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "bridge: ") {
			t.Errorf("Decode(%.60q): error %q lacks the package prefix", tc.in, err)
		}
	}
}

func TestDecodeUnknownTypeKeepsID(t *testing.T) {
	m, err := bridge.Decode([]byte(`{"type":"print_label","id":"77","zpl":"^XA"}`))
	if !errors.Is(err, bridge.ErrUnknownType) {
		t.Fatalf("err %v, want ErrUnknownType", err)
	}
	if m.Type != "print_label" || m.ID != "77" {
		t.Errorf("message %+v, want type and id kept for the error answer", m)
	}
}

// Fields a newer peer adds within a version are ignored.
func TestDecodeIgnoresUnknownFields(t *testing.T) {
	m, err := bridge.Decode([]byte(`{"type":"scan","id":"1","code":"6901234567892","battery":0.8}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Code != "6901234567892" {
		t.Errorf("code %q", m.Code)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	if _, err := bridge.Encode(bridge.Message{Type: "job", JobID: "j", Kind: "print", Format: "escpos"}); err == nil ||
		!strings.Contains(err.Error(), `missing "data"`) {
		t.Errorf("Encode of a job without data: %v", err)
	}
	// JSON decoding already turns bad UTF-8 into U+FFFD; Encode checks Go strings.
	if _, err := bridge.Encode(bridge.Message{Type: "scan", ID: "1", Code: "\xff"}); err == nil ||
		!strings.Contains(err.Error(), "code is not valid UTF-8") {
		t.Errorf("Encode of a scan with bad UTF-8: %v", err)
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		lo, hi, want int
		ok           bool
	}{
		{0, 1, 1, true},
		{1, 1, 1, true},
		{1, 5, 1, true},
		{0, 2, 0, false}, // min defaults to max: speaks only 2
		{2, 3, 0, false},
		{0, 0, 0, false},
	} {
		v, ok := bridge.Negotiate(tc.lo, tc.hi)
		if v != tc.want || ok != tc.ok {
			t.Errorf("Negotiate(%d, %d) = %d, %v; want %d, %v", tc.lo, tc.hi, v, ok, tc.want, tc.ok)
		}
	}
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"paper out", 100, "paper out"},
		{"a\x00b\x1bc\x7f", 100, "a b c "},
		{"line1\nline2\tx", 100, "line1\nline2\tx"},
		{"bad \xff byte", 100, "bad ? byte"},
		{"纸张用完", 7, "纸张"}, // cut on a rune boundary
	} {
		if got := bridge.CleanText(tc.in, tc.n); got != tc.want {
			t.Errorf("CleanText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "messages", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `{}`, `[]`, `{"type":"scan","id":"1","code":"\u0000"}`,
		`{"type":"job","job_id":"j","kind":"print","format":"escpos","data":"AA=="}`,
		`{"type":"state","id":"1","devices":[]}`, `{"type":"ack","ref":"","job_id":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := bridge.Decode(b)
		if err != nil {
			return
		}
		// A valid message re-encodes, and decodes to the same message.
		out, err := bridge.Encode(m)
		if err != nil {
			t.Fatalf("Decode accepted %q but Encode refuses it: %v", b, err)
		}
		back, err := bridge.Decode(out)
		if err != nil {
			t.Fatalf("Decode(Encode(m)) failed: %v (wire %s)", err, out)
		}
		if !reflect.DeepEqual(normalize(back), normalize(m)) {
			t.Fatalf("round trip changed the message:\n in  %+v\n out %+v", m, back)
		}
	})
}

// normalize maps empty slices to nil (omitempty drops them from JSON).
func normalize(m bridge.Message) bridge.Message {
	if len(m.Devices) == 0 {
		m.Devices = nil
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	return m
}

func BenchmarkDecodeJob(b *testing.B) {
	m := bridge.Message{Type: "job", JobID: "rcpt:pay_7Qm2:customer:0", Kind: "print", Format: "escpos",
		Data: bytes.Repeat([]byte{0x1b, '@', 'A', '\n'}, 256), WidthDots: 384}
	wire, err := bridge.Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if _, err := bridge.Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}

// docs/bridge.md shows the wire form of every example message.
func TestDocsShowEveryExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "bridge.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range examples {
		wire, err := os.ReadFile(filepath.Join("testdata", "messages", ex.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, bytes.TrimSpace(wire)) {
			t.Errorf("docs/bridge.md does not show the %s example:\n%s", ex.name, wire)
		}
	}
}
