package printer

import (
	"bytes"
	"testing"
)

func TestBuilderPrimitives(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *Builder)
		want  []byte
	}{
		{"init", func(b *Builder) { b.Init() }, []byte{0x1B, 0x40}},
		{"align centre", func(b *Builder) { b.Align(AlignCenter) }, []byte{0x1B, 0x61, 1}},
		{"align right", func(b *Builder) { b.Align(AlignRight) }, []byte{0x1B, 0x61, 2}},
		{"bold on off", func(b *Builder) { b.Bold(true).Bold(false) }, []byte{0x1B, 0x45, 1, 0x1B, 0x45, 0}},
		{"underline", func(b *Builder) { b.Underline(true) }, []byte{0x1B, 0x2D, 1}},
		{"double", func(b *Builder) { b.Double(true).Double(false) }, []byte{0x1D, 0x21, 0x11, 0x1D, 0x21, 0x00}},
		{"size 3x2", func(b *Builder) { b.Size(3, 2) }, []byte{0x1D, 0x21, 0x21}},
		{"size clamped", func(b *Builder) { b.Size(0, 99) }, []byte{0x1D, 0x21, 0x07}},
		{"feed lines", func(b *Builder) { b.Feed(3) }, []byte{0x1B, 0x64, 3}},
		{"feed clamped", func(b *Builder) { b.Feed(1000) }, []byte{0x1B, 0x64, 255}},
		{"feed dots", func(b *Builder) { b.FeedDots(24) }, []byte{0x1B, 0x4A, 24}},
		{"code page 1252", func(b *Builder) { b.CodePage(16) }, []byte{0x1B, 0x74, 16}},
		{"chinese on off", func(b *Builder) { b.ChineseOn().ChineseOff() }, []byte{0x1C, 0x26, 0x1C, 0x2E}},
		{"line", func(b *Builder) { b.Line("Hi") }, []byte{'H', 'i', 0x0A}},
		{"control chars cannot inject commands", func(b *Builder) { b.Text("A\x1b@\x1dV\x00B") }, []byte("A @ V B")},
		{"pc437 text", func(b *Builder) { b.Text("café") }, []byte{'c', 'a', 'f', 0x82}},
		{"wpc1252 text", func(b *Builder) { b.CodePage(16).Text("café") }, []byte{0x1B, 0x74, 16, 'c', 'a', 'f', 0xE9}},
		{"unencodable becomes ?", func(b *Builder) { b.Text("支") }, []byte{'?'}},
		{"gb18030 text", func(b *Builder) { b.ChineseOn().Text("支付宝") }, []byte{0x1C, 0x26, 0xD6, 0xA7, 0xB8, 0xB6, 0xB1, 0xA6}},
		{"gb18030 four-byte", func(b *Builder) { b.ChineseOn().Text("€") }, []byte{0x1C, 0x26, 0xA2, 0xE3}},
		{"cut feed partial", func(b *Builder) { b.Cut(CutFeedPartial, 4) }, []byte{0x1D, 0x56, 66, 4}},
		{"cut feed full", func(b *Builder) { b.Cut(CutFeedFull, 3) }, []byte{0x1D, 0x56, 65, 3}},
		{"cut partial (sunmi)", func(b *Builder) { b.Cut(CutPartial, 4) }, []byte{0x1B, 0x64, 4, 0x1D, 0x56, 1}},
		{"cut full", func(b *Builder) { b.Cut(CutFull, 2) }, []byte{0x1B, 0x64, 2, 0x1D, 0x56, 0}},
		{"no cutter", func(b *Builder) { b.Cut(CutNone, 5) }, []byte{0x1B, 0x64, 5}},
		{"drawer pin 2", func(b *Builder) { b.DrawerKick(2, 100, 500) }, []byte{0x1B, 0x70, 0, 50, 250}},
		{"drawer pin 5", func(b *Builder) { b.DrawerKick(5, 1000, 1000) }, []byte{0x1B, 0x70, 1, 255, 255}},
		{"status request", func(b *Builder) { b.StatusRequest(4) }, []byte{0x10, 0x04, 4}},
		{"native qr", func(b *Builder) { b.QRNative("AB", 6) }, []byte{
			0x1D, 0x28, 0x6B, 4, 0, 0x31, 0x41, 0x32, 0,
			0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x43, 6,
			0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x45, 0x31,
			0x1D, 0x28, 0x6B, 5, 0, 0x31, 0x50, 0x30, 'A', 'B',
			0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30}},
		{"raster", func(b *Builder) {
			m := NewBitmap(10, 2)
			m.Set(0, 0)
			m.Set(9, 1)
			b.Raster(m)
		}, []byte{0x1D, 0x76, 0x30, 0, 2, 0, 2, 0, 0x80, 0x00, 0x00, 0x40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Builder
			tt.build(&b)
			if !bytes.Equal(b.Bytes(), tt.want) {
				t.Errorf("got  % X\nwant % X", b.Bytes(), tt.want)
			}
		})
	}
}

