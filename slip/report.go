package slip

// Report is a shift report (X, Z, reconciliation) as plain data: a title,
// label/value lines, then sections of rows with a count and an amount. The
// agent builds one from its report; printer.EncodeReport turns it into
// ESC/POS bytes; printer.RenderReportPNG shows it as a picture.
type Report struct {
	Title    string      // "X REPORT", "Z REPORT", "RECONCILIATION"
	Number   string      // printed after the title: "#12"
	Merchant string      // the header
	Info     [][2]string // label, value: shift, lane, times, ...
	Currency string
	Sections []ReportSection
	Footer   []string
	Reprint  bool
}

// ReportSection is a titled group of rows.
type ReportSection struct {
	Title string
	Rows  []ReportRow
}

// ReportRow is one line: a label, a count (when HasCount) and an amount,
// or a text instead of the amount.
type ReportRow struct {
	Label    string
	HasCount bool
	Count    int
	Amount   int64
	Text     string // printed instead of the amount when not empty
	Bold     bool
}
