package configtext

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/config/profile"
)

// TestWriteCheck: `config check` says ok with the file and profile, lists
// every problem with its line, and passes the error of a file it cannot
// read on.
func TestWriteCheck(t *testing.T) {
	good := writeFile(t, "log:\n  level: debug\n")
	var b bytes.Buffer
	ok, err := WriteCheck(&b, good, nil)
	if !ok || err != nil || b.String() != "ok ("+good+", profile generic-linux)\n" {
		t.Errorf("good file: %v %v %q", ok, err, b.String())
	}
	bad := writeFile(t, "log:\n  level: loud\n")
	b.Reset()
	ok, err = WriteCheck(&b, bad, nil)
	if ok || err != nil || !strings.HasPrefix(b.String(), bad+": 1 problem(s):\n  line 2: ") || !strings.Contains(b.String(), "log.level") {
		t.Errorf("bad file: %v %v %q", ok, err, b.String())
	}
	b.Reset()
	if ok, err = WriteCheck(&b, t.TempDir(), nil); ok || err == nil {
		t.Errorf("a directory: %v %v %q", ok, err, b.String())
	}
}

func TestWriteProblemsAndProfiles(t *testing.T) {
	var b bytes.Buffer
	if WriteProblems(&b, nil) || b.Len() != 0 {
		t.Errorf("no problems: %q", b.String())
	}
	if !WriteProblems(&b, []config.Problem{{Key: "log.level", Line: 2, Msg: "log.level \"loud\": use debug, info, warn or error"}}) ||
		b.String() != "# problem: line 2: log.level \"loud\": use debug, info, warn or error\n" {
		t.Errorf("one problem: %q", b.String())
	}
	b.Reset()
	WriteProfiles(&b)
	for _, p := range profile.All() {
		if !strings.Contains(b.String(), p.Name+": "+p.Description+"\n") {
			t.Errorf("profile %s missing from:\n%s", p.Name, b.String())
		}
	}
}

// writeFile writes body to a posagent.yaml of its own and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "posagent.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
