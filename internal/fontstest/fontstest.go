// Package fontstest loads the system CJK font for tests that draw Chinese.
// It lives under the module's internal/: test support, no API.
package fontstest

import (
	"errors"
	"os"
	"testing"

	"github.com/posagent/posagent/fonts"
)

// Load loads the font scripts/setup installs (fonts-noto-cjk), closed when
// the test ends. Only a machine without any CJK font skips the test; under
// CI, which installs the font, a missing one fails it.
func Load(t testing.TB) *fonts.CJK {
	t.Helper()
	c, err := fonts.Load("")
	if errors.Is(err, fonts.ErrNotFound) {
		msg := "no CJK font on this machine, so Chinese cannot be drawn: run scripts/setup (installs fonts-noto-cjk): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
