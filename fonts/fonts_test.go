package fonts_test

import (
	"os"
	"strings"
	"testing"

	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/internal/fontstest"
)

var load = fontstest.Load

func TestLoadDefault(t *testing.T) {
	c := load(t)
	if c.Path == "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc" && c.Name != "Noto Sans CJK SC" {
		t.Errorf("the Noto collection gave face %q, want the Simplified Chinese one", c.Name)
	}
	for _, r := range "微信支付宝银联合计日期" {
		if !c.Has(r) {
			t.Errorf("%s (%s) has no glyph for %q", c.Path, c.Name, r)
		}
	}
	if c.Has(0x10FFFD) {
		t.Error("a private-use plane character reads as present")
	}
	if _, err := os.Stat(strings.Replace(c.Path, "Regular", "Bold", 1)); err == nil && c.Bold == nil {
		t.Error("the bold sibling exists but was not loaded")
	}
}

func TestLoadExplicit(t *testing.T) {
	c := load(t)
	c2, err := fonts.Load(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.Name != c.Name {
		t.Errorf("explicit path gave %q, default %q", c2.Name, c.Name)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := fonts.Load("/nonexistent/font.ttc"); err == nil || !strings.Contains(err.Error(), "render.font /nonexistent/font.ttc") {
		t.Errorf("missing render.font: %v", err)
	}
	if _, err := fonts.Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	latin := "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	if _, err := os.Stat(latin); err == nil {
		if _, err := fonts.Load(latin); err == nil || !strings.Contains(err.Error(), "no Chinese glyphs") {
			t.Errorf("Latin-only font: %v", err)
		}
	}
	bad := t.TempDir() + "/bad.ttf"
	os.WriteFile(bad, []byte("not a font at all"), 0o644)
	if _, err := fonts.Load(bad); err == nil {
		t.Error("garbage loaded as a font")
	}
}

func TestIsCJK(t *testing.T) {
	for _, tt := range []struct {
		r    rune
		want bool
	}{{'微', true}, {'，', true}, {'。', true}, {'A', false}, {'é', false}, {'-', false}, {'가', true}} {
		if got := fonts.IsCJK(tt.r); got != tt.want {
			t.Errorf("IsCJK(%q) = %v", tt.r, got)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	load(b)
	for b.Loop() {
		c, err := fonts.Load("")
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
