// Package pole drives two-line, 20-character customer pole displays over a
// serial line (usually 9600 8N1).
//
// Two command sets ("dialects") are built in and chosen by name
// (DialectByName): "epson", the Epson DM-D set (1B 40 initialise, 1F 01
// overwrite mode, 1F 43 n cursor, 0C clear, 0B home, 1F 24 x y cursor
// position), and "cd5220", the CD5220 standard mode (1B 40, 0C, 1B 5F n
// cursor, 1B 51 41 ... 0D upper line, 1B 51 42 ... 0D lower line). Their
// Init and Frame encoders are pure: Frame always writes both lines in full,
// padded or cut to 20 characters, so a frame overwrites the previous one
// without clearing (no flicker) and the output length is constant.
//
// Text is reduced to printable ASCII (Text): accents are stripped, other
// non-ASCII is dropped, control bytes become spaces, so nothing in a
// merchant name or a gateway message can turn into a display command.
// Lines maps a display.Screen to the two lines ("TOTAL CAD 12.50",
// "PLEASE SCAN CODE", "PAID - THANK YOU", "DECLINED"). A pole display
// cannot show a QR: the qr screen shows the amount and the wallet.
//
// Pole is a display.Sink writing to any io.Writer (a drivers/serial port in
// production, a pseudo-terminal in the tests). It initialises the display
// on the first Show and again after a write error, writes each change in a
// single Write, and skips unchanged lines. NewReopening takes an open
// function instead of a writer: after a write error it closes the port and
// opens it again on the next Show, so an unplugged display comes back by
// itself (on the next screen change). Options.Shared prefixes ESC = 2 for a display sharing its line
// with a printer.
//
// Chinese: a CD5220 with GB2312 set (CD5220{GB2312: true}, for models with a
// Chinese font) writes its lines as GB2312 double-byte text (TextGB2312, a
// Chinese character taking two of the 20 columns), and a Pole shows a
// screen in Chinese (LinesChinese: 合计 CAD 12.50 / 请出示付款码) when its
// Options.Language makes Chinese primary (display.PrimaryLanguage: zh, or
// auto with WeChat Pay or Alipay). Other dialects always show English.
//
// Caveats: the CD5220 Chinese models are driven in the same string mode
// (ESC Q A/B) with GB2312 bytes, as their manuals describe; models that
// need a vendor command to select the Chinese font are not handled. The UTC dialect and vendor-specific code pages are not
// implemented; the display's own code page is never changed.
package pole
