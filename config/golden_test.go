package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/posagent/posagent/config/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestShowGolden pins the output of Show for each profile (no file, the
// profile chosen by the environment, one secret from the environment).
// Rewrite with: go test ./config -run TestShowGolden -update
func TestShowGolden(t *testing.T) {
	for _, p := range profile.Names() {
		t.Run(p, func(t *testing.T) {
			cfg, src, err := loadData("", nil, []string{
				"POSAGENT_DEVICE_PROFILE=" + p,
				"POSAGENT_GATEWAY_SIGN_KEY=0123456789ABCDEF",
			})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Show(&out, cfg, src); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out.Bytes(), []byte("0123456789ABCDEF")) {
				t.Fatal("show prints the sign key")
			}
			golden := filepath.Join("testdata", "show-"+p+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("show differs from %s (rerun with -update if intended):\n%s", golden, out.String())
			}
		})
	}
}
