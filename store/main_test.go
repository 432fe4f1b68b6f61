package store

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestMain removes the journals the tests built once for the whole
// process (built).
func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// built is a journal the tests build once per test process and copy for
// each test that starts from it (copyTo): the same files (journal, data
// keys, mark) bit for bit, without writing and packing the records again,
// which under -race costs seconds of CPU for every such test.
type built struct {
	name  string // its directory under builtDir
	once  sync.Once
	ready bool     // built without a failure
	ids   []string // what build returned
	err   error
}

// builtDir holds every built journal (removed by TestMain).
var (
	builtDirOnce sync.Once
	builtDir     string
	builtDirErr  error
)

// copyTo writes at path a copy of the journal build writes (once, at the
// path it is given) and returns the ids build returned.
func (b *built) copyTo(t testing.TB, path string, build func(t testing.TB, path string) []string) []string {
	t.Helper()
	builtDirOnce.Do(func() { builtDir, builtDirErr = os.MkdirTemp("", "store-test-journals-") })
	if builtDirErr != nil {
		t.Fatal(builtDirErr)
	}
	dir := filepath.Join(builtDir, b.name)
	b.once.Do(func() {
		if b.err = os.Mkdir(dir, 0o700); b.err == nil {
			b.ids = build(t, filepath.Join(dir, "posagent.db")) // t.Fatal leaves ready false
			b.ready = true
		}
	})
	if b.err != nil || !b.ready {
		t.Fatalf("the %s journal could not be built: %v", b.name, b.err)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		suffix, ok := strings.CutPrefix(f.Name(), "posagent.db")
		if !ok {
			t.Fatalf("unexpected %s beside the %s journal", f.Name(), b.name)
		}
		mustCopy(t, filepath.Join(dir, f.Name()), path+suffix)
	}
	return slices.Clone(b.ids)
}
