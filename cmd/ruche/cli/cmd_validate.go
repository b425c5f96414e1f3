package cli

import (
	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision/i18n"
)

var msgValid = i18n.M{FR: "%s : le pack est valide", EN: "%s: the pack is valid"}

func newValidateCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate PACK",
		Short: "Check a pack; print FILE:LINE:COL: message for each problem (exit 1)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _, err := g.loadPack(args[0])
			if err != nil {
				return err
			}
			printf(g.streams.Out, g.lang(p), msgValid, args[0])
			return nil
		},
	}
}
