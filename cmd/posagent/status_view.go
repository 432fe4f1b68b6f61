package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/feed"
	"github.com/posagent/posagent/money"
)

// writeStatus prints a short summary a person reads, like systemctl
// status: a first line that says whether all is well, then one line per
// part (gateway, journal, outbox, in doubt, devices, shift, clock). It is
// pure: now is the time ages are counted to.
func writeStatus(w io.Writer, st *client.Status, shift *client.Shift, now time.Time) {
	var problems []string
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%10s: %s\n", label, fmt.Sprintf(format, args...))
	}
	ok := func(good bool, what string) {
		if !good {
			problems = append(problems, what)
		}
	}
	gw := "reachable"
	switch {
	case !st.Gateway.Reachable:
		gw = "UNREACHABLE"
	case st.Gateway.LastContact == nil:
		gw = "not contacted yet"
	}
	if st.Gateway.LastContact != nil {
		gw += ", last answer " + ago(now, *st.Gateway.LastContact)
	}
	if st.Gateway.LastError != "" {
		gw += ", last error: " + st.Gateway.LastError
	}
	ok(st.Gateway.Reachable, "gateway unreachable")
	switch a := st.Gateway.Auth; a.State {
	case client.AuthRefused:
		gw += "; CREDENTIALS REFUSED (gateway_auth): " + a.Reason + ": payments are refused until gateway.merchant_id / the sign key are fixed"
	case client.AuthOK:
		gw += "; credentials accepted"
	}
	ok(st.Gateway.Auth.State != client.AuthRefused, "gateway refuses the credentials (gateway_auth)")

	j := st.Journal
	journal := fmt.Sprintf("%s, %s, check %s", j.Path, sizeText(j.SizeBytes), j.Check.State)
	if !j.Check.VerifiedAt.IsZero() {
		journal += " (verified " + ago(now, j.Check.VerifiedAt) + ")"
	}
	switch {
	case j.Backup.AgeSeconds < 0:
		journal += ", no backup yet"
	default:
		journal += ", backup " + ago(now, now.Add(-time.Duration(j.Backup.AgeSeconds*float64(time.Second))))
	}
	if j.Backup.LastError != "" {
		journal += ", backup error: " + j.Backup.LastError
	}
	ok(j.Check.State != "damaged", "journal damaged")
	ok(st.StoreErrors == 0, fmt.Sprintf("%d journal errors", st.StoreErrors))

	outbox := "empty"
	if o := st.Outbox; o.Depth > 0 {
		outbox = fmt.Sprintf("%d job(s) (%s), oldest %s old", o.Depth, kinds(o.ByKind), (time.Duration(o.OldestAgeSeconds) * time.Second).String())
		if o.LastError != "" {
			outbox += ", last error: " + o.LastError
		}
	}
	doubt := "none"
	if n := len(st.InDoubt); n > 0 {
		var ids []string
		for _, p := range st.InDoubt {
			ids = append(ids, fmt.Sprintf("%s %s (%s)", p.ID, money.Amount(p.Amount).String(), (time.Duration(p.AgeSeconds)*time.Second).String()))
		}
		doubt = fmt.Sprintf("%d, the gateway has not said whether they were paid: %s", n, strings.Join(ids, "; "))
	}
	ok(len(st.InDoubt) == 0, fmt.Sprintf("%d in doubt", len(st.InDoubt)))
	for _, p := range st.InDoubt {
		ok(!p.Stuck, "the automatic refund of "+p.ID+" is not made yet (reversal_stuck)")
	}
	refunds := "none in doubt"
	if n := len(st.RefundsInDoubt); n > 0 {
		var rs []string
		for _, r := range st.RefundsInDoubt {
			s := fmt.Sprintf("%s of %s %s %s", r.RefundID, r.PaymentID, money.Amount(r.Amount).String(), r.State)
			switch {
			case r.Ambiguous != "":
				s += " (needs a manager: posagent refund resolve)"
				ok(false, "refund "+r.RefundID+" needs a manager")
			case r.Behind != "":
				s += " (waits behind " + r.Behind + ")"
			}
			rs = append(rs, s)
		}
		refunds = strings.Join(rs, "; ")
	}
	if st.Contradicted > 0 {
		refunds += fmt.Sprintf("; %d resolution(s) by hand contradicted by the gateway since start", st.Contradicted)
		ok(false, "a resolution by hand was contradicted")
	}

	var devs []string
	for _, d := range st.Devices {
		s := d.Kind + " " + d.Name + " " + d.State
		if d.LastError != "" {
			s += " (" + d.LastError + ")"
		}
		devs = append(devs, s)
		ok(agent.DeviceWorking(d.State), d.Kind+" "+d.Name+" "+d.State)
	}
	if len(devs) == 0 {
		devs = []string{"none configured"}
	}
	sh := "none open (the first payment opens one)"
	if shift != nil {
		sh = fmt.Sprintf("#%d open since %s", shift.No, shift.OpenedAt.Local().Format("2006-01-02 15:04"))
		if shift.OpenedBy != "" {
			sh += " by " + shift.OpenedBy
		}
	}
	clock := "ok"
	if !st.Clock.Plausible {
		clock = "NOT PLAUSIBLE: " + st.Clock.Problem + " (payments are refused until the time is set)"
	}
	if st.Clock.Jumps > 0 {
		clock += fmt.Sprintf(", %d jump(s) since start", st.Clock.Jumps)
	}
	ok(st.Clock.Plausible, "clock not plausible")
	feedText, feedProblem := feedStatusLine((*feed.Status)(st.Feed), now)
	ok(feedProblem == "", feedProblem)

	mark, head := "●", "all well"
	if len(problems) > 0 {
		mark, head = "✗", strings.Join(problems, "; ")
	}
	fmt.Fprintf(w, "%s posagent %s - %s\n", mark, st.Version, head)
	line("running", "since %s (up %s)", st.StartedAt.Local().Format("2006-01-02 15:04:05"), (time.Duration(st.UptimeSeconds) * time.Second).String())
	line("gateway", "%s", gw)
	line("journal", "%s", journal)
	line("outbox", "%s", outbox)
	line("in doubt", "%s", doubt)
	line("refunds", "%s", refunds)
	line("devices", "%s", strings.Join(devs, "; "))
	line("shift", "%s", sh)
	line("clock", "%s", clock)
	pay := fmt.Sprintf("%d open", st.OpenPayments)
	if st.Cart != nil {
		pay += fmt.Sprintf("; amount due %s %s", money.Amount(st.Cart.Amount+st.Cart.Tip).Format(st.Cart.Currency), st.Cart.Currency)
	}
	line("payments", "%s", pay)
	api := "tokens for " + strings.Join(st.API.Roles, ", ")
	if st.API.Open {
		api = "open to loopback callers (no tokens)"
	}
	if st.API.TLSFingerprint != "" {
		api += "; TLS certificate SHA-256 " + st.API.TLSFingerprint
	}
	if st.API.Socket != "" {
		api += "; socket " + st.API.Socket
	}
	line("api", "%s", api)
	if st.Feed != nil {
		line("feed", "%s", feedText)
	}
	fmt.Fprintln(w, "(posagent status --json for everything; posagent doctor checks the setup)")
}

