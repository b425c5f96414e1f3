package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

type applyOptions struct {
	Author string
	Note   string
}

func newApplyCommand(g *globalOptions) *cobra.Command {
	opts := applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply PACK",
		Short: "Converge the box to the pack (idempotent: a second run reports 0 changes)",
		Long: `Converge the box to the pack: record a new pack revision when it differs,
write what changed atomically, remove what Ruche made and no longer wants
(users' uploads are moved aside, never deleted), reload what changed.
While 'ruche up' runs, apply goes through it so that it reloads its services.

Exit codes: 0 ok, 1 failed or invalid, 2 usage, 3 another apply holds the lock.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd.Context(), g, opts, args[0])
		},
	}
	cmd.Flags().StringVar(&opts.Author, "author", defaultAuthor(), "who applies, for the revision log")
	cmd.Flags().StringVar(&opts.Note, "note", "", "why, for the revision log")
	return cmd
}

func runApply(ctx context.Context, g *globalOptions, opts applyOptions, file string) error {
	p, raw, err := g.loadPack(file)
	if err != nil {
		return err
	}
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	lang := g.lang(p)
	if c := dialDaemon(root); c != nil {
		out, code, err := c.apply(ctx, controlApply{File: file, Pack: raw, Author: opts.Author, Note: opts.Note, Lang: string(lang)})
		if err != nil {
			return err
		}
		fmt.Fprint(g.streams.Out, out.Stdout)
		fmt.Fprint(g.streams.Err, out.Stderr)
		if code != ExitOK {
			return silentError{code}
		}
		return nil
	}
	return applyLocal(ctx, g, p, raw, provision.ApplyOptions{Author: opts.Author, Note: opts.Note}, lang)
}

// applyLocal applies without a daemon: nothing runs, so nothing reloads.
func applyLocal(ctx context.Context, g *globalOptions, p *provision.Pack, raw []byte, opts provision.ApplyOptions, lang i18n.Lang) error {
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	// Before the database is created: a root whose sockets do not fit
	// gets nothing written.
	if err := provision.CheckSockets(root, p); err != nil {
		return err
	}
	db, err := openStore(ctx, root)
	if err != nil {
		return err
	}
	defer db.Close()
	e := newEngine(root, db)
	e.Progress = progressPrinter(g, lang)
	res, err := e.Apply(ctx, p, raw, opts)
	if err != nil {
		return g.reportPackErrors(err, p)
	}
	provision.WriteChanges(g.streams.Out, res.Changes, lang, false)
	return nil
}

var msgProgress = i18n.M{FR: "\rfichiers : %d/%d", EN: "\rfiles: %d/%d"}

// progressPrinter shows the writes of a long apply on a terminal.
func progressPrinter(g *globalOptions, lang i18n.Lang) func(done, total int) {
	f, ok := g.streams.Err.(*os.File)
	if !ok {
		return nil
	}
	if info, err := f.Stat(); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(done, total int) {
		if total < 50 {
			return
		}
		if done%25 == 0 || done == total {
			fmt.Fprintf(f, msgProgress.In(lang), done, total)
			if done == total {
				fmt.Fprintln(f)
			}
		}
	}
}
