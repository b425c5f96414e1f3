package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/mail"
	"github.com/ruche-box/ruche/services/mail/notify"
)

// drillOptions are the flags of `ruche backup drill`.
type drillOptions struct {
	Keep    bool
	Scratch string
	Ruche   string
	Timeout time.Duration
}

var (
	msgDrillCheck = i18n.M{FR: "%-12s %-19s %s", EN: "%-12s %-16s %s"}
	msgDrillOK    = i18n.M{
		FR: "exercice réussi : l'instantané %s de « %s » se restaure, se vérifie et sert le wiki, les sites et les tickets, en %s",
		EN: "drill passed: snapshot %s of %q restores, verifies and serves the wiki, the sites and the tickets, in %s",
	}
	msgDrillKept = i18n.M{
		FR: "dossier de l'exercice gardé : %s (à supprimer à la main)",
		EN: "drill folder kept: %s (remove it by hand)",
	}
	drillStatusWords = map[backup.CheckStatus]i18n.M{
		backup.CheckOK:      {FR: "OK", EN: "OK"},
		backup.CheckFailed:  {FR: "ÉCHEC", EN: "FAILED"},
		backup.CheckSkipped: {FR: "sans objet", EN: "skipped"},
		backup.CheckNotYet:  {FR: "pas encore vérifié", EN: "not checked yet"},
	}
)

func newBackupDrillCommand(g *globalOptions, bo *backupOptions) *cobra.Command {
	opts := &drillOptions{}
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Restore the latest snapshot into a scratch folder, verify it and run it",
		Long: `A restore drill: restore the latest snapshot of the first target that has
one into a scratch folder (var/tmp/ruche-drill under --root), verify it (restic
compares every file with the snapshot's hashes, every path is there with its
size, the database copy passes integrity_check), start the restored box with
ruche up on spare loopback ports, and fetch from it a wiki page and each
site's home page, which must be the snapshot's, and the newest ticket through
the panel's API (logged in with a throwaway password set in the scratch copy
only).

The live box is not touched. The result is recorded in
var/lib/ruche/backup/drill.json (metrics show it). The scratch folder needs
as much free disk as the data; it is removed after the drill (--keep keeps it).

Exit codes: 0 the drill verified, 1 it did not (the failed check on
standard error), 2 usage.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackupDrill(cmd.Context(), g, bo, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Keep, "keep", false, "keep the scratch folder after the drill")
	f.StringVar(&opts.Scratch, "scratch", "", "scratch folder (default: var/tmp/ruche-drill under --root)")
	f.DurationVar(&opts.Timeout, "start-timeout", 2*time.Minute, "how long the restored box has to start")
	f.StringVar(&opts.Ruche, "ruche", "", "ruche binary that runs the restored box (default: this one)")
	f.MarkHidden("ruche")
	return cmd
}

func runBackupDrill(ctx context.Context, g *globalOptions, bo *backupOptions, opts *drillOptions) error {
	p, o, lang, err := g.backupSetup(bo)
	if err != nil {
		return err
	}
	// A failed drill is mailed to the admins and technicians, as a failed
	// backup is (once, until a drill passes).
	if mail.Enabled(p) {
		db, err := openStore(ctx, o.Root)
		if err != nil {
			return err
		}
		defer db.Close()
		a := notify.NewAlerter(notify.BoxClient(o.Root, p, ""), db, func() (*provision.Pack, error) { return p, nil })
		a.Log = o.Log
		o.Alerter = a
	}
	out := g.streams.Out
	if term := terminal(g.streams.Err); term != nil {
		pl := &progressLine{w: term, lang: lang}
		o.Progress = pl.show
		defer pl.clear()
		out = &clearingWriter{w: out, pl: pl}
	}
	res, err := backup.Drill(ctx, backup.DrillOptions{
		Options:      o,
		Ruche:        opts.Ruche,
		Scratch:      opts.Scratch,
		Keep:         opts.Keep,
		StartTimeout: opts.Timeout,
		OnCheck:      func(c backup.DrillCheck) { printDrillCheck(out, lang, c) },
	}, p)
	if res != nil && res.Scratch != "" {
		printf(out, lang, msgDrillKept, res.Scratch)
	}
	if err != nil {
		return err
	}
	printf(out, lang, msgDrillOK, res.Snapshot.ShortID, res.Target, formatDuration(res.Duration))
	return nil
}

// printDrillCheck prints one check of a drill on one line.
func printDrillCheck(w io.Writer, lang i18n.Lang, c backup.DrillCheck) {
	word := drillStatusWords[c.Status].In(lang)
	if word == "" {
		word = string(c.Status)
	}
	fmt.Fprintln(w, msgDrillCheck.Sprintf(lang, c.Name, word, c.Detail.String(lang)))
}
