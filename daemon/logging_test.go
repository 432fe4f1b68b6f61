package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLogFormats: json lines parse and carry the documented fields; with
// JOURNAL_STREAM naming the file each line starts with its level's syslog
// priority; a level change through the LevelVar applies at once.
func TestLogFormats(t *testing.T) {
	for _, tc := range []struct {
		format  string
		journal bool
	}{{"json", false}, {"json", true}, {"text", true}, {"text", false}} {
		t.Run(fmt.Sprintf("%s journald=%v", tc.format, tc.journal), func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "log"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			t.Setenv("JOURNAL_STREAM", "")
			if tc.journal {
				var st syscall.Stat_t
				if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
					t.Fatal(err)
				}
				t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
			}
			log, lv := NewLogger(f, "warn", tc.format)
			log = log.With("part", "agent")
			log.Info("hidden at warn")
			log.Warn("printer out of paper", "err", "paper end")
			lv.Set(ParseLevel("debug"))
			log.Debug("now shown", "id", "P1")
			log.Error("journal", "err", "disk full")
			data, _ := os.ReadFile(f.Name())
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) != 3 {
				t.Fatalf("%d lines:\n%s", len(lines), data)
			}
			for i, prio := range []string{"<4>", "<7>", "<3>"} {
				line := lines[i]
				if tc.journal != strings.HasPrefix(line, prio) {
					t.Errorf("line %d %q: journald %v, want prefix %s", i, line, tc.journal, prio)
				}
				line = strings.TrimPrefix(line, prio)
				if tc.format == "json" {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Fatalf("line %d is not JSON: %v\n%s", i, err, line)
					}
					for _, k := range []string{"time", "level", "msg", "part"} {
						if _, ok := m[k]; !ok {
							t.Errorf("line %d has no %s: %s", i, k, line)
						}
					}
					if _, err := time.Parse(logTimeFormat, m["time"].(string)); err != nil {
						t.Errorf("time %v: %v", m["time"], err)
					}
				} else if !strings.HasPrefix(line, "time=") || !strings.Contains(line, " part=agent") {
					t.Errorf("text line %d: %s", i, line)
				}
			}
		})
	}
}
