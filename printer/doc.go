// Package printer prints receipts on ESC/POS receipt printers, and plays
// one: it turns a Receipt (plain data) into ESC/POS bytes, sends them over a
// transport with status checks and deadlines, and interprets ESC/POS back
// into text and a PNG picture (the virtual printer).
//
// # Basics
//
// A Receipt is what the merchant and the customer read. A Profile is what
// the printer understands: paper width (58 mm: 384 dots, 32 columns; 80 mm:
// 576 dots, 48 columns; Epson TM-T88: 512 dots), native QR (GS ( k) or
// not, Chinese double-byte mode with GB18030 or not, the cut style, the
// code page, the cash drawer pulse. The device profiles in config fill it.
//
//	data := printer.Encode(r, prof)   // pure: same input, same bytes
//	png, err := printer.RenderPNG(r, prof)
//
// Encode is built on Builder, which appends single commands (Init, Align,
// Bold, Size, Feed, CodePage, ChineseOn, RasterText, QRNative, QRRaster,
// Raster, Cut, DrawerKick). Text is encoded for the mode in effect
// (GB18030 in Chinese mode, else PC437 or WPC1252), and
// control characters in data are replaced so that a merchant name can never
// inject a command. Amounts are int64 minor units, printed by package money
// ("12.50 CAD"), with no floating point anywhere.
//
// # Chinese on any printer
//
// A printer with a Chinese font (Profile.GB18030) gets Chinese as GB18030
// text. Any other gets each line its code page cannot print as a GS v 0
// raster image (Builder.RasterText), the paper's width, drawn with
// Profile.CJK exactly as the virtual printer draws text: a character the
// code page has in one cell, any other in a double cell, so columns line
// up and the paper looks like the picture. Nothing is printed as '?'.
// Without a CJK font such a line prints NoFontNote instead, and the labels
// stay English.
//
// Profile.Language prints the labels in English, Chinese or both
// ("TOTAL 合计"; Label gives each one), and wallet names in their own
// scripts (微信支付, 支付宝, 银联) with GB18030, or without it on a receipt
// with Chinese labels (an English receipt then stays text). Amounts,
// dates and ids are the same in every language. A Chinese character counts
// two columns: every line fits 32 (58 mm) or 48 (80 mm) columns, so the
// printer never wraps one by itself (Page.Overflow counts those that it
// would; TestReceiptWidth and FuzzReceiptWidth keep it at zero).
//
// A Printer sends receipts through an Opener: TCP (raw port 9100), USB
// (/dev/usb/lp0), Serial (drivers/serial) or File (append). Each print
// opens the transport, reads the status with DLE EOT 1..4 when the
// transport can read (paper out, cover open, error, offline: an error and
// nothing is sent), writes the bytes, asks DLE EOT once more (the reply
// comes only after every byte before it arrived, so it confirms delivery),
// and closes. The context, bounded by Options.Timeout, closes the
// connection when it ends, so a print never hangs past it; errors wrap
// ErrPaperOut, ErrCoverOpen, ErrFault, ErrOffline, ErrUnreachable,
// ErrNoStatus or the context's error. Run polls the status and OnChange
// reports changes (StateOf gives "ok", "paper_out", "unreachable", ...).
//
// The Interpreter is the virtual printer's engine: it takes ESC/POS in any
// chunks and produces Pages (one per cut): the printed text lines, the
// native QR data, and an image with font A/B, bold, double size, alignment,
// underline, reverse, native QR (drawn from the stored data with gozxing's
// encoder), raster images (GS v 0) and a dashed line at each cut. Unknown
// commands are skipped by their length (GS ( x pL pH, ESC and GS commands
// of known arity, barcodes), anything else by two bytes; it never panics
// (FuzzInterpreter). VirtualPrinter serves it over TCP (posagent
// printer-sim), answers DLE EOT according to a Condition, and writes
// DIR/receipt-NNNN.png, .txt and .bin.
//
// # Caveats
//
//   - Chinese needs a system font: the built-in Go Mono has no CJK glyphs.
//     Profile.CJK (and InterpreterOptions.CJK, VirtualOptions.CJK) carry
//     the font package fonts loads (Noto Sans CJK); each double-byte
//     character is drawn from it into a square double cell, so columns stay
//     aligned. Without one, Chinese is left blank and the picture starts
//     with "(Chinese text omitted)" (Page.Omitted counts it); the text lines
//     always have it. A real printer uses its own fonts.
//   - Status needs a transport that reads. File and write-only USB report
//     Status{Known: false} ("unknown") and a print then cannot confirm
//     delivery. Some USB printers never answer on the IN endpoint: use
//     USB(dev, false) or Options.SkipStatus for them. A printer that does
//     not answer DLE EOT fails with ErrNoStatus unless SkipStatus is set.
//   - A printer with Automatic Status Back (GS a n) enabled sends status
//     bytes unasked; they can be taken for the reply to DLE EOT. Disable
//     ASB on such printers (or use SkipStatus).
//   - A print that fails after the bytes were written (no delivery
//     confirmation) may have printed: a retry can print the receipt twice.
//     For a receipt that is better than none.
//   - Sunmi's built-in printer has no parameterised cut (GS V 65/66 n):
//     its profile uses CutPartial (ESC d n, then GS V 1). Clover prints
//     images only: RenderPNG is the way there (through the Android bridge).
//   - The renderer's line spacing and glyphs approximate an Epson printer
//     at 203 dpi; they are for tests and previews, not pixel-exact.
//   - Pages taller than InterpreterOptions.MaxHeight are cut short
//     (Page.Truncated), and a command declaring more than 4 MiB of data is
//     skipped without buffering it.
package printer
