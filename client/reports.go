package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Status reads GET /v1/status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if _, err := c.do(ctx, call{method: "GET", path: "/v1/status"}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Healthy asks GET /healthz, which needs no token: nil when the daemon
// answers.
func (c *Client) Healthy(ctx context.Context) error {
	_, err := c.do(ctx, call{method: "GET", path: "/healthz"}, nil)
	return err
}

// CurrentShift is the open shift (nil when none is open).
func (c *Client) CurrentShift(ctx context.Context) (*Shift, error) {
	var out struct {
		Shift *Shift `json:"shift"`
	}
	if _, err := c.do(ctx, call{method: "GET", path: "/v1/shifts/current"}, &out); err != nil {
		return nil, err
	}
	return out.Shift, nil
}

// OpenShift opens a shift (manager); operator is who opens it.
func (c *Client) OpenShift(ctx context.Context, operator string) (*Shift, error) {
	var sh Shift
	body := map[string]any{"operator": operator}
	if _, err := c.do(ctx, call{method: "POST", path: "/v1/shifts/open", body: body}, &sh); err != nil {
		return nil, err
	}
	return &sh, nil
}

// CloseShift closes the open shift with its Z report (manager), printed
// when print is set.
func (c *Client) CloseShift(ctx context.Context, operator string, print bool) (*Report, error) {
	var rep Report
	body := map[string]any{"operator": operator, "print": print}
	if _, err := c.do(ctx, call{method: "POST", path: "/v1/shifts/close", body: body}, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// XReport is the open shift's report so far.
func (c *Client) XReport(ctx context.Context) (*Report, error) { return c.report(ctx, "/v1/reports/x") }

// ZReport is Z report n.
func (c *Client) ZReport(ctx context.Context, n uint64) (*Report, error) {
	return c.report(ctx, zPath(n))
}

func (c *Client) report(ctx context.Context, path string) (*Report, error) {
	var rep Report
	if _, err := c.do(ctx, call{method: "GET", path: path}, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

func zPath(n uint64) string { return "/v1/reports/z/" + strconv.FormatUint(n, 10) }

// ZReports lists the stored Z reports, newest first.
func (c *Client) ZReports(ctx context.Context) ([]ZRecord, error) {
	var out struct {
		Reports []ZRecord `json:"reports"`
	}
	if _, err := c.do(ctx, call{method: "GET", path: "/v1/reports/z"}, &out); err != nil {
		return nil, err
	}
	return out.Reports, nil
}

// Report formats of ReportFile: the API's JSON as it is, CSV, or a PNG as
// the printer prints it.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatPNG  = "png"
)

// XReportFile is the X report in a format; paper ("58mm", "80mm", ""
// the configured printer's) is for FormatPNG.
func (c *Client) XReportFile(ctx context.Context, format, paper string) ([]byte, error) {
	return c.file(ctx, "GET", "/v1/reports/x", format, paper)
}

// ZReportFile is Z report n in a format (see XReportFile).
func (c *Client) ZReportFile(ctx context.Context, n uint64, format, paper string) ([]byte, error) {
	return c.file(ctx, "GET", zPath(n), format, paper)
}

func (c *Client) file(ctx context.Context, method, path, format, paper string) ([]byte, error) {
	q := url.Values{}
	if format != "" {
		q.Set("format", format)
	}
	if paper != "" {
		q.Set("paper", paper)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var b []byte
	_, err := c.do(ctx, call{method: method, path: path}, &b)
	return b, err
}

// PrintXReport prints the X report on the receipt printer.
func (c *Client) PrintXReport(ctx context.Context) (*Report, error) {
	return c.printReport(ctx, "/v1/reports/x/print")
}

// PrintZReport prints Z report n again (marked REPRINT).
func (c *Client) PrintZReport(ctx context.Context, n uint64) (*Report, error) {
	return c.printReport(ctx, zPath(n)+"/print")
}

func (c *Client) printReport(ctx context.Context, path string) (*Report, error) {
	var rep Report
	if _, err := c.do(ctx, call{method: "POST", path: path, body: struct{}{}}, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// Reconcile checks Z report n's orders with the gateway now (manager).
func (c *Client) Reconcile(ctx context.Context, n uint64) (*Reconciliation, error) {
	var rc Reconciliation
	if _, err := c.do(ctx, call{method: "POST", path: zPath(n) + "/reconcile"}, &rc); err != nil {
		return nil, err
	}
	return &rc, nil
}

// ReconcileFile is Reconcile answered in a format (FormatJSON, FormatCSV,
// FormatPNG).
func (c *Client) ReconcileFile(ctx context.Context, n uint64, format string) ([]byte, error) {
	return c.file(ctx, "POST", zPath(n)+"/reconcile", format, "")
}

// Reconciliation is the last reconciliation of Z report n.
func (c *Client) Reconciliation(ctx context.Context, n uint64) (*Reconciliation, error) {
	var rc Reconciliation
	if _, err := c.do(ctx, call{method: "GET", path: zPath(n) + "/reconciliation"}, &rc); err != nil {
		return nil, err
	}
	return &rc, nil
}

// PlacardPNG draws the counter placard (merchant.static_qr and payment
// links); paper as in XReportFile.
func (c *Client) PlacardPNG(ctx context.Context, paper string) ([]byte, error) {
	return c.file(ctx, "GET", "/v1/placard", FormatPNG, paper)
}

// PrintPlacard prints the counter placard.
func (c *Client) PrintPlacard(ctx context.Context) error {
	_, err := c.do(ctx, call{method: "POST", path: "/v1/placard/print", body: struct{}{}}, nil)
	return err
}

// AuditTrail lists the audit entries at or after since (zero: all), the
// newest limit of them (0: the API's default, 1000), oldest first
// (manager).
func (c *Client) AuditTrail(ctx context.Context, since time.Time, limit int) ([]AuditEntry, error) {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/audit"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Audit []AuditEntry `json:"audit"`
	}
	if _, err := c.do(ctx, call{method: "GET", path: path}, &out); err != nil {
		return nil, err
	}
	return out.Audit, nil
}

// Export streams the bookkeeping export of the payments created at or
// after since (zero: all), oldest first, as FormatCSV or FormatJSON
// (manager). Close the reader.
func (c *Client) Export(ctx context.Context, since time.Time, format string) (io.ReadCloser, error) {
	q := url.Values{"format": {format}}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
	return c.stream(ctx, "/v1/export?"+q.Encode())
}

// JournalBackup streams a consistent copy of the running daemon's journal
// (manager): a bbolt file. Close the reader.
func (c *Client) JournalBackup(ctx context.Context) (io.ReadCloser, error) {
	return c.stream(ctx, "/v1/journal/backup")
}

func (c *Client) stream(ctx context.Context, path string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, call{method: "GET", path: path, stream: true}, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Reload makes the daemon read its configuration file again (as SIGHUP
// does). A refused file is no error: the result says why (OK false) and
// nothing changed.
func (c *Client) Reload(ctx context.Context) (*ReloadResult, error) {
	var res ReloadResult
	_, err := c.do(ctx, call{method: "POST", path: "/v1/config/reload"}, &res)
	var ae *Error
	if errors.As(err, &ae) && ae.StatusCode == http.StatusUnprocessableEntity && json.Unmarshal(ae.Body, &res) == nil {
		return &res, nil
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}
