package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

var (
	msgRevHeader = i18n.M{FR: "N°\tDATE\tAUTEUR\tNOTE", EN: "N\tTIME\tAUTHOR\tNOTE"}
	msgNoRevs    = i18n.M{FR: "aucune révision : le pack n'a jamais été appliqué", EN: "no revision: the pack was never applied"}
)

func newRevisionsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "revisions",
		Short: "List the applied pack revisions (number, time, author)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := g.absRoot()
			if err != nil {
				return err
			}
			revs, err := provision.ListRevisions(root)
			if err != nil {
				return err
			}
			lang := g.lang(nil)
			if len(revs) == 0 {
				printf(g.streams.Out, lang, msgNoRevs)
				return nil
			}
			w := tabwriter.NewWriter(g.streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, msgRevHeader.In(lang))
			for _, r := range revs {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", r.Number, r.Time.Local().Format(time.DateTime), r.Author, r.Note)
			}
			return w.Flush()
		},
	}
}
