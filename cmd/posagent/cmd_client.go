package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/money"
)

// parseAmount turns what a cashier types ("12.50", "12.5", "12", "0.99")
// into minor units (1250) with money.Parse, and refuses zero.
func parseAmount(s string) (int64, error) {
	a, err := money.Parse(s, "")
	if err != nil {
		return 0, err
	}
	if a <= 0 {
		return 0, fmt.Errorf("amount %q: must be more than zero", strings.TrimSpace(s))
	}
	return int64(a), nil
}

func newPayCmd(g *globalFlags) *cobra.Command {
	var pf payFlags
	cmd := &cobra.Command{
		Use:   "pay AMOUNT",
		Short: "Take a payment and follow it live; exit 0 only if it succeeded",
		Long: `Start a payment through the daemon's local API and follow it to its final state.

  posagent pay 12.50                         scan payment: waits for the scanner
  posagent pay 12.50 --code 134567890123456789   scan payment with a code typed in
  posagent pay 12.50 --qr --wallet alipay    qr payment: the QR is shown on the
                                             customer display (and here)
  posagent pay 12.50 --tip 2.00              with a tip: 14.50 is charged
  posagent pay 12.50 --ref INV-1042          the POS's sale number (sent to OTTPay)

AMOUNT is in major units as a cashier types it (12.50 = 1250 cents).
Ctrl-C asks the daemon to cancel the payment (it ends cancelled, or in_doubt
if the gateway may already have charged; the daemon then reconciles it).
Exit status: 0 succeeded, 1 anything else.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := pf.body(args[0])
			if err != nil {
				return err
			}
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			return pf.pay(cmd, c, body)
		},
	}
	cmd.Flags().BoolVar(&pf.qr, "qr", false, "qr payment: show a QR for the customer's wallet to scan")
	cmd.Flags().StringVar(&pf.wallet, "wallet", "", "wallet for a qr payment: wechat, alipay or unionpay (default wechat)")
	cmd.Flags().StringVar(&pf.code, "code", "", "the customer's payment code, when typed in instead of scanned")
	cmd.Flags().StringVar(&pf.ref, "ref", "", "your sale number (invoice number), sent to OTTPay as sale_num: up to 32 letters, digits and - _ . / #")
	cmd.Flags().StringVar(&pf.tipText, "tip", "", "a tip on top of AMOUNT, in major units (2.00)")
	cmd.Flags().BoolVar(&pf.yes, "yes", false, "take the payment even if it may duplicate an earlier one that failed or is in doubt (no question asked)")
	cmd.Flags().StringVar(&pf.currency, "currency", "", "ISO 4217 currency (default: the merchant's)")
	cmd.Flags().BoolVar(&pf.jsonOut, "json", false, "print the final payment as JSON")
	return cmd
}

// payFlags are the flags of `posagent pay`.
type payFlags struct {
	qr                                   bool
	wallet, code, ref, currency, tipText string
	jsonOut, yes                         bool
}

// body is the POST /v1/payments request for amount (as typed) and the
// flags; flags that do not go together are refused.
func (pf *payFlags) body(amountText string) (client.PaymentRequest, error) {
	amount, err := parseAmount(amountText)
	if err != nil {
		return client.PaymentRequest{}, err
	}
	body := client.PaymentRequest{Amount: amount, Mode: "scan", Currency: pf.currency, Reference: pf.ref}
	if pf.tipText != "" {
		tip, err := money.Parse(pf.tipText, "")
		if err != nil || tip < 0 {
			return body, fmt.Errorf("--tip %q: give the tip as an amount, like 2.00", pf.tipText)
		}
		body.Tip = int64(tip)
	}
	if pf.qr {
		body.Mode = "qr"
		if pf.wallet == "" {
			pf.wallet = "wechat"
		}
		body.Wallet = pf.wallet
		if pf.code != "" {
			return body, errors.New("--code is for scan payments; a qr payment is paid by the customer scanning the QR")
		}
	} else if pf.wallet != "" {
		return body, errors.New("--wallet is for qr payments (--qr); a scan payment's wallet comes from the code")
	}
	return body, nil
}

// pay starts the payment, gives a typed code and follows it to its end.
func (pf *payFlags) pay(cmd *cobra.Command, c *client.Client, body client.PaymentRequest) error {
	// A typed code is given after the payment exists, so that the
	// cashier can answer a possible_duplicate warning before
	// anything is charged.
	p, err := c.CreatePayment(cmd.Context(), body)
	if err != nil {
		return err
	}
	if !confirmDuplicate(cmd, c, p, pf.yes) {
		return exitError{code: 1, msg: fmt.Sprintf("payment %s not taken: %s", p.ID, p.State)}
	}
	if pf.code != "" {
		if p, err = c.GiveCode(cmd.Context(), p.ID, pf.code); err != nil {
			return err
		}
	}
	return follow(cmd.Context(), c, p, cmd.OutOrStdout(), pf.jsonOut)
}

// follow prints a payment's state changes until it is final. On Ctrl-C it asks
// the daemon to cancel and keeps following for a short while.
func follow(ctx context.Context, c *client.Client, p *client.Payment, out io.Writer, jsonOut bool) error {
	fmt.Fprintf(out, "payment %s  %s %s%s  %s\n", p.ID, money.Amount(p.Amount+p.Tip).Format(p.Currency), p.Currency, tipNote(p), p.Mode)
	var last string
	lastReason := ""
	shownQR := false
	cancelled := false
	bg := context.WithoutCancel(ctx)
	deadline := time.Time{}
	for {
		if p.State != last || p.Reason != lastReason {
			fmt.Fprintf(out, "  %s  %s%s\n", time.Now().Format("15:04:05"), p.State, describeState(p))
			last, lastReason = p.State, p.Reason
		}
		if p.CodeURL != "" && !shownQR && !p.Final() {
			fmt.Fprintf(out, "  customer scans: %s\n", p.CodeURL)
			printTerminalQR(out, p.CodeURL)
			shownQR = true
		}
		if p.Final() || (cancelled && p.State == client.InDoubt) {
			break
		}
		if !cancelled && ctx.Err() != nil {
			cancelled = true
			fmt.Fprintln(out, "  cancelling...")
			if cp, err := c.Cancel(bg, p.ID); err != nil {
				fmt.Fprintf(out, "  cancel refused: %v\n", err)
			} else {
				*p = *cp
			}
			deadline = time.Now().Add(20 * time.Second)
			continue
		}
		if cancelled && time.Now().After(deadline) {
			break
		}
		wait := 200 * time.Millisecond
		select {
		case <-ctx.Done():
			if cancelled {
				time.Sleep(wait)
			}
		case <-time.After(wait):
		}
		np, err := c.Payment(bg, p.ID)
		if err != nil {
			return err
		}
		*p = *np
	}
	if jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p)
	}
	if p.State != "succeeded" {
		return exitError{code: 1, msg: fmt.Sprintf("payment %s ended %s%s", p.ID, p.State, describeState(p))}
	}
	fmt.Fprintf(out, "paid %s %s%s with %s (order %s)\n", money.Amount(p.Amount+p.Tip).Format(p.Currency), p.Currency, tipNote(p), p.Wallet, p.OrderID)
	return nil
}

func describeState(p *client.Payment) string {
	if p.Error != nil && p.Error.Code != "" {
		if p.Error.Message != "" {
			return fmt.Sprintf(" (%s: %s)", p.Error.Code, p.Error.Message)
		}
		return " (" + p.Error.Code + ")"
	}
	if p.State == client.Processing && p.Reason == client.ReasonWaitingForCustomer {
		return " - waiting for the customer to confirm on the phone (the display asks them to); " +
			"Ctrl-C cancels: if the customer confirms after that, the payment is refunded to them automatically"
	}
	switch p.State {
	case "awaiting_code":
		return " - scan the customer's payment code"
	case "in_doubt":
		return " - outcome unknown; the daemon keeps checking with the gateway"
	case "queued":
		return " - gateway unreachable; retrying while the code is valid"
	}
	return ""
}

func newCancelCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Stop waiting for a payment (cancelled, or in_doubt if the gateway may have charged)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			p, err := c.Cancel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "payment %s: %s%s\n", p.ID, p.State, describeState(p))
			return nil
		},
	}
}

func newRefundCmd(g *globalFlags) *cobra.Command {
	cmd := newRefundAskCmd(g)
	cmd.AddCommand(newRefundResolveCmd(g), newRefundRetryCmd(g))
	return cmd
}

func newRefundAskCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "refund ID [AMOUNT]",
		Short: "Refund all (no AMOUNT) or part of a succeeded payment",
		Long: `Refund a succeeded payment, in full or in part. AMOUNT is in major units
(5.00); without it, everything not yet refunded is refunded. A refund never
exceeds what is left. While the gateway is unreachable the refund waits in the
daemon's durable queue and is sent when it returns.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req client.RefundRequest // no amount: everything left, said explicitly ({"all":true})
			if len(args) == 2 {
				a, err := parseAmount(args[1])
				if err != nil {
					return err
				}
				req.Amount = a
			}
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			p, err := c.Refund(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			// Follow the newest refund briefly so the cashier sees its outcome.
			out := cmd.OutOrStdout()
			for i := 0; i < 100; i++ {
				if n := len(p.Refunds); n > 0 {
					r := p.Refunds[n-1]
					if r.Behind != "" {
						fmt.Fprintf(out, "refund %s of %s %s: accepted, waits behind refund %s of the same payment (refunds of one payment go one at a time)\n",
							r.ID, money.Amount(r.Amount).Format(p.Currency), p.Currency, r.Behind)
						return nil
					}
					if r.State == "succeeded" || r.State == "failed" || i == 99 {
						fmt.Fprintf(out, "refund %s of %s %s: %s (payment %s, refunded %s in all)\n",
							r.ID, money.Amount(r.Amount).Format(p.Currency), p.Currency, r.State, p.ID, money.Amount(p.Refunded).Format(p.Currency))
						if r.State == "failed" {
							if r.Error != nil && r.Error.Code == "refund_not_made" {
								fmt.Fprintf(out, "nothing was refunded: to make it again, run: posagent refund retry %s %s\n", p.ID, r.ID)
							}
							return exitError{code: 1}
						}
						return nil
					}
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(100 * time.Millisecond):
				}
				if p, err = c.Payment(cmd.Context(), p.ID); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newPaymentsCmd(g *globalFlags) *cobra.Command {
	var state, ref, find string
	var limit int
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "payments",
		Short: "List payments, newest first (--ref SALE, --find TRANSACTION-NUMBER)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			list, err := c.Payments(cmd.Context(), client.ListQuery{State: state, Reference: ref, Find: find, Limit: limit})
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSONOut(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCREATED\tMODE\tWALLET\tAMOUNT\tSTATE\tREFUNDED\tREFERENCE")
			for _, p := range list.Payments {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", p.ID, p.CreatedAt.Local().Format("2006-01-02 15:04:05"),
					p.Mode, p.Wallet, money.Amount(p.Amount).Format(p.Currency), p.Currency, p.State, money.Amount(p.Refunded).Format(p.Currency), p.Reference)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only payments in this state (succeeded, in_doubt, ...)")
	cmd.Flags().StringVar(&ref, "ref", "", "only the payments of this sale number (reference)")
	cmd.Flags().StringVar(&find, "find", "", "find a sale by the wallet's transaction number (from the customer's phone), an order id or a reference, or part of one")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the API's JSON")
	return cmd
}

func newShowCmd(g *globalFlags) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one payment with its history and refunds",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			p, err := c.Payment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				return writeJSONOut(out, p)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "payment\t%s\n", p.ID)
			fmt.Fprintf(tw, "order id\t%s\n", p.OrderID)
			fmt.Fprintf(tw, "reference\t%s\n", p.Reference)
			fmt.Fprintf(tw, "mode\t%s\n", p.Mode)
			fmt.Fprintf(tw, "wallet\t%s\n", p.Wallet)
			fmt.Fprintf(tw, "amount\t%s %s\n", money.Amount(p.Amount).Format(p.Currency), p.Currency)
			if p.Tip != 0 {
				fmt.Fprintf(tw, "tip\t%s %s\n", money.Amount(p.Tip).Format(p.Currency), p.Currency)
				fmt.Fprintf(tw, "total\t%s %s\n", money.Amount(p.Amount+p.Tip).Format(p.Currency), p.Currency)
			}
			showWalletSide(tw, p)
			fmt.Fprintf(tw, "state\t%s%s\n", p.State, describeState(p))
			if p.AuthCodeMasked != "" {
				fmt.Fprintf(tw, "code\t%s\n", p.AuthCodeMasked)
			}
			if p.CodeURL != "" {
				fmt.Fprintf(tw, "code_url\t%s\n", p.CodeURL)
			}
			fmt.Fprintf(tw, "created\t%s\n", p.CreatedAt.Local().Format(time.RFC3339))
			fmt.Fprintf(tw, "refunded\t%s %s\n", money.Amount(p.Refunded).Format(p.Currency), p.Currency)
			tw.Flush()
			fmt.Fprintln(out, "history:")
			for _, h := range p.History {
				fmt.Fprintf(out, "  %s  %s\n", h.At.Local().Format("15:04:05.000"), h.State)
			}
			if len(p.Refunds) > 0 {
				fmt.Fprintln(out, "refunds:")
				for _, r := range p.Refunds {
					fmt.Fprintf(out, "  %s  %s %s  %s  (order %s)\n", r.ID, money.Amount(r.Amount).Format(p.Currency), p.Currency, r.State, r.OrderID)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the API's JSON")
	return cmd
}

func newReceiptCmd(g *globalFlags) *cobra.Command {
	var pngPath string
	cmd := &cobra.Command{
		Use:   "receipt ID",
		Short: "Print (or reprint) a payment's receipt, or save it as a PNG with --png",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			if pngPath != "" {
				raw, err := c.ReceiptPNG(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if err := os.WriteFile(pngPath, raw, 0o644); err != nil {
					return fmt.Errorf("receipt: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "receipt of %s written to %s (%d bytes)\n", args[0], pngPath, len(raw))
				return nil
			}
			if err := c.PrintReceipt(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "receipt of %s queued for printing\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&pngPath, "png", "", "write the receipt as a PNG to this file instead of printing it")
	return cmd
}

func newStatusCmd(g *globalFlags) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's status: gateway, journal, outbox, in doubt, devices, shift, clock",
		Long: `Show the daemon's status as a short summary a person reads: the first line
says whether all is well (or what is not), then one line per part. --json prints
GET /v1/status as it is, for scripts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			sh, err := c.CurrentShift(cmd.Context())
			if err != nil {
				sh = nil // a token without the read role: the rest still shows
			}
			writeStatus(cmd.OutOrStdout(), st, sh, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print GET /v1/status as JSON (the output before the summary existed)")
	return cmd
}

func newSyncCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "sync",
		Short: "Reconcile in-doubt payments and flush the outbox now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			n, err := c.Sync(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "{\"jobs\":%d}\n", n)
			return nil
		},
	}
}

func newExportCmd(g *globalFlags) *cobra.Command {
	var since, format, outPath, archive string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export payments since a time as CSV or JSON (for the accountant)",
		Long: `Export the payments created since a time (default: all), oldest first, as
CSV or JSON (with the audit trail), from the running agent (GET /v1/export).

With --archive FILE, read a file written by "posagent journal archive" (or a
journal backup) instead, without the agent: the same columns and members.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "json" {
				return fmt.Errorf("--format %q: use csv or json", format)
			}
			var from time.Time
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				from = t
			}
			if archive != "" {
				return exportArchiveTo(cmd, g, archive, outPath, from, format)
			}
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			rd, err := c.Export(cmd.Context(), from, format)
			if err != nil {
				return err
			}
			defer rd.Close()
			return copyOut(cmd.OutOrStdout(), outPath, rd)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "start time: RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration ago (24h)")
	cmd.Flags().StringVar(&format, "format", "csv", "csv or json")
	cmd.Flags().StringVar(&outPath, "out", "", "write to this file instead of standard output")
	cmd.Flags().StringVar(&archive, "archive", "", "read this archive (posagent journal archive) or backup file instead of asking the agent")
	return cmd
}

// parseSince accepts RFC 3339, a date, or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: use RFC 3339 (2026-11-01T00:00:00Z), a date (2026-11-01) or a duration (24h)", s)
}

// postScan sends a code to the daemon's POST /v1/scans, as if a scanner had
// read it, and prints the daemon's answer to out.
func postScan(ctx context.Context, g *globalFlags, code string, out io.Writer) error {
	c, err := newAPIClient(g)
	if err != nil {
		return err
	}
	if err := c.Scan(ctx, client.ScanRequest{Code: code}); err != nil {
		return err
	}
	fmt.Fprintln(out, `{"accepted":true}`)
	return nil
}

func newResolveCmd(g *globalFlags) *cobra.Command {
	var paid, notPaid bool
	var reason, operator string
	cmd := &cobra.Command{
		Use:   "resolve ID (--paid | --not-paid) --reason TEXT",
		Short: "Settle an in-doubt payment by hand, after checking the merchant portal or the customer's wallet",
		Long: `Settle a payment that is in_doubt (the gateway never gave a final answer)
on a manager's word. Check first: the OTTPay merchant portal, or the
customer's wallet, shows whether the money was taken.

  --paid       the money was taken: the payment becomes succeeded (if the
               sale had been abandoned, it is refunded automatically)
  --not-paid   nothing was taken: the payment becomes failed (or cancelled)

The decision, the reason and the operator stay on the payment and in the
journal as a payment.resolved event. Reconciliation of the payment stops.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if paid == notPaid {
				return fmt.Errorf("say what was found: exactly one of --paid or --not-paid")
			}
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("--reason is required: say what was checked (e.g. \"merchant portal shows no order\")")
			}
			outcome := client.Paid
			if notPaid {
				outcome = client.NotPaid
			}
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			p, err := c.Resolve(cmd.Context(), args[0], client.ResolveRequest{Outcome: outcome, Reason: reason, Operator: operator})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "payment %s: %s%s (resolved by hand: %s)\n", p.ID, p.State, describeState(p), reason)
			return nil
		},
	}
	cmd.Flags().BoolVar(&paid, "paid", false, "the money was taken")
	cmd.Flags().BoolVar(&notPaid, "not-paid", false, "nothing was taken")
	cmd.Flags().StringVar(&reason, "reason", "", "what was checked (required)")
	cmd.Flags().StringVar(&operator, "operator", "", "who decides (recorded on the payment)")
	return cmd
}

func newRefundResolveCmd(g *globalFlags) *cobra.Command {
	var made, notMade bool
	var reason, operator string
	cmd := &cobra.Command{
		Use:   "resolve PAYMENT REFUND (--made | --not-made) --reason TEXT",
		Short: "Settle an in-doubt refund by hand, after checking the merchant portal",
		Long: `Settle a refund that is in_doubt on a manager's word (manager role). The
agent settles a refund in doubt by itself from the original order's refunded
total; when that total cannot be explained without a guess (a refund made in
the merchant portal, for one), the refund stays in doubt, marked ambiguous,
and later refunds of the payment wait behind it. Check the portal first.

  --made       the portal shows this refund: it becomes succeeded
  --not-made   it does not: it becomes failed, nothing refunded (an automatic
               refund is then made again; a cashier's can be retried)`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if made == notMade {
				return fmt.Errorf("say what was found: exactly one of --made or --not-made")
			}
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("--reason is required: say what was checked (e.g. \"portal shows only the owner's refund of 10.00\")")
			}
			outcome := client.Made
			if notMade {
				outcome = client.NotMade
			}
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			p, err := c.ResolveRefund(cmd.Context(), args[0], args[1], client.ResolveRequest{Outcome: outcome, Reason: reason, Operator: operator})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "refund %s of payment %s settled by hand: %s (refunded %s in all)\n",
				args[1], p.ID, outcome, money.Amount(p.Refunded).Format(p.Currency))
			return nil
		},
	}
	cmd.Flags().BoolVar(&made, "made", false, "the portal shows the refund")
	cmd.Flags().BoolVar(&notMade, "not-made", false, "the portal does not show it")
	cmd.Flags().StringVar(&reason, "reason", "", "what was checked (required)")
	cmd.Flags().StringVar(&operator, "operator", "", "who decides (recorded on the refund)")
	return cmd
}

func newRefundRetryCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "retry PAYMENT REFUND",
		Short: "Make again a refund proven not made (same amount, new refund order id)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			p, err := c.RetryRefund(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			r := p.Refunds[len(p.Refunds)-1]
			fmt.Fprintf(cmd.OutOrStdout(), "refund %s of %s %s (again for %s): %s\n", r.ID, money.Amount(r.Amount).Format(p.Currency), p.Currency, args[1], r.State)
			return nil
		},
	}
}

// writeJSONOut prints v as the API's JSON, indented, for --json.
func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// copyOut writes what rd streams to the file at path (0600), or to w when
// path is "".
func copyOut(w io.Writer, path string, rd io.Reader) error {
	if path == "" {
		_, err := io.Copy(w, rd)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rd); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
