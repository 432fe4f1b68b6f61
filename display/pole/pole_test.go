package pole

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/drivers/serial"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "                    "},
		{"TOTAL CAD 12.50", "TOTAL CAD 12.50     "},
		{"exactly twenty chars", "exactly twenty chars"},
		{"twenty-one characters", "twenty-one character"},
		{"Maple 茶屋 Tea", "Maple  Tea          "},
		{"a\x1b@b\tc\r\n", "a @b c              "},
		{"\x7fdel", " del                "},
		{"ÉCLAIR Crème", "ECLAIR Creme        "},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLines(t *testing.T) {
	base := display.Screen{Amount: 1250, Currency: "CAD"}
	with := func(kind, msg, wallet string) display.Screen {
		s := base
		s.Kind, s.Message, s.Wallet = kind, msg, wallet
		return s
	}
	tests := []struct {
		s        display.Screen
		merchant string
		want     [2]string
	}{
		{display.Screen{Kind: display.KindIdle}, "Maple Tea House", [2]string{"Maple Tea House", "WELCOME"}},
		{display.Screen{Kind: display.KindIdle}, "茶屋", [2]string{"WELCOME", ""}},
		{with(display.KindAmountDue, "", ""), "", [2]string{"TOTAL CAD 12.50", ""}},
		{with(display.KindAmountDue, display.MsgCheckingPay, ""), "", [2]string{"TOTAL CAD 12.50", "CHECKING PAYMENT"}},
		{with(display.KindAmountDue, display.MsgConnecting, ""), "", [2]string{"TOTAL CAD 12.50", "PLEASE WAIT"}},
		{with(display.KindAmountDue, display.MsgConfirmOnPhone, ""), "", [2]string{"TOTAL CAD 12.50", "CONFIRM ON PHONE"}},
		{with(display.KindScanPrompt, display.MsgScanPrompt, ""), "", [2]string{"TOTAL CAD 12.50", "PLEASE SCAN CODE"}},
		{with(display.KindQR, "", "wechat"), "", [2]string{"TOTAL CAD 12.50", "SCAN QR: WECHAT PAY"}},
		{with(display.KindQR, "", "alipay"), "", [2]string{"TOTAL CAD 12.50", "SCAN QR: ALIPAY"}},
		{with(display.KindPaid, display.MsgPaid, ""), "", [2]string{"TOTAL CAD 12.50", "PAID - THANK YOU"}},
		{with(display.KindFailed, "insufficient balance", ""), "", [2]string{"TOTAL CAD 12.50", "DECLINED"}},
		{with(display.KindCancelled, "", ""), "", [2]string{"TOTAL CAD 12.50", "CANCELLED"}},
		{display.Screen{Kind: display.KindAmountDue, Amount: 123456789, Currency: "CAD"}, "", [2]string{"TOTAL CAD 1234567.89", ""}},
		// With a tip the customer is charged amount + tip: the pole shows that.
		{display.Screen{Kind: display.KindQR, Amount: 1250, Tip: 200, Currency: "CAD", Wallet: "wechat"}, "", [2]string{"TOTAL CAD 14.50", "SCAN QR: WECHAT PAY"}},
	}
	for _, tt := range tests {
		if got := Lines(tt.s, tt.merchant); got != tt.want {
			t.Errorf("Lines(%s %q) = %q, want %q", tt.s.Kind, tt.s.Message, got, tt.want)
		}
	}
}

// TestFrameBytes spells the bytes out by hand, independently of the encoder.
func TestFrameBytes(t *testing.T) {
	lines := [2]string{"TOTAL CAD 12.50", "PAID - THANK YOU"}
	l1 := "TOTAL CAD 12.50     "
	l2 := "PAID - THANK YOU    "
	tests := []struct {
		d          Dialect
		init, fram string
	}{
		{EpsonDMD{}, "\x1b@\x1f\x01\x1fC\x00\x0c", "\x0b" + l1 + "\x1f$\x01\x02" + l2},
		{CD5220{}, "\x1b@\x0c\x1b_\x00", "\x1bQA" + l1 + "\r\x1bQB" + l2 + "\r"},
	}
	for _, tt := range tests {
		if got := string(tt.d.Init()); got != tt.init {
			t.Errorf("%s Init = %q, want %q", tt.d.Name(), got, tt.init)
		}
		if got := string(tt.d.Frame(lines)); got != tt.fram {
			t.Errorf("%s Frame = %q, want %q", tt.d.Name(), got, tt.fram)
		}
	}
}

