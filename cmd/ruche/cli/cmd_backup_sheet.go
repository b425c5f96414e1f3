package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision/i18n"
)

func newBackupSheetCommand(g *globalOptions, bo *backupOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "sheet",
		Short: "Print the recovery sheet: repositories, the backup password, how to restore",
		Long: `Print the box's recovery sheet, to be printed on paper and kept locked away,
away from the box: the backup repositories, the backup password (the one
place Ruche shows it, on purpose), and the steps to bring the box back on
new hardware (flash an image, ruche backup restore latest --repo ...
--password-file ..., ruche up).

In French then English, one page each; --lang fr or --lang en prints one.

Exit codes: 0 printed, 1 no pack, no target or the password unreadable, 2 usage.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.absRoot()
			if err != nil {
				return err
			}
			p, err := g.livePack(root)
			if err != nil {
				return err
			}
			langs := []i18n.Lang{i18n.FR, i18n.EN}
			if g.Lang != "" {
				langs = []i18n.Lang{i18n.Parse(g.Lang)}
			}
			sheet, err := backup.NewSheet(root, p, time.Now())
			if err != nil {
				return err
			}
			return sheet.Write(g.streams.Out, langs...)
		},
	}
}
