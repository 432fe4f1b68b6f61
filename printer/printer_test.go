package printer

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startVirtual runs a VirtualPrinter on a loopback listener until the test
// ends (or stop is called) and returns it with its address.
func startVirtual(t *testing.T, o VirtualOptions) (v *VirtualPrinter, addr string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return runVirtual(t, l, o)
}

func runVirtual(t *testing.T, l net.Listener, o VirtualOptions) (*VirtualPrinter, string, func()) {
	t.Helper()
	v := NewVirtualPrinter(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx, l) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("VirtualPrinter.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return v, l.Addr().String(), stop
}

func newTCPPrinter(t *testing.T, addr string, p Profile, o Options) *Printer {
	t.Helper()
	o.Open = TCP(addr, time.Second)
	o.Profile = p
	if o.StatusTimeout == 0 {
		o.StatusTimeout = 500 * time.Millisecond
	}
	pr, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func TestPrintReceiptOverTCPToVirtualPrinter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile Profile
	}{
		{"80mm native QR", Profile{Paper: Paper80, NativeQR: true, Location: time.UTC}},
		{"58mm raster QR chinese", Profile{Paper: Paper58, GB18030: true, Location: time.UTC}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			prof := tc.profile.Normalize()
			v, addr, _ := startVirtual(t, VirtualOptions{Dir: dir, Width: prof.Dots})
			var changes []string
			var mu sync.Mutex
			pr := newTCPPrinter(t, addr, prof, Options{OnChange: func(s Status, err error) {
				mu.Lock()
				changes = append(changes, StateOf(s, err))
				mu.Unlock()
			}})
			r := sampleReceipt()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := pr.PrintReceipt(ctx, r); err != nil {
				t.Fatalf("PrintReceipt: %v", err)
			}
			got := v.Receipts()
			if len(got) != 1 {
				t.Fatalf("virtual printer has %d receipts, want 1", len(got))
			}
			rc := got[0]
			// The PNG file it wrote decodes back to the receipt's QR.
			f, err := os.Open(rc.Path + ".png")
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if qr := decodeQR(t, img); qr != r.QR {
				t.Errorf("QR in the PNG = %q, want %q", qr, r.QR)
			}
			if img.Bounds().Dx() != prof.Dots {
				t.Errorf("PNG width %d, want %d dots", img.Bounds().Dx(), prof.Dots)
			}
			txt, err := os.ReadFile(rc.Path + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"12.50 CAD", "Maple Tea House", "pay_01JDQ3V7"} {
				if !strings.Contains(string(txt), want) {
					t.Errorf("text lacks %q:\n%s", want, txt)
				}
			}
			raw, err := os.ReadFile(rc.Path + ".bin")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(raw, Encode(r, prof)[:200]) {
				t.Errorf(".bin does not hold the receipt's bytes")
			}
			mu.Lock()
			defer mu.Unlock()
			if len(changes) != 1 || changes[0] != "ok" {
				t.Errorf("status changes %q, want [ok]", changes)
			}
		})
	}
}