func TestDialectByName(t *testing.T) {
	for name, want := range map[string]string{"epson": "epson", "DM-D": "epson", " epson-dmd ": "epson", "CD5220": "cd5220"} {
		d, err := DialectByName(name)
		if err != nil || d.Name() != want {
			t.Errorf("DialectByName(%q) = %v, %v; want %s", name, d, err, want)
		}
	}
	_, err := DialectByName("utc")
	if err == nil || !strings.Contains(err.Error(), `pole: dialect "utc": want one of epson, cd5220`) {
		t.Errorf("unknown dialect: %v", err)
	}
}

// session is the screens of one sale, shown in order.
var session = []display.Screen{
	{Kind: display.KindIdle},
	{Kind: display.KindAmountDue, Amount: 1250, Currency: "CAD"},
	{Kind: display.KindScanPrompt, Amount: 1250, Currency: "CAD", Message: display.MsgScanPrompt},
	{Kind: display.KindScanPrompt, Amount: 1250, Currency: "CAD", Message: display.MsgScanPrompt, Wallet: "wechat"}, // same lines: nothing written
	{Kind: display.KindPaid, Amount: 1250, Currency: "CAD"},
	{Kind: display.KindQR, Amount: 99, Currency: "CAD", Wallet: "alipay", CodeURL: "https://x"},
	{Kind: display.KindFailed, Amount: 99, Currency: "CAD", Message: "declined"},
	{Kind: display.KindIdle},
}

// TestPoleOverPTY shows a session through a real serial port (drivers/serial
// on a pseudo-terminal), reads the bytes back from the pty master and
// compares them with the golden file of each dialect.
func TestPoleOverPTY(t *testing.T) {
	for _, d := range []Dialect{EpsonDMD{}, CD5220{}} {
		t.Run(d.Name(), func(t *testing.T) {
			master, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminals here: %v", err)
			}
			defer master.Close()
			port, err := serial.Open(serial.Config{Device: tty.Name(), Baud: 9600})
			tty.Close() // the port has its own descriptor
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan []byte, 1)
			go func() {
				var buf bytes.Buffer
				io.Copy(&buf, master) // ends with EIO once the last slave descriptor closes
				got <- buf.Bytes()
			}()
			p := New(port, d, Options{Merchant: "Maple Tea House"})
			for _, s := range session {
				if err := p.Show(s); err != nil {
					t.Fatalf("Show(%s): %v", s.Kind, err)
				}
			}
			if err := port.Close(); err != nil {
				t.Fatal(err)
			}
			b := <-got
			golden(t, d.Name()+".golden", b)
			// The stream is exactly Init plus one Frame per change.
			var want []byte
			want = append(want, d.Init()...)
			var last [2]string
			for i, s := range session {
				l := Lines(s, "Maple Tea House")
				if i > 0 && l == last {
					continue
				}
				want = append(want, d.Frame(l)...)
				last = l
			}
			if !bytes.Equal(b, want) {
				t.Errorf("read back %q\nwant %q", b, want)
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update)", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %q\nwant %q (rerun with -update if intended)", name, got, want)
	}
}

// flaky fails the writes it is told to.
type flaky struct {
	bytes.Buffer
	fail bool
}

func (f *flaky) Write(b []byte) (int, error) {
	if f.fail {
		return 0, errors.New("unplugged")
	}
	return f.Buffer.Write(b)
}

