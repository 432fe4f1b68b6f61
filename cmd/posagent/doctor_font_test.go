package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/posagent/posagent/fonts"
)

// TestDoctorFont: doctor names the CJK font it found, and a render.font
// that cannot be used fails with the fix.
func TestDoctorFont(t *testing.T) {
	base := "device:\n  profile: generic-linux\nmerchant:\n  name: Maple Tea House\nstore:\n  path: " + t.TempDir() + "/posagent.db\n"
	out, _ := doctorOn(t, base, doctorOptions{})
	c, err := fonts.Load("")
	switch {
	case errors.Is(err, fonts.ErrNotFound):
		if !strings.Contains(out, "warn  font: ") || !strings.Contains(out, "fonts-noto-cjk") {
			t.Errorf("no CJK font, but doctor does not say how to install one:\n%s", out)
		}
	case err != nil:
		t.Fatal(err)
	default:
		defer c.Close()
		if want := "ok    font: Chinese is drawn with " + c.Name + " (" + c.Path + ")"; !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}

	out, n := doctorOn(t, base+"render:\n  font: /nonexistent/NotoSansCJK-Regular.ttc\n", doctorOptions{})
	if n == 0 || !strings.Contains(out, "FAIL  font: fonts: render.font /nonexistent/NotoSansCJK-Regular.ttc") || !strings.Contains(out, "fix render.font") {
		t.Errorf("a missing render.font does not fail with its fix (%d failures):\n%s", n, out)
	}
}
