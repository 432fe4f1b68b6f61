package bridgeclient_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
)

// TestFileStoreRewriteFailureKeepsFile: when the rewrite cannot write the
// temp file (here the file size limit, as a full disk would), opening the
// store fails and the file keeps every id: a short temp file is never
// renamed over the whole one (that would forget printed jobs, and the
// helper would print them again). The limit is set in a child process,
// this test binary run again, so no other test feels it.
func TestFileStoreRewriteFailureKeepsFile(t *testing.T) {
	if path := os.Getenv("BRIDGECLIENT_FSIZE_CHILD"); path != "" {
		lim := syscall.Rlimit{Cur: 1024, Max: 1024}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			fmt.Println("setrlimit:", err)
			os.Exit(3)
		}
		_, err := bridgeclient.OpenFileStore(path, 1000)
		fmt.Printf("open: %v\n", err)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "acked.txt")
	var want bytes.Buffer
	for i := range 300 {
		fmt.Fprintf(&want, "rcpt:pay_%08d:customer:0\n", i)
	}
	if err := os.WriteFile(path, want.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreRewriteFailureKeepsFile$")
	cmd.Env = append(os.Environ(), "BRIDGECLIENT_FSIZE_CHILD="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "open: bridgeclient: acked store") || !strings.Contains(string(out), "rewrite") {
		t.Errorf("opening the store with a failing rewrite: %s; want the rewrite's error", out)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("after a failed rewrite the file has %d bytes, want the %d it had", len(got), want.Len())
	}
}
