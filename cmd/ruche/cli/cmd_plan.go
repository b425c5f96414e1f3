package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/store"
)

type planOptions struct {
	NoDiff bool
}

func newPlanCommand(g *globalOptions) *cobra.Command {
	var opts planOptions
	cmd := &cobra.Command{
		Use:   "plan PACK",
		Short: "Show what apply would change, changing nothing",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd, g, opts, args[0])
		},
	}
	cmd.Flags().BoolVar(&opts.NoDiff, "no-diff", false, "list the files without their diffs")
	return cmd
}

func runPlan(cmd *cobra.Command, g *globalOptions, opts planOptions, file string) error {
	p, raw, err := g.loadPack(file)
	if err != nil {
		return err
	}
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	// Plan changes nothing: the database is read only when it already exists.
	var db *store.DB
	if _, err := os.Stat(filepath.Join(root, provision.DBPath)); err == nil {
		if db, err = openStore(cmd.Context(), root); err != nil {
			return err
		}
		defer db.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	res, err := newEngine(root, db).Plan(cmd.Context(), p, raw)
	if err != nil {
		return g.reportPackErrors(err, p)
	}
	provision.WriteChanges(g.streams.Out, res.Changes, g.lang(p), !opts.NoDiff)
	return nil
}
