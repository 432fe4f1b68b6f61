package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/printer"
)

// newPlacardCmd is posagent placard [--print] [--png F] [--paper 58mm|80mm].
func newPlacardCmd(g *globalFlags) *cobra.Command {
	var print bool
	var pngPath, paper string
	cmd := &cobra.Command{
		Use:   "placard [--print] [--png FILE]",
		Short: "Print the merchant's static QR and payment links as a counter placard, or draw it for a sign (payments made with them do not pass through the agent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !print && pngPath == "" {
				return errors.New("say what to do: --print (on the receipt printer) and/or --png FILE")
			}
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if print {
				if err := c.PrintPlacard(ctx); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "placard printed")
			}
			if pngPath != "" {
				b, err := c.PlacardPNG(ctx, paper)
				if err != nil {
					return err
				}
				if err := os.WriteFile(pngPath, b, 0o644); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "placard written to", pngPath)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&print, "print", false, "print it on the receipt printer")
	cmd.Flags().StringVar(&pngPath, "png", "", "write it as a PNG, as the printer prints it")
	cmd.Flags().StringVar(&paper, "paper", "", "58mm or 80mm for --png (default: the configured printer's)")
	return cmd
}

// placardOf is the placard of merchant.static_qr and merchant.payment_links.
func placardOf(cfg *config.Config) printer.Placard {
	pl := printer.Placard{Merchant: cfg.Merchant.Name, StaticQR: cfg.Merchant.StaticQR}
	for _, l := range cfg.Merchant.PaymentLinks {
		pl.Links = append(pl.Links, printer.PlacardLink{Name: l.Name, URL: l.URL})
	}
	return pl
}

var _ api.PlacardPrinter = (*livePrinter)(nil)

// Placard is the current configuration's placard.
func (lp *livePrinter) Placard() printer.Placard {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.gen.placard
}

// PrintPlacard prints a placard on the current printer, in its profile.
func (lp *livePrinter) PrintPlacard(ctx context.Context, pl printer.Placard) error {
	return lp.printDocument(ctx, "placards", func(p printer.Profile) []byte { return printer.EncodePlacard(pl, p) })
}

// RenderPlacard draws a placard as the current printer would print it.
func (lp *livePrinter) RenderPlacard(pl printer.Placard) ([]byte, error) {
	return printer.RenderPlacardPNG(pl, lp.profile())
}
