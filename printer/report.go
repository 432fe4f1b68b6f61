package printer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/posagent/posagent/money"
)

// Report is a shift report (X, Z, reconciliation) as plain data for the
// printer: a title, label/value lines, then sections of rows with a count
// and an amount. The agent builds one from its report; EncodeReport turns
// it into ESC/POS bytes; RenderReportPNG shows it as a picture.
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

// reportZH are the Chinese labels of reports, by their English text
// (receipt labels are found in Label's table).
var reportZH = map[string]string{
	"X REPORT": "X报表", "Z REPORT": "Z报表", "RECONCILIATION": "对账报告",
	"Shift": "班次", "Lane": "收银台", "Opened": "开班", "Closed": "结班", "Printed": "打印时间",
	"Time zone": "时区", "Last event": "最后事件", "Checksum": "校验码", "Opened by": "开班人", "Closed by": "结班人",
	"PAYMENTS BY STATE": "按状态", "BY WALLET": "按支付方式", "BY MODE": "按类型", "BY OPERATOR": "按收银员",
	"TOTALS": "汇总", "Payments": "交易笔数", "Sales": "销售", "Tips": "小费", "Refunds": "退款",
	"of which automatic": "其中自动撤销", "Refunds pending": "待处理退款", "NET": "净额",
	"IN DOUBT": "待确认交易", "None": "无", "Checked": "已核对", "Matched": "一致", "Unanswered": "无应答",
	"Skipped": "跳过", "MISMATCHES": "差异", "Z report": "Z报表",
	"succeeded": "成功", "failed": "失败", "cancelled": "已取消", "expired": "已过期", "reversed": "已撤销",
	"in_doubt": "待确认", "processing": "处理中", "queued": "排队中", "awaiting_code": "等待付款码",
	"scan": "扫码", "qr": "二维码",
	"Shift net": "本班净额", "Late settlements": "结班后结算", "LATE SETTLEMENTS": "结班后结算明细",
	"UNSETTLED FROM EARLIER SHIFTS": "以前班次未结算",
}

// ReportLabel returns a report label in a language (the receipt's rules:
// Chinese only, or English then Chinese; untranslated labels stay English).
func ReportLabel(en string, l Language) string {
	zh, ok := reportZH[en]
	if !ok {
		return Label(en, l)
	}
	switch l {
	case Chinese:
		return zh
	case Bilingual:
		return en + " " + zh
	}
	return en
}

// EncodeReport turns a report into ESC/POS bytes for a printer profile, in
// the profile's language (Chinese needs GB18030, as for receipts). It is
// pure. Every line fits the profile's columns.
func EncodeReport(r Report, p Profile) []byte {
	e := newReportEncoder(p)
	e.header(r)
	for _, kv := range r.Info {
		if kv[1] != "" {
			e.line(e.L(kv[0]), kv[1])
		}
	}
	for _, s := range r.Sections {
		e.section(s, r.Currency)
	}
	e.footer(r.Footer)
	return e.b.Bytes()
}

// reportEncoder is what the steps of EncodeReport share.
type reportEncoder struct {
	p    Profile
	b    *Builder
	lang Language
	cols int
	rule string
	m    cells // how many columns a character takes
	zh   bool  // wallet names in Chinese: the printer's font, or raster lines on a Chinese report
}

// newReportEncoder normalizes the profile, picks the language and starts
// the bytes: ESC @, the code page, Chinese mode.
func newReportEncoder(p Profile) *reportEncoder {
	p = p.Normalize()
	b, m, zh := startText(p)
	lang := p.Language
	if !zh || lang == "" {
		lang = English
	}
	zh = p.GB18030 || (zh && lang != English) // wallet names: as on receipts
	return &reportEncoder{p: p, b: b, lang: lang, cols: p.Columns, rule: strings.Repeat("-", p.Columns), m: m, zh: zh}
}

// L is an English label, or a wallet id, in the report's language.
func (e *reportEncoder) L(en string) string {
	if _, ok := walletNames[strings.ToLower(en)]; ok {
		return walletLabel(en, e.lang, e.zh)
	}
	return ReportLabel(en, e.lang)
}

// wrapped prints text wrapped to width columns.
func (e *reportEncoder) wrapped(text string, width int) {
	for _, l := range wrap(text, width, e.m) {
		e.b.Line(l)
	}
}

// line prints a label/value line.
func (e *reportEncoder) line(label, value string) {
	for _, l := range columns(label, value, e.cols, e.m) {
		e.b.Line(l)
	}
}

// header prints the merchant, the title and number, the reprint mark.
func (e *reportEncoder) header(r Report) {
	b := e.b
	b.Align(AlignCenter)
	if r.Merchant != "" {
		b.Bold(true).Double(true)
		e.wrapped(r.Merchant, e.cols/2)
		b.Double(false).Bold(false)
	}
	b.Bold(true).Size(1, 2)
	e.wrapped(strings.TrimSpace(e.L(r.Title)+" "+r.Number), e.cols)
	b.Size(1, 1)
	if r.Reprint {
		b.Line("** " + e.L("REPRINT") + " **")
	}
	b.Bold(false).Align(AlignLeft).Line(e.rule)
}

// section prints a rule, the section's title and its rows.
func (e *reportEncoder) section(s ReportSection, currency string) {
	b := e.b
	b.Line(e.rule)
	if s.Title != "" {
		b.Bold(true)
		e.wrapped(e.L(s.Title), e.cols)
		b.Bold(false)
	}
	for _, row := range s.Rows {
		v := row.Text
		if v == "" {
			v = money.Amount(row.Amount).Format(currency)
			if row.HasCount {
				v = strconv.Itoa(row.Count) + "  " + v
			}
		}
		if row.Bold {
			b.Bold(true)
		}
		e.line(e.L(row.Label), v)
		if row.Bold {
			b.Bold(false)
		}
	}
}

// footer prints the footer lines, leaves Chinese mode and cuts.
func (e *reportEncoder) footer(lines []string) {
	b := e.b
	if len(lines) > 0 {
		b.Line(e.rule)
	}
	for _, f := range lines {
		e.wrapped(f, e.cols)
	}
	if e.p.GB18030 {
		b.ChineseOff()
	}
	b.Cut(e.p.Cut, e.p.FeedBeforeCut)
}

// RenderReportPNG renders a report as the virtual printer would print it.
func RenderReportPNG(r Report, p Profile) ([]byte, error) {
	p = p.Normalize()
	pages := RenderWith(EncodeReport(r, p), InterpreterOptions{Width: p.Dots, CJK: p.CJK})
	if len(pages) == 0 {
		return nil, fmt.Errorf("printer: render report %s: nothing printed", r.Title)
	}
	b, err := pages[0].PNG()
	if err != nil {
		return nil, fmt.Errorf("printer: render report %s: %w", r.Title, err)
	}
	return b, nil
}
