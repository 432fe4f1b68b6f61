package doctor

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/posagent/posagent/fonts"
)

// TestDoctorFont: doctor names the CJK font it found, and a render.font
// that cannot be used fails with the fix.
func TestDoctorFont(t *testing.T) {
	base := "device:\n  profile: generic-linux\nmerchant:\n  name: Maple Tea House\nstore:\n  path: " + t.TempDir() + "/posagent.db\n"
	out, _ := doctorOn(t, base, Options{})
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

	// A machine without a CJK font, a printer without a Chinese font and a
	// Chinese shop name: receipts would say "no font" where the name is,
	// so doctor fails and names the fix.
	noFont := func(string) (*fonts.CJK, error) {
		return nil, fmt.Errorf("%w (looked for ...): %s", fonts.ErrNotFound, fonts.InstallHint)
	}
	printer := "printer:\n  kind: file\n  path: " + t.TempDir() + "/r.bin\n"
	chinese := strings.Replace(base, "Maple Tea House", "枫叶茶馆", 1) + printer
	out, n := doctorOn(t, chinese, Options{LoadFont: noFont})
	if n == 0 || !strings.Contains(out, "FAIL  font: ") || !strings.Contains(out, "fonts-noto-cjk") || !strings.Contains(out, printerNote) {
		t.Errorf("no CJK font for a Chinese shop's receipts: not a failure naming the fix (%d failures):\n%s", n, out)
	}
	// The same with printer.chinese: the printer prints Chinese itself.
	out, n = doctorOn(t, chinese+"  chinese: true\n", Options{LoadFont: noFont})
	if !strings.Contains(out, "warn  font: ") || strings.Contains(out, "FAIL  font") {
		t.Errorf("printer.chinese true without a font here: want a warning (%d failures):\n%s", n, out)
	}

	out, n = doctorOn(t, base+"render:\n  font: /nonexistent/NotoSansCJK-Regular.ttc\n", Options{})
	if n == 0 || !strings.Contains(out, "FAIL  font: fonts: render.font /nonexistent/NotoSansCJK-Regular.ttc") || !strings.Contains(out, "fix render.font") {
		t.Errorf("a missing render.font does not fail with its fix (%d failures):\n%s", n, out)
	}
}

// printerNote is what a receipt prints instead of Chinese without a font.
var printerNote = fmt.Sprintf("%q", "(Chinese text: no font here)")
