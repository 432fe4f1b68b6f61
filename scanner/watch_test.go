package scanner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestDecodeImageFile: a picture file decodes as the image does; a file
// that is not a picture, and no file, are clear errors.
func TestDecodeImageFile(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join("testdata", "image", "*.png"))
	if len(names) == 0 {
		t.Fatal("no test pictures")
	}
	for _, path := range names {
		want, werr := DecodeImage(loadPNG(t, path))
		got, err := DecodeImageFile(path)
		if (err == nil) != (werr == nil) || len(got) != len(want) {
			t.Fatalf("%s: %v %v, want %v %v", path, got, err, want, werr)
		}
		for i := range got {
			if got[i].Code != want[i].Code || got[i].Symbology != want[i].Symbology {
				t.Errorf("%s: scan %d = %+v, want %+v", path, i, got[i], want[i])
			}
		}
	}
	text := filepath.Join(t.TempDir(), "note.txt")
	os.WriteFile(text, []byte("not a picture"), 0o600)
	if _, err := DecodeImageFile(text); err == nil || !strings.Contains(err.Error(), "not a PNG, JPEG or GIF picture") {
		t.Errorf("a text file: %v", err)
	}
	if _, err := DecodeImageFile(filepath.Join(t.TempDir(), "none.png")); err == nil || !strings.Contains(err.Error(), "scan: image:") {
		t.Errorf("no file: %v", err)
	}
}

// lockedBuffer is an io.Writer read while Run writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWatchSerialPTY is `posagent scan --listen` on a pseudo-terminal: a
// payment code shows masked, the raw reads go to the recording, and the
// end of the context stops it.
func TestWatchSerialPTY(t *testing.T) {
	m, s, err := pty.Open()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no pseudo-terminals: %v (CI runs on Linux, which has them)", err)
		}
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer m.Close()
	link := filepath.Join(t.TempDir(), "ttyScanner")
	if err := os.Symlink(s.Name(), link); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rec := filepath.Join(t.TempDir(), "rec.hex")
	var out lockedBuffer
	w := &Watch{Serial: link, Baud: 9600, RecordTo: rec, Out: &out}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), what); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in:\n%s", what, out.String())
			}
		}
	}
	waitFor("connected - scan something")
	writeChunks(t, m, "134567890123456789\r")
	waitFor(`"1345**********6789"`)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"recording raw reads to " + rec, "watching serial scanner " + link + " at 9600 baud", "wechat payment code", "stopped\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "134567890123456789") {
		t.Errorf("the payment code is shown in full:\n%s", got)
	}
	raw, _ := os.ReadFile(rec)
	if !strings.HasPrefix(string(raw), "# recorded by posagent scan from "+link) || len(strings.Split(strings.TrimSpace(string(raw)), "\n")) < 2 {
		t.Errorf("recording:\n%s", raw)
	}
}
