package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
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
