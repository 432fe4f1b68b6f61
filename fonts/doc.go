// Package fonts finds and loads the font posagent draws Chinese with in
// the pictures it makes: receipt PNGs (previews, the virtual printer,
// Clover's image receipts) and customer display frames.
//
// # Basics
//
// The Go fonts the renderers use for Latin text have no CJK glyphs, so
// Chinese needs a system font. Load takes a path (the config key
// render.font) or, with "", looks in the usual places (DefaultPaths):
// Debian's fonts-noto-cjk (/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc),
// the same collection on Fedora and Arch, Android's
// /system/fonts/NotoSansCJK-Regular.ttc, then WenQuanYi and Droid Sans
// Fallback. A collection (.ttc) is opened with opentype.ParseCollectionReaderAt
// and its Simplified Chinese face is chosen by name ("Noto Sans CJK SC");
// a bold sibling file (NotoSansCJK-Bold.ttc) is used when present.
//
//	cjk, err := fonts.Load("")        // errors.Is(err, fonts.ErrNotFound) when there is none
//	defer cjk.Close()
//	cjk.Has('微')                      // true: the font has the glyph (GlyphIndex != 0)
//
// A CJK is safe for concurrent use; the font.Face values made from its
// Regular and Bold fonts are not (each renderer keeps its own).
//
// # Caveats
//
//   - The font files are read on demand (ReaderAt), not loaded into memory:
//     the Noto collection is 19 MB. The files stay open until Close.
//   - Without a CJK font the renderers leave Chinese out and say
//     "(Chinese text omitted)"; `posagent doctor` reports it and how to
//     install one (apt-get install fonts-noto-cjk).
package fonts
