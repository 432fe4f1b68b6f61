package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/money"
)

// newSimCmd is `posagent sim`: the OTTPay simulator, and its customer
// (`sim pay`), ledger and fault controls.
func newSimCmd(g *globalFlags) *cobra.Command {
	var s simRun
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the OTTPay simulator (processV2 on loopback, with a ledger of what it charged)",
		Long:  simLong,
		Example: `  posagent sim
  posagent sim --listen 127.0.0.1:7421 --merchant-id ON00004652 --time-scale 0.1
  POSAGENT_GATEWAY_SIGN_KEY=... posagent sim --error-rate 0.2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s.FillDefaults(os.Getenv)
			if err := s.Check(); err != nil {
				return err
			}
			return s.run(cmd)
		},
	}
	s.flags(cmd.Flags())
	cmd.AddCommand(newSimPayCmd(), newSimLedgerCmd(), newSimFaultsCmd())
	return cmd
}

const simLong = `sim runs a simulator of OTTPay's processV2 gateway: the same envelope, digest
and AES-128-ECB encryption, verified on every request and applied to every
answer. Point the agent at it with gateway.url: http://LISTEN/processV2 and the
same merchant id and sign key (or use gateway.url: sim to run it in-process).

Outcomes are chosen by the last two digits of the amount in cents:

  01  declined (FAIL), nothing charged
  02  PROCESSING, paid --paid-after later (the customer enters a password)
  03  PROCESSING, never paid, closed --close-after later
  04  charged, but the connection is dropped without an answer
  05  SYSTEM_ERROR answer, but charged
  06  charged, answer delayed by --slow-reply (past the client's timeout)
  any other: paid at once

For qr payments (ACTIVEPAY) 01 refuses the QR and 04/05/06 apply to the
ACTIVEPAY answer (the order exists, unpaid). Otherwise the code_url points at
this simulator: opening it in a browser, or 'posagent sim pay ORDER_ID', plays
the customer paying (02: paid --paid-after later; 03: never). An unpaid QR
closes after --qr-timeout.

Every delay is multiplied by --time-scale (0.01 runs a 45 s window in 0.45 s).
Faults: --latency-ms, --error-rate (answer SYSTEM_ERROR without acting),
--drop-rate (close the connection without acting), or at run time with
'posagent sim faults' / POST /_sim/faults, which also takes down_for_ms
(connection refused for that long).

With --callbacks, a paid qr order is also announced to its call_back_url
(the response envelope plus merchant_id, signed like an answer).

Endpoints: POST /processV2, GET /_sim/ledger, GET|POST /_sim/faults,
GET|POST /_sim/pay/{order_id}. The ledger is in memory: it is gone when the
simulator stops.`

// simRun is what `posagent sim` runs with: its flags.
type simRun struct {
	ottsim.Standalone
	quiet bool
}

func (s *simRun) flags(fl *pflag.FlagSet) {
	o := &s.Options
	fl.StringVar(&s.Listen, "listen", ottsim.DefaultListen, "address to listen on")
	fl.StringVar(&o.MerchantID, "merchant-id", "", "merchant id the simulator accepts (default $POSAGENT_GATEWAY_MERCHANT_ID, else "+ottsim.DefaultMerchantID+")")
	fl.StringVar(&o.SignKey, "sign-key", "", "merchant sign key (default $POSAGENT_GATEWAY_SIGN_KEY, else OTTPay's published test key)")
	fl.StringVar(&o.BaseURL, "base-url", "", "base of the code_url in qr answers (default http://LISTEN; set it when phones open the QR over the LAN)")
	fl.Float64Var(&o.TimeScale, "time-scale", 1, "multiplies every delay (0.01 = 100 times faster)")
	fl.DurationVar(&o.PaidAfter, "paid-after", ottsim.DefaultPaidAfter, `"02": paid this long after the payment (qr: after the code_url is opened)`)
	fl.DurationVar(&o.CloseAfter, "close-after", ottsim.DefaultCloseAfter, `"03": closed unpaid this long after the payment`)
	fl.DurationVar(&o.SlowReply, "slow-reply", ottsim.DefaultSlowReply, `"06": the answer is delayed this long`)
	fl.DurationVar(&o.QRTimeout, "qr-timeout", ottsim.DefaultQRTimeout, "an unpaid qr order closes after this long")
	fl.Int64Var(&o.Faults.LatencyMS, "latency-ms", 0, "added before every answer, in milliseconds (scaled)")
	fl.Float64Var(&o.Faults.ErrorRate, "error-rate", 0, "share of requests answered SYSTEM_ERROR without acting (0-1)")
	fl.Float64Var(&o.Faults.DropRate, "drop-rate", 0, "share of requests whose connection is dropped without acting (0-1)")
	fl.Uint64Var(&o.Seed, "seed", 1, "seed of the random fault choices (same seed, same sequence)")
	fl.BoolVar(&o.Callbacks, "callbacks", false, "POST a call-back to a qr order's call_back_url when it is paid (3 attempts)")
	fl.BoolVar(&s.quiet, "quiet", false, "log warnings only, not every request")
}

// run listens and runs the simulator until the command's context ends.
func (s *simRun) run(cmd *cobra.Command) error {
	level := slog.LevelInfo
	if s.quiet {
		level = slog.LevelWarn
	}
	s.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	sim, l, base, err := s.Start()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "OTTPay simulator listening on %s/processV2\n", base)
	fmt.Fprintf(w, "  merchant %s, time scale %g; ledger %s/_sim/ledger; faults %s/_sim/faults\n",
		s.MerchantID, s.TimeScale, base, base)
	if err := sim.Run(cmd.Context(), l); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func addSimURLFlag(cmd *cobra.Command, u *string) {
	def := os.Getenv("POSAGENT_SIM_URL")
	if def == "" {
		def = ottsim.DefaultURL
	}
	cmd.Flags().StringVar(u, "sim-url", def, "the running simulator (default $POSAGENT_SIM_URL, else "+ottsim.DefaultURL+")")
}

func newSimPayCmd() *cobra.Command {
	var simURL string
	cmd := &cobra.Command{
		Use:   "pay ORDER_ID",
		Short: "Play the customer paying a qr order at a running simulator",
		Long: `pay plays the customer: it pays the qr (ACTIVEPAY) order ORDER_ID at a
running simulator, as opening its code_url in a browser does. Amounts ending
in 02 are paid --paid-after later; amounts ending in 03 never pay. The
order id is the payment's order_id (posagent show ID prints it).`,
		Example: `  posagent sim pay P20261125183000A1B2
  posagent sim pay P20261125183000A1B2 --sim-url http://192.168.1.20:7421`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ottsim.NewClient(simURL)
			if err != nil {
				return err
			}
			o, err := c.Pay(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "order %s: %s %s, %s\n", o.OrderID, o.Wallet, money.Amount(o.Amount).String(), o.Status)
				if o.Status == "notpay" {
					fmt.Fprintln(cmd.OutOrStdout(), "the customer is confirming in the app: it will be paid shortly")
				}
			}
			return nil
		},
	}
	addSimURLFlag(cmd, &simURL)
	return cmd
}

