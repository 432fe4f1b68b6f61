// Package display is the customer display: what the person paying sees.
//
// # Concepts
//
// A Screen is plain data saying what to show: idle, amount_due, scan_prompt,
// qr, paid, failed or cancelled, with the amount, wallet, QR content and a
// status line. ScreenFor maps one payment (the contract's payment JSON,
// decoded into Payment) to a Screen; it is pure and table-tested.
//
// A Controller is fed the agent's events with Apply (payment.updated,
// cart.updated; other kinds are ignored), keeps the current Screen and tells
// its Sinks on every change. Rules beyond ScreenFor: a payment that starts
// always takes the screen; while one is active, updates of other payments
// (a background reconcile of an old in_doubt payment) do not cover it; a
// cart amount waits while a payment is active; paid, failed and cancelled
// are held (default 8 s) and then the screen returns to idle. Run drives
// that hold timer; the clock is injectable (ControllerOptions.Now) and every
// delay configurable.
//
// Handler serves the web display under /display: one HTML page with inline
// CSS and plain ES5 JavaScript (old Android WebViews), no external assets,
// bilingual English / Simplified Chinese. The page subscribes to the
// agent's /v1/events with EventSource, applies the same rules as the
// Controller (screenFor in page.html mirrors ScreenFor: change both
// together), reconnects by itself with exponential backoff asking
// after=last seen sequence, and on every (re)connect resyncs from
// /display/screen.json (the Controller's snapshot) so it never keeps a stale
// screen. Elements carry stable ids and data attributes for tests:
// <body data-screen data-payment-id data-wallet data-connected>, #amount,
// #qr (its src is /display/qr.svg?id=...), #title1/#title2, #countdown;
// window.POS holds lastSeq, connects, loadedAt and history (the screens
// shown, last 50).
//
// QR codes are made with gozxing's QR writer: error correction M, a quiet
// zone of 4 modules, as SVG (one path, crisp edges, scales to any size) or
// PNG at an integer module size. DecodeQR reads them back; tests prove
// every rendering scans.
//
// Languages: every display shows a primary language and, where there is
// room, the other one second. Options.Language (display.language) is en,
// zh or auto; PrimaryLanguage decides per screen: with auto, a WeChat Pay
// or Alipay payment is Chinese first (most of their customers read Chinese
// first), anything else (UnionPay, the cart, idle) the shop's language
// (ShopLanguage). The page's primary() mirrors it and marks the choice as
// <body data-lang> and <html lang>.
//
// Renderer draws a Screen into a grey image of a configured size for small
// LCDs and headless tests (128x40 Sunmi mini, 800x480 second screen): the
// 7x13 bitmap font below 120 pixels of height, Go Regular/Bold above,
// Chinese with the CJK font of package fonts (FrameOptions.CJK), the QR as
// large as fits at an integer scale. Large frames show the primary language
// with the other smaller beneath; small ones the primary language only. PNGSink writes each frame to a file
// atomically; FramebufferSink writes it into a Linux framebuffer (/dev/fbN)
// in gray8, rgb565 or xrgb8888 with a configured stride (EncodeFramebuffer
// is the pure layout step). Pole displays are in the subpackage pole; the browser test
// helpers in the module's internal/displaytest.
//
// # Caveats
//
//   - Chinese in PNG frames needs a CJK font (FrameOptions.CJK, found by
//     package fonts): without one frames are English and large ones say
//     "(Chinese text omitted)". The page relies on the browser's CJK font
//     (fonts-noto-cjk on Linux).
//   - On a 128x40 frame a QR fits only up to version 3 (about 40 bytes of
//     URL at level M); a longer code_url is shown as text without a QR.
//   - The page's EventSource cannot send an Authorization header. When the
//     agent listens beyond loopback with a token, open the page as
//     /display?token=... and the page adds token= to every request it makes;
//     the agent must accept it there.
//   - If the agent's event sequence is ever reset (a new database), a page
//     asking after= a higher sequence gets no replay; the resync from
//     screen.json still shows the right screen when a Controller is wired.
//   - The hold of a final screen on the page counts from the event's
//     updated_at (server time, corrected by the Date the page learns from
//     config.json and screen.json), so a replayed old "paid" is not shown.
package display