func TestPoleReinitAfterWriteError(t *testing.T) {
	w := &flaky{}
	p := New(w, EpsonDMD{}, Options{Shared: true})
	paid := display.Screen{Kind: display.KindPaid, Amount: 1, Currency: "CAD"}
	if err := p.Show(paid); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(w.Bytes(), append([]byte{0x1b, '=', 2}, EpsonDMD{}.Init()...)) {
		t.Fatalf("first write %q does not select the display and initialise", w.Bytes())
	}
	w.Reset()
	w.fail = true
	err := p.Show(display.Screen{Kind: display.KindIdle})
	if err == nil || !strings.Contains(err.Error(), "pole: epson: write: unplugged") {
		t.Fatalf("Show on a failing writer = %v", err)
	}
	w.fail = false
	if err := p.Show(display.Screen{Kind: display.KindIdle}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("\x1b=\x02%s%s", EpsonDMD{}.Init(), EpsonDMD{}.Frame([2]string{"WELCOME", ""}))
	if w.String() != want {
		t.Errorf("after the error wrote %q, want %q", w.String(), want)
	}
}

func FuzzFrame(f *testing.F) {
	f.Add("TOTAL CAD 12.50", "PAID - THANK YOU")
	f.Add("\x1b@\x0c", "漢字\x00\xff")
	f.Add("", strings.Repeat("x", 100))
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, d := range []Dialect{EpsonDMD{}, CD5220{}} {
			fr := d.Frame([2]string{a, b})
			ta, tb := Text(a), Text(b)
			var want string
			switch d.(type) {
			case EpsonDMD:
				want = "\x0b" + ta + "\x1f$\x01\x02" + tb
			case CD5220:
				want = "\x1bQA" + ta + "\r\x1bQB" + tb + "\r"
			}
			if string(fr) != want {
				t.Fatalf("%s Frame(%q, %q) = %q", d.Name(), a, b, fr)
			}
			for _, s := range []string{ta, tb} {
				if len(s) != Width {
					t.Fatalf("Text length %d", len(s))
				}
				for i := 0; i < len(s); i++ {
					if s[i] < 0x20 || s[i] > 0x7e {
						t.Fatalf("byte %#x in the text of %q", s[i], s)
					}
				}
			}
		}
	})
}

func BenchmarkFrame(b *testing.B) {
	for b.Loop() {
		CD5220{}.Frame([2]string{"TOTAL CAD 12.50", "PAID - THANK YOU"})
	}
}

// TestPoleReopens: the display's serial line goes away (the pty master
// closes, as on a USB unplug); the next Show fails, and the one after
// opens the new port and initialises the display again.
func TestPoleReopens(t *testing.T) {
	type dev struct {
		master *os.File
		path   string
	}
	newDev := func() dev {
		m, s, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminals here: %v", err)
		}
		t.Cleanup(func() { m.Close() })
		s.Close()
		return dev{m, s.Name()}
	}
	cur := newDev()
	opens := 0
	p := NewReopening(func() (io.WriteCloser, error) {
		opens++
		return serial.Open(serial.Config{Device: cur.path})
	}, CD5220{}, Options{})
	defer p.Close()
	read := func(d dev, n int) []byte {
		t.Helper()
		b := make([]byte, n)
		if _, err := io.ReadFull(d.master, b); err != nil {
			t.Fatalf("read %d bytes: %v", n, err)
		}
		return b
	}
	idle := display.Screen{Kind: display.KindIdle}
	if err := p.Show(idle); err != nil {
		t.Fatal(err)
	}
	first := append(CD5220{}.Init(), CD5220{}.Frame([2]string{"WELCOME", ""})...)
	if got := read(cur, len(first)); !bytes.Equal(got, first) {
		t.Fatalf("first frame %q", got)
	}
	// Unplug: the master goes away. Writes to a hung-up pty fail.
	cur.master.Close()
	paid := display.Screen{Kind: display.KindPaid, Amount: 100, Currency: "CAD"}
	var err error
	for i := 0; i < 3 && err == nil; i++ { // the first write may still land in the kernel buffer
		err = p.Show(display.Screen{Kind: display.KindAmountDue, Amount: int64(i + 1), Currency: "CAD"})
	}
	if err == nil || !strings.Contains(err.Error(), "pole: cd5220: write:") {
		t.Fatalf("Show on an unplugged display = %v", err)
	}
	// Plug in again (a new device node) and show.
	cur = newDev()
	if err := p.Show(paid); err != nil {
		t.Fatal(err)
	}
	want := append(CD5220{}.Init(), CD5220{}.Frame(Lines(paid, ""))...)
	if got := read(cur, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("after reopening %q, want %q", got, want)
	}
	if opens != 2 {
		t.Errorf("opened %d times, want 2", opens)
	}
}