func TestPrintReceiptPaperOutStoppedRestarted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	v, _, stop := runVirtual(t, l, VirtualOptions{Condition: PaperOut})
	var states []string
	var mu sync.Mutex
	pr := newTCPPrinter(t, addr, Profile80(), Options{OnChange: func(s Status, err error) {
		mu.Lock()
		states = append(states, StateOf(s, err))
		mu.Unlock()
	}})
	ctx := context.Background()

	// Paper out: an error, and nothing but the status requests reached the printer.
	err = pr.PrintReceipt(ctx, sampleReceipt())
	if !errors.Is(err, ErrPaperOut) {
		t.Fatalf("paper out: err = %v, want ErrPaperOut", err)
	}
	if n := len(v.Receipts()); n != 0 {
		t.Errorf("paper out: %d receipts printed", n)
	}
	if b := v.BytesReceived(); b != 4*3 {
		t.Errorf("paper out: %d bytes reached the printer, want only 4 status requests (12)", b)
	}
	st, err := pr.Status(ctx)
	if err != nil || !st.PaperOut || st.Replies[3] != 0x72 {
		t.Errorf("Status() = %+v, %v; want paper out", st, err)
	}

	// A printer told not to ask sends anyway; the printer does not print it.
	blind := newTCPPrinter(t, addr, Profile80(), Options{SkipStatus: true})
	if err := blind.PrintReceipt(ctx, sampleReceipt()); err != nil {
		t.Fatalf("SkipStatus to a paper-out printer: %v", err)
	}
	waitFor(t, func() bool { return v.Dropped() == 1 })
	if n := len(v.Receipts()); n != 0 {
		t.Errorf("paper out: %d receipts printed", n)
	}

	// Paper loaded: prints.
	v.SetCondition(Ready)
	if err := pr.PrintReceipt(ctx, sampleReceipt()); err != nil {
		t.Fatalf("after loading paper: %v", err)
	}
	if v.Dropped() != 1 {
		t.Errorf("dropped %d receipts, want the one sent blind", v.Dropped())
	}
	if n := len(v.Receipts()); n != 1 {
		t.Fatalf("after loading paper: %d receipts, want 1", n)
	}

	// Stopped: the connection is refused, an error at once.
	stop()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = pr.PrintReceipt(sctx, sampleReceipt())
	if !errors.Is(err, ErrUnreachable) || sctx.Err() != nil {
		t.Fatalf("stopped printer: err = %v (ctx %v), want ErrUnreachable before the deadline", err, sctx.Err())
	}

	// Restarted on the same address: prints again.
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("relisten %s: %v", addr, err)
	}
	v2, _, _ := runVirtual(t, l2, VirtualOptions{})
	if err := pr.PrintReceipt(ctx, sampleReceipt()); err != nil {
		t.Fatalf("restarted printer: %v", err)
	}
	if n := len(v2.Receipts()); n != 1 {
		t.Errorf("restarted printer has %d receipts, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"paper_out", "ok", "unreachable", "ok"}
	if strings.Join(states, " ") != strings.Join(want, " ") {
		t.Errorf("status changes %q, want %q", states, want)
	}
}

// A printer that accepts but never answers: the context's deadline ends the print.
func TestPrintReceiptHonoursContextDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, addr, _ := runVirtual(t, l, VirtualOptions{Condition: Mute})
	pr := newTCPPrinter(t, addr, Profile80(), Options{StatusTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = pr.PrintReceipt(ctx, sampleReceipt())
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("mute printer: err = %v, want one wrapping context.DeadlineExceeded", err)
	}
	// A short StatusTimeout gives ErrNoStatus on its own, without a deadline.
	pr = newTCPPrinter(t, addr, Profile80(), Options{StatusTimeout: 50 * time.Millisecond})
	err = pr.PrintReceipt(context.Background(), sampleReceipt())
	if !errors.Is(err, ErrNoStatus) {
		t.Fatalf("mute printer, short status timeout: err = %v, want ErrNoStatus", err)
	}
	if got := StateOf(Status{}, err); got != "no_reply" {
		t.Errorf("StateOf(%v) = %q, want no_reply", err, got)
	}
	// SkipStatus prints to a mute printer.
	pr = newTCPPrinter(t, addr, Profile80(), Options{SkipStatus: true})
	if err := pr.PrintReceipt(context.Background(), sampleReceipt()); err != nil {
		t.Fatalf("SkipStatus: %v", err)
	}
}

// A server that accepts, reads nothing and never closes: writes fill the
// socket buffers and block; the deadline still ends the print.
func TestPrintBlockedWriteHonoursDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	pr := newTCPPrinter(t, l.Addr().String(), Profile80(), Options{SkipStatus: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = pr.Print(ctx, make([]byte, 64<<20)) // far more than the socket buffers
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked write: err = %v, want context.DeadlineExceeded", err)
	}
}

func TestRunPollsAndReportsChanges(t *testing.T) {
	v, addr, _ := startVirtual(t, VirtualOptions{})
	changes := make(chan string, 10)
	pr := newTCPPrinter(t, addr, Profile80(), Options{PollInterval: 5 * time.Millisecond, OnChange: func(s Status, err error) {
		changes <- StateOf(s, err)
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pr.Run(ctx) }()
	next := func() string {
		select {
		case s := <-changes:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no status change reported")
			return ""
		}
	}
	if s := next(); s != "ok" {
		t.Errorf("first state %q, want ok", s)
	}
	v.SetCondition(CoverOpen)
	if s := next(); s != "cover_open" {
		t.Errorf("state %q, want cover_open", s)
	}
	v.SetCondition(Ready)
	if s := next(); s != "ok" {
		t.Errorf("state %q, want ok", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if st, at, err := pr.LastStatus(); at.IsZero() || err != nil || st.State() != "ok" {
		t.Errorf("LastStatus = %+v %v %v", st, at, err)
	}
}

func TestVirtualPrinterSequentialConnections(t *testing.T) {
	dir := t.TempDir()
	v, addr, stop := startVirtual(t, VirtualOptions{Dir: dir})
	for i, text := range []string{"one", "two", "three"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		var b Builder
		b.Init().Line(text)
		if i == 1 {
			b.Cut(CutFeedPartial, 1).Line("two-b") // two receipts in one connection
		}
		c.Write(b.Bytes())
		c.Close()
	}
	waitFor(t, func() bool { return len(v.Receipts()) == 4 })
	stop()
	got := v.Receipts()
	var texts []string
	for _, r := range got {
		texts = append(texts, r.Page.Lines[0])
	}
	if strings.Join(texts, ",") != "one,two,two-b,three" {
		t.Errorf("receipts %q, want one,two,two-b,three", texts)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "receipt-*.png"))
	if len(names) != len(got) {
		t.Errorf("%d PNG files for %d receipts", len(names), len(got))
	}
	// A new printer in the same directory continues the numbering.
	v2 := NewVirtualPrinter(VirtualOptions{Dir: dir})
	p := Render([]byte("x\n"), 576)[0]
	v2.receive(p)
	if r := v2.Receipts(); len(r) != 1 || r[0].Seq != len(got)+1 {
		t.Errorf("numbering after restart: %+v", r)
	}
}

func TestFileTransport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.bin")
	pr, err := New(Options{Open: File(path), Profile: Profile58()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := pr.Status(context.Background())
	if err != nil || st.Known {
		t.Errorf("file Status = %+v, %v; want unknown, no error", st, err)
	}
	r := sampleReceipt()
	for range 2 {
		if err := pr.PrintReceipt(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	one := Encode(r, Profile58())
	if !bytes.Equal(data, append(append([]byte(nil), one...), one...)) {
		t.Errorf("file holds %d bytes, want two receipts of %d appended", len(data), len(one))
	}
	if pages := Render(data, 384); len(pages) != 2 {
		t.Errorf("spool renders %d pages, want 2", len(pages))
	}
	bad, _ := New(Options{Open: File(filepath.Join(t.TempDir(), "no", "such", "dir")), Profile: Profile58()})
	if err := bad.PrintReceipt(context.Background(), r); !errors.Is(err, ErrUnreachable) {
		t.Errorf("unwritable path: err = %v, want ErrUnreachable", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 5 s")
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(Options{Profile: Profile80()}); err == nil || !strings.Contains(err.Error(), "no transport") {
		t.Errorf("no opener: %v", err)
	}
	if _, err := New(Options{Open: File("x"), Profile: Profile{Paper: "A4"}}); err == nil || !strings.Contains(err.Error(), "A4") {
		t.Errorf("bad profile: %v", err)
	}
}

var _ io.WriteCloser = writeOnly{}

// A printer that hangs up at once: an error, not a silent success.
func TestPrintReceiptConnectionClosedByPrinter(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer func() { l.Close(); <-done }()
	pr := newTCPPrinter(t, l.Addr().String(), Profile80(), Options{})
	err = pr.PrintReceipt(context.Background(), sampleReceipt())
	if !errors.Is(err, ErrNoStatus) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("hang-up: err = %v, want ErrNoStatus (connection closed)", err)
	}
}
