package mangen

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func readPage(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWrite: a page per visible command, named by its path, with the
// description's paragraphs, the flags and their defaults escaped for roff,
// SEE ALSO both ways and FILES on the root's page; hidden commands have none.
func TestWrite(t *testing.T) {
	root := &cobra.Command{Use: "tool", Short: "A tool"}
	root.PersistentFlags().String("config", "", "config file")
	sub := &cobra.Command{Use: "run-it", Short: "Run it", Long: "First paragraph.\n\n.Second starts with a dot.", Run: func(*cobra.Command, []string) {}}
	sub.Flags().Int("max-n", 3, "how many")
	hidden := &cobra.Command{Use: "secret", Hidden: true, Run: func(*cobra.Command, []string) {}}
	root.AddCommand(sub, hidden)
	dir := t.TempDir()
	if err := Write(root, dir, Options{Date: "2026-12-07", Source: "tool 1.0", Manual: "tool manual", Files: [][2]string{{"/etc/tool.yaml", "the configuration"}}}); err != nil {
		t.Fatal(err)
	}
	top := readPage(t, filepath.Join(dir, "tool.1.gz"))
	for _, want := range []string{`.TH TOOL 1 "2026-12-07" "tool 1.0" "tool manual"`, "tool\\-run\\-it(1)", ".SH FILES\n.TP\n/etc/tool.yaml\nthe configuration\n"} {
		if !strings.Contains(top, want) {
			t.Errorf("tool.1: no %q in\n%s", want, top)
		}
	}
	page := readPage(t, filepath.Join(dir, "tool-run-it.1.gz"))
	for _, want := range []string{"tool\\-run\\-it \\- Run it", ".PP\nFirst paragraph.\n", ".PP\n\\&.Second", "\\-\\-max\\-n int\nhow many (default 3)", ".SH GLOBAL OPTIONS", "tool(1)"} {
		if !strings.Contains(page, want) {
			t.Errorf("tool-run-it.1: no %q in\n%s", want, page)
		}
	}
	if strings.Contains(page, ".SH FILES") {
		t.Error("FILES on a subcommand's page")
	}
	if _, err := os.Stat(filepath.Join(dir, "tool-secret.1.gz")); !os.IsNotExist(err) {
		t.Errorf("a hidden command has a page: %v", err)
	}
}