// ago says how long before now t was, in whole seconds ("3s ago").
func ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

// sizeText is a byte count for a person (1.2 MB).
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// kinds lists an outbox's jobs by kind, sorted ("query 2, refund 1").
func kinds(by map[string]int) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(by)) {
		out = append(out, fmt.Sprintf("%s %d", k, by[k]))
	}
	return strings.Join(out, ", ")
}

// feedStatusLine is the feed's line of `posagent status` and, when the
// feed is stuck, the problem of its first line ("" when well or off).
func feedStatusLine(f *feed.Status, now time.Time) (text, problem string) {
	if f == nil {
		return "", ""
	}
	text = fmt.Sprintf("%s, %s on %s", strings.ReplaceAll(f.State, "_", " "), f.Subject, f.Stream)
	if f.Server != "" {
		text += " via " + f.Server
	}
	text += fmt.Sprintf(", acknowledged #%d", f.Acked)
	if f.LagEvents > 0 {
		text += fmt.Sprintf(", %d event(s) %s behind", f.LagEvents, (time.Duration(f.LagSeconds) * time.Second).String())
	}
	if f.LastError != "" {
		text += ", last error"
		if !f.LastErrAt.IsZero() {
			text += " " + ago(now, f.LastErrAt)
		}
		text += ": " + f.LastError
	}
	if f.State == feed.StateStuck {
		problem = "feed stuck"
	}
	return text, problem
}
