// Package slip is what a printed slip is made of, as plain data: a
// receipt (Receipt, RefundLine), a shift or reconciliation report
// (Report, ReportSection, ReportRow) and the counter placard (Placard,
// PlacardLink). The payment engine (package agent) builds them; package
// printer encodes them as ESC/POS bytes or draws them as PNG, and keeps
// its own names for them (printer.Receipt is slip.Receipt).
//
// It is a leaf: the standard library only, so the engine and the local API
// hold slips without linking a printer transport, the QR codec or the
// font rasterizer. Labels are the English text; the printer translates
// them for the receipt language it is configured with.
package slip
