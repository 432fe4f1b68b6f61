package fonts

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
)

// ErrNotFound is returned by Find and Load when no CJK font is found in
// the default places.
var ErrNotFound = errors.New("fonts: no CJK font found")

// InstallHint says how to get a CJK font, for messages to technicians.
const InstallHint = "install one with `sudo apt-get install fonts-noto-cjk` (Debian/Ubuntu), or set render.font to a .ttc/.ttf/.otf file with Chinese glyphs"

// DefaultPaths lists where Find looks for a CJK font, in order.
func DefaultPaths() []string {
	return []string{
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",    // Debian, Ubuntu: fonts-noto-cjk
		"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",         // Arch: noto-fonts-cjk
		"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  // Fedora: google-noto-sans-cjk-fonts
		"/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",  // older Debian packaging
		"/system/fonts/NotoSansCJK-Regular.ttc",                     // Android
		"/system/fonts/NotoSansSC-Regular.otf",                      // some Android builds
		"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",            // fonts-wqy-microhei
		"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",              // fonts-wqy-zenhei
		"/system/fonts/DroidSansFallback.ttf",                       // old Android
		"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", // fonts-droid-fallback
	}
}

// Find returns the font file to use: path itself when it is set (an
// error when it cannot be read), else the first of DefaultPaths that
// exists (ErrNotFound, wrapped with the places tried, when none does).
func Find(path string) (string, error) {
	if path != "" {
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("fonts: render.font %s: %w", path, err)
		}
		if fi.IsDir() {
			return "", fmt.Errorf("fonts: render.font %s is a directory: name the font file", path)
		}
		return path, nil
	}
	for _, p := range DefaultPaths() {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked for %s and others): %s", ErrNotFound, DefaultPaths()[0], InstallHint)
}

// CJK is a loaded CJK font: a regular face and, when the system has one,
// a bold face. Safe for concurrent use.
type CJK struct {
	Path    string         // the regular font file
	Name    string         // the face's full name, e.g. "Noto Sans CJK SC"
	Regular *opentype.Font // never nil
	Bold    *opentype.Font // nil when no bold file was found: draw Regular
	closers []io.Closer
}

// Load finds (see Find) and opens a CJK font. It checks that the face has
// Chinese glyphs: a Latin-only file is refused.
func Load(path string) (*CJK, error) {
	p, err := Find(path)
	if err != nil {
		return nil, err
	}
	c := &CJK{Path: p}
	reg, name, err := c.open(p)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.Regular, c.Name = reg, name
	if !c.Has('中') || !c.Has('付') {
		c.Close()
		return nil, fmt.Errorf("fonts: %s (%s) has no Chinese glyphs: %s", p, name, InstallHint)
	}
	if bp := boldSibling(p); bp != "" {
		if b, _, err := c.open(bp); err == nil {
			c.Bold = b
		}
	}
	return c, nil
}

// boldSibling names the bold file next to a regular one
// (NotoSansCJK-Regular.ttc -> NotoSansCJK-Bold.ttc), or "" when it does not exist.
func boldSibling(p string) string {
	base := filepath.Base(p)
	if !strings.Contains(base, "Regular") {
		return ""
	}
	b := filepath.Join(filepath.Dir(p), strings.Replace(base, "Regular", "Bold", 1))
	if _, err := os.Stat(b); err != nil {
		return ""
	}
	return b
}

// open parses a font file or collection, choosing the Simplified Chinese
// face of a collection (else its first face).
func (c *CJK) open(p string) (*opentype.Font, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, "", fmt.Errorf("fonts: open %s: %w", p, err)
	}
	c.closers = append(c.closers, f)
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return nil, "", fmt.Errorf("fonts: read %s: %w", p, err)
	}
	if string(magic[:]) != "ttcf" {
		ft, err := opentype.ParseReaderAt(f)
		if err != nil {
			return nil, "", fmt.Errorf("fonts: parse %s: %w", p, err)
		}
		return ft, fullName(ft), nil
	}
	coll, err := opentype.ParseCollectionReaderAt(f)
	if err != nil {
		return nil, "", fmt.Errorf("fonts: parse collection %s: %w", p, err)
	}
	var first *opentype.Font
	for i := range coll.NumFonts() {
		ft, err := coll.Font(i)
		if err != nil {
			continue
		}
		if first == nil {
			first = ft
		}
		if n := fullName(ft); isSimplifiedChinese(n) {
			return ft, n, nil
		}
	}
	if first == nil {
		return nil, "", fmt.Errorf("fonts: %s: no usable face in the collection", p)
	}
	return first, fullName(first), nil
}

// isSimplifiedChinese reports whether a face name is a proportional
// Simplified Chinese face ("Noto Sans CJK SC", not "Noto Sans Mono CJK SC").
func isSimplifiedChinese(name string) bool {
	return (strings.HasSuffix(name, " SC") || strings.Contains(name, " SC ")) && !strings.Contains(name, "Mono")
}

func fullName(f *opentype.Font) string {
	var b sfnt.Buffer
	for _, id := range []sfnt.NameID{sfnt.NameIDFull, sfnt.NameIDFamily} {
		if n, err := f.Name(&b, id); err == nil && n != "" {
			return n
		}
	}
	return ""
}

// Has reports whether the regular face has a glyph for r (its glyph
// index is not 0, the missing-glyph box .notdef).
func (c *CJK) Has(r rune) bool {
	if c == nil || c.Regular == nil {
		return false
	}
	var b sfnt.Buffer
	x, err := c.Regular.GlyphIndex(&b, r)
	return err == nil && x != 0
}

// Close closes the font files. The fonts must not be used afterwards.
func (c *CJK) Close() error {
	if c == nil {
		return nil
	}
	var errs []error
	for _, cl := range c.closers {
		errs = append(errs, cl.Close())
	}
	c.closers = nil
	return errors.Join(errs...)
}

// IsCJK reports whether r is a character that needs a CJK font: CJK
// ideographs, kana, hangul, CJK punctuation and full-width forms.
func IsCJK(r rune) bool {
	switch {
	case r >= 0x2E80 && r <= 0x9FFF: // radicals, punctuation, kana, ideographs
		return true
	case r >= 0xAC00 && r <= 0xD7AF: // hangul
		return true
	case r >= 0xF900 && r <= 0xFAFF: // compatibility ideographs
		return true
	case r >= 0xFE30 && r <= 0xFE4F: // compatibility forms
		return true
	case r >= 0xFF00 && r <= 0xFFEF: // half- and full-width forms
		return true
	case r >= 0x20000 && r <= 0x3FFFF: // extension ideographs
		return true
	}
	return false
}