func TestQRNativeLongDataLength(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 300)
	var b Builder
	b.QRNative(string(data), 4)
	store := []byte{0x1D, 0x28, 0x6B, byte(303 & 0xFF), byte(303 >> 8), 0x31, 0x50, 0x30}
	if !bytes.Contains(b.Bytes(), append(store, data...)) {
		t.Errorf("store command for 300 bytes not found (pL pH must be 303)")
	}
}

func TestQRRasterFitsAndFails(t *testing.T) {
	var b Builder
	if err := b.QRRaster("https://example.com/r/1", 6, 384); err != nil {
		t.Fatal(err)
	}
	got := b.Bytes()
	if !bytes.HasPrefix(got, []byte{0x1D, 0x76, 0x30, 0}) {
		t.Fatalf("not a GS v 0 raster: % X", got[:8])
	}
	wb, h := int(got[4])|int(got[5])<<8, int(got[6])|int(got[7])<<8
	if wb*8 > 384+7 || len(got) != 8+wb*h {
		t.Errorf("raster %d bytes x %d rows, %d data bytes: does not fit 384 dots or length wrong", wb, h, len(got)-8)
	}
	var small Builder
	if err := small.QRRaster("https://example.com/r/1", 6, 20); err == nil {
		t.Errorf("a QR in 20 dots: want an error")
	}
	if err := small.QRRaster("", 6, 384); err == nil {
		t.Errorf("empty QR data: want an error")
	}
}

func TestWrapAndColumns(t *testing.T) {
	tests := []struct {
		s       string
		cols    int
		chinese bool
		want    []string
	}{
		{"Thank you for your visit", 10, false, []string{"Thank you", "for your", "visit"}},
		{"abcdefghijkl", 5, false, []string{"abcde", "fghij", "kl"}},
		{"", 5, false, []string{""}},
		{"微信支付微信支付", 6, true, []string{"微信支", "付微信", "支付"}},
	}
	for _, tt := range tests {
		got := wrap(tt.s, tt.cols, cells{chinese: tt.chinese})
		if len(got) != len(tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.s, tt.cols, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("wrap(%q, %d) = %q, want %q", tt.s, tt.cols, got, tt.want)
			}
		}
	}
	if got := columns("Total", "12.50 CAD", 20, cells{}); len(got) != 1 || got[0] != "Total      12.50 CAD" {
		t.Errorf("columns = %q", got)
	}
	if got := columns("Wallet", "WeChat Pay 微信支付", 20, cells{chinese: true}); len(got) != 2 || got[1] != " WeChat Pay 微信支付" {
		t.Errorf("columns too wide = %q", got)
	}
}

func TestProfileNormalizeAndValidate(t *testing.T) {
	p := Profile{Paper: Paper58}.Normalize()
	if p.Columns != 32 || p.Dots != 384 || p.QRModule != 4 || p.FeedBeforeCut != 4 {
		t.Errorf("58mm defaults: %+v", p)
	}
	p = Profile{Dots: 512}.Normalize() // TM-T88
	if p.Paper != Paper80 || p.Columns != 48 || p.Dots != 512 || p.QRModule != 6 {
		t.Errorf("TM-T88 defaults: %+v", p)
	}
	d := Profile{Drawer: DrawerKick{Enabled: true}}.Normalize().Drawer
	if d.Pin != 2 || d.OnMS != 100 || d.OffMS != 500 {
		t.Errorf("drawer defaults: %+v", d)
	}
	err := Profile{Name: "bad", Paper: "76mm", CodePage: 3, Cut: 9, QRModule: 40}.Validate()
	for _, want := range []string{"76mm", "code page 3", "cut style 9", "qr module 40"} {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("Validate: %v, want it to mention %q", err, want)
		}
	}
	if _, err := ProfileFor("57mm"); err == nil {
		t.Errorf("ProfileFor(57mm): want an error")
	}
}