func newSimLedgerCmd() *cobra.Command {
	var (
		simURL string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Print a running simulator's ledger: every order, what was charged and refunded",
		Long: `ledger prints every order a running simulator has seen, oldest first, with
the amount, what it actually charged and refunded (in major units), the
order_status and the refunds. It is the ground truth to compare the agent's
journal with. --json prints GET /_sim/ledger as is (amounts in cents).`,
		Example: `  posagent sim ledger
  posagent sim ledger --json | jq '.orders[] | select(.charged > 0)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ottsim.NewClient(simURL)
			if err != nil {
				return err
			}
			var out struct {
				Orders []ottsim.Order `json:"orders"`
			}
			if out.Orders, err = c.Ledger(cmd.Context()); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			if len(out.Orders) == 0 {
				fmt.Fprintln(w, "no orders yet")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ORDER_ID\tMODE\tWALLET\tAMOUNT\tCHARGED\tREFUNDED\tSTATUS\tCREATED\tREFUNDS")
			var charged, refunded int64
			for _, o := range out.Orders {
				mode := "scan"
				if o.Action == "ACTIVEPAY" {
					mode = "qr"
				}
				var refunds []string
				for _, r := range o.Refunds {
					refunds = append(refunds, r.OrderID+":"+money.Amount(r.Amount).String())
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.OrderID, mode, o.Wallet, money.Amount(o.Amount).String(),
					money.Amount(o.Charged).String(), money.Amount(o.Refunded).String(), o.Status, o.CreatedAt.UTC().Format(time.RFC3339), strings.Join(refunds, " "))
				charged += o.Charged
				refunded += o.Refunded
			}
			fmt.Fprintf(tw, "total\t\t\t\t%s\t%s\t\t\t\n", money.Amount(charged).String(), money.Amount(refunded).String())
			return tw.Flush()
		},
	}
	addSimURLFlag(cmd, &simURL)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the JSON of GET /_sim/ledger")
	return cmd
}

func newSimFaultsCmd() *cobra.Command {
	var (
		simURL string
		f      ottsim.Faults
		clear  bool
	)
	cmd := &cobra.Command{
		Use:   "faults",
		Short: "Show or set a running simulator's injected faults",
		Long: `faults prints the faults in force at a running simulator; with flags it
changes them (flags not given keep their current value; --clear resets all).
Milliseconds are simulated time: the simulator multiplies them by its
--time-scale. --down-for-ms closes the simulator's listener for that long, so
clients get "connection refused", then it listens again on the same address.`,
		Example: `  posagent sim faults
  posagent sim faults --error-rate 0.3 --latency-ms 2000
  posagent sim faults --down-for-ms 60000
  posagent sim faults --clear`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ottsim.NewClient(simURL)
			if err != nil {
				return err
			}
			cur, err := c.Faults(cmd.Context())
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			if clear || fl.Changed("latency-ms") || fl.Changed("error-rate") || fl.Changed("drop-rate") || fl.Changed("down-for-ms") {
				next := cur.Faults
				if clear {
					next = ottsim.Faults{}
				}
				if fl.Changed("latency-ms") {
					next.LatencyMS = f.LatencyMS
				}
				if fl.Changed("error-rate") {
					next.ErrorRate = f.ErrorRate
				}
				if fl.Changed("drop-rate") {
					next.DropRate = f.DropRate
				}
				next.DownForMS = f.DownForMS
				if cur, err = c.SetFaults(cmd.Context(), next); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "latency_ms %d, error_rate %g, drop_rate %g\n", cur.LatencyMS, cur.ErrorRate, cur.DropRate)
			if cur.DownUntil != nil {
				fmt.Fprintf(w, "down (connection refused) until %s\n", cur.DownUntil.UTC().Format(time.RFC3339Nano))
			}
			return nil
		},
	}
	addSimURLFlag(cmd, &simURL)
	fl := cmd.Flags()
	fl.Int64Var(&f.LatencyMS, "latency-ms", 0, "added before every answer, in milliseconds")
	fl.Float64Var(&f.ErrorRate, "error-rate", 0, "share of requests answered SYSTEM_ERROR without acting (0-1)")
	fl.Float64Var(&f.DropRate, "drop-rate", 0, "share of requests whose connection is dropped without acting (0-1)")
	fl.Int64Var(&f.DownForMS, "down-for-ms", 0, "close the listener this long (connection refused), then listen again")
	fl.BoolVar(&clear, "clear", false, "reset every fault to zero")
	return cmd
}
