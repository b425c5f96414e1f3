package cli

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision"
)

func newRollbackCommand(g *globalOptions) *cobra.Command {
	opts := applyOptions{}
	cmd := &cobra.Command{
		Use:   "rollback N",
		Short: "Apply revision N again (recorded as a new revision)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return usageError{fmt.Errorf("N must be a revision number, got %q", args[0])}
			}
			root, err := g.absRoot()
			if err != nil {
				return err
			}
			if _, _, err := provision.ReadRevision(root, n); err != nil {
				return err
			}
			// Going back is itself a revision, like any other apply: the
			// history only grows, so the rollback can be undone too.
			file := filepath.Join(root, provision.RevisionsDir, fmt.Sprintf("%06d.yaml", n))
			if opts.Note == "" {
				opts.Note = fmt.Sprintf("rollback %d", n)
			}
			return runApply(cmd.Context(), g, opts, file)
		},
	}
	cmd.Flags().StringVar(&opts.Author, "author", defaultAuthor(), "who rolls back, for the revision log")
	cmd.Flags().StringVar(&opts.Note, "note", "", "why, for the revision log")
	return cmd
}
