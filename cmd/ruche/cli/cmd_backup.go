package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/mail"
	"github.com/ruche-box/ruche/services/mail/notify"
)

// backupOptions are the flags of `ruche backup`.
type backupOptions struct {
	Restic  string // restic's path; "" is $RUCHE_RESTIC, else backup.DefaultBinary
	Verbose bool
	JSON    bool // snapshots
}

var (
	msgNoLivePack = i18n.M{
		FR: "aucun pack appliqué sous %s : lancez d'abord ruche apply",
		EN: "no pack applied under %s: run ruche apply first",
	}
	msgBackupOK = i18n.M{
		FR: "%s : sauvegardé — instantané %s, %d fichier(s) nouveau(x), %d modifié(s), %s ajouté(s), en %s",
		EN: "%s: backed up — snapshot %s, %d new file(s), %d changed, %s added, in %s",
	}
	msgBackupCreated  = i18n.M{FR: " (dépôt créé)", EN: " (repository created)"}
	msgBackupPartial  = i18n.M{FR: "%s : INCOMPLET — instantané %s — %s", EN: "%s: INCOMPLETE — snapshot %s — %s"}
	msgBackupMissing  = i18n.M{FR: "%s : DISQUE ABSENT — %s n'est pas sur un disque branché et monté ; rien n'y a été écrit", EN: "%s: DISK MISSING — %s is not on a plugged-in, mounted disk; nothing was written there"}
	msgBackupFailed   = i18n.M{FR: "%s : ÉCHEC — %s", EN: "%s: FAILED — %s"}
	msgBackupTargets  = i18n.M{FR: "la sauvegarde n'a pas abouti pour : %s", EN: "the backup did not succeed for: %s"}
	msgBackupProgress = i18n.M{FR: "%s : %.0f %% — %s/%s fichiers, %s/%s", EN: "%s: %.0f%% — %s/%s files, %s/%s"}
	msgBackupETA      = i18n.M{FR: ", reste %s", EN: ", %s left"}
	msgSnapHeader     = i18n.M{FR: "CIBLE\tINSTANTANÉ\tDATE\tHÔTE\tRÉVISION\tFICHIERS\tTAILLE", EN: "TARGET\tSNAPSHOT\tTIME\tHOST\tREVISION\tFILES\tSIZE"}
	msgNoSnapshots    = i18n.M{FR: "%s : aucun instantané", EN: "%s: no snapshot"}
	msgSnapshotsError = i18n.M{FR: "%s : %s", EN: "%s: %s"}
	msgSnapshotsFail  = i18n.M{FR: "instantanés illisibles pour : %s", EN: "snapshots could not be listed for: %s"}
)

func newBackupCommand(g *globalOptions) *cobra.Command {
	opts := &backupOptions{}
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Backups with restic: back up now, list snapshots",
		Long: `Backups of the box with restic, to every target of the live pack's
backup section (local folder, removable disk, sftp:, rest:).

restic is ` + backup.DefaultBinary + ` on a box; --restic or $` + backup.BinaryEnv + ` say
where else it is (make bin/restic builds the pinned version).`,
	}
	cmd.PersistentFlags().StringVar(&opts.Restic, "restic", "", "restic binary (default: $"+backup.BinaryEnv+", else "+backup.DefaultBinary+")")
	cmd.PersistentFlags().BoolVarP(&opts.Verbose, "verbose", "v", false, "log each restic command on standard error")

	now := &cobra.Command{
		Use:   "now",
		Short: "Back up the box now to every target, one after the other",
		Long: `Back up the box now to every target of the live pack, one after the other:
the pack and its revisions, a consistent copy of the panel database, the
wiki's data, every site's pages and uploads, the box's secrets but the
backup password. A repository is created on first use. A removable disk
that is not mounted is reported and nothing is written there. One target
failing does not stop the others.

Prints one line per target with its result; progress on a terminal.

Exit codes: 0 every target backed up, 1 a target failed (named on
standard error), 2 usage.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackupNow(cmd.Context(), g, opts)
		},
	}
	snapshots := &cobra.Command{
		Use:   "snapshots",
		Short: "List the snapshots of every target",
		Long: `List the snapshots of every target of the live pack: a table, or JSON
with --json. Nothing is created: a target without a repository yet is
reported.

Exit codes: 0 every target listed, 1 a target could not be read, 2 usage.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackupSnapshots(cmd.Context(), g, opts)
		},
	}
	snapshots.Flags().BoolVar(&opts.JSON, "json", false, "print JSON instead of a table")
	cmd.AddCommand(now, snapshots, newBackupRestoreCommand(g, opts), newBackupDrillCommand(g, opts), newBackupSheetCommand(g, opts),
		newBackupRunScheduledCommand(g, opts))
	return cmd
}

// livePack reads and validates the box's live pack.
func (g *globalOptions) livePack(root string) (*provision.Pack, error) {
	path := filepath.Join(root, provision.PackPath)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, i18n.Errorf(msgNoLivePack, root)
	}
	if err != nil {
		return nil, err
	}
	p, err := provision.Load(path, raw)
	if err != nil {
		return nil, g.reportPackErrors(err, p)
	}
	return p, nil
}

// backupSetup is what both subcommands start from.
func (g *globalOptions) backupSetup(opts *backupOptions) (*provision.Pack, backup.Options, i18n.Lang, error) {
	root, err := g.absRoot()
	if err != nil {
		return nil, backup.Options{}, g.lang(nil), err
	}
	p, err := g.livePack(root)
	if err != nil {
		return nil, backup.Options{}, g.lang(nil), err
	}
	log := slog.New(slog.DiscardHandler)
	if opts.Verbose {
		log = slog.New(slog.NewTextHandler(g.streams.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return p, backup.Options{Root: root, Restic: opts.Restic, Log: log.With("component", "backup")}, g.lang(p), nil
}

func runBackupNow(ctx context.Context, g *globalOptions, opts *backupOptions) error {
	p, o, lang, err := g.backupSetup(opts)
	if err != nil {
		return err
	}
	if term := terminal(g.streams.Err); term != nil {
		pl := &progressLine{w: term, lang: lang}
		o.Progress = pl.show
		defer pl.clear()
		// Results go to standard output, which may be the same
		// terminal: clear the progress line before each.
		g = withOut(g, &clearingWriter{w: g.streams.Out, pl: pl})
	}
	// Failures and missing disks are mailed to the admins and technicians
	// (once per problem: the database remembers what was sent).
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
	report, err := backup.Run(ctx, o, p)
	if report != nil {
		for _, t := range report.Targets {
			fmt.Fprintln(g.streams.Out, targetLine(lang, t))
		}
	}
	if err != nil {
		return err
	}
	if failed := report.Failed(); len(failed) > 0 {
		var names []string
		for _, t := range failed {
			names = append(names, t.Target)
		}
		return i18n.Errorf(msgBackupTargets, strings.Join(names, ", "))
	}
	// What a restore put aside goes once every target holds a backup
	// taken after it.
	if removed, err := backup.RemoveRestoreAside(o.Root, p); err != nil {
		o.Log.Warn("restore leftovers not removed", "err", err)
	} else if len(removed) > 0 {
		o.Log.Info("restore leftovers removed", "folders", removed)
	}
	return nil
}

// targetLine is one target's result, in plain words.
func targetLine(lang i18n.Lang, t backup.TargetResult) string {
	switch t.Status {
	case backup.StatusOK:
		var s backup.Summary
		if t.Summary != nil {
			s = *t.Summary
		}
		line := msgBackupOK.Sprintf(lang, t.Target, shortID(t.Snapshot), s.FilesNew, s.FilesChanged,
			formatBytes(lang, s.DataAdded), formatDuration(t.Duration))
		if t.Initialized {
			line += msgBackupCreated.In(lang)
		}
		return line
	case backup.StatusPartial:
		return msgBackupPartial.Sprintf(lang, t.Target, shortID(t.Snapshot), i18n.Localize(t.Err, lang))
	case backup.StatusMissing:
		return msgBackupMissing.Sprintf(lang, t.Target, t.Repository)
	default:
		return msgBackupFailed.Sprintf(lang, t.Target, i18n.Localize(t.Err, lang))
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// snapshotsJSON is one target in `backup snapshots --json`.
type snapshotsJSON struct {
	Target     string            `json:"target"`
	Repository string            `json:"repository"`
	Snapshots  []backup.Snapshot `json:"snapshots"`
	Error      string            `json:"error,omitempty"`
}

func runBackupSnapshots(ctx context.Context, g *globalOptions, opts *backupOptions) error {
	p, o, lang, err := g.backupSetup(opts)
	if err != nil {
		return err
	}
	lists, err := backup.ListSnapshots(ctx, o, p)
	if err != nil {
		return err
	}
	var failed []string
	for _, l := range lists {
		if l.Err != nil {
			failed = append(failed, l.Target)
		}
	}
	if opts.JSON {
		out := make([]snapshotsJSON, 0, len(lists))
		for _, l := range lists {
			j := snapshotsJSON{Target: l.Target, Repository: l.Repository, Snapshots: l.Snapshots}
			if j.Snapshots == nil {
				j.Snapshots = []backup.Snapshot{}
			}
			if l.Err != nil {
				j.Error = i18n.Localize(l.Err, lang)
			}
			out = append(out, j)
		}
		enc := json.NewEncoder(g.streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		w := tabwriter.NewWriter(g.streams.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, msgSnapHeader.In(lang))
		for _, l := range lists {
			for _, s := range l.Snapshots {
				rev := "-"
				if n := s.Revision(); n >= 0 {
					rev = fmt.Sprint(n)
				}
				files, size := "-", "-"
				if s.Summary != nil {
					files = fmt.Sprint(s.Summary.TotalFilesProcessed)
					size = formatBytes(lang, s.Summary.TotalBytesProcessed)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Target, s.ShortID, s.Time.Local().Format(time.DateTime), s.Hostname, rev, files, size)
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		for _, l := range lists {
			if l.Err == nil && len(l.Snapshots) == 0 {
				printf(g.streams.Out, lang, msgNoSnapshots, l.Target)
			}
		}
	}
	for _, l := range lists {
		if l.Err != nil {
			fmt.Fprintln(g.streams.Err, "ruche: "+msgSnapshotsError.Sprintf(lang, l.Target, i18n.Localize(l.Err, lang)))
		}
	}
	if len(failed) > 0 {
		return i18n.Errorf(msgSnapshotsFail, strings.Join(failed, ", "))
	}
	return nil
}

// terminal returns w as a file when it is a terminal, for progress lines
// that rewrite themselves; nil otherwise.
func terminal(w io.Writer) *os.File {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return nil
	}
	return f
}

// progressLine shows restic's progress on one terminal line, rewritten at
// most a few times a second.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	lang  i18n.Lang
	last  time.Time
	shown bool
}

func (p *progressLine) show(pr backup.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 250*time.Millisecond {
		return
	}
	p.last = time.Now()
	line := msgBackupProgress.Sprintf(p.lang, pr.Target, pr.Percent, formatCount(p.lang, pr.FilesDone), formatCount(p.lang, pr.FilesTotal),
		formatBytes(p.lang, pr.BytesDone), formatBytes(p.lang, pr.BytesTotal))
	if pr.ETA > 0 {
		line += msgBackupETA.Sprintf(p.lang, formatDuration(pr.ETA))
	}
	fmt.Fprint(p.w, "\r\033[K"+line)
	p.shown = true
}

func (p *progressLine) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// clearingWriter clears the progress line before writing.
type clearingWriter struct {
	w  io.Writer
	pl *progressLine
}

func (c *clearingWriter) Write(b []byte) (int, error) {
	c.pl.clear()
	return c.w.Write(b)
}

// withOut is g writing its results to out.
func withOut(g *globalOptions, out io.Writer) *globalOptions {
	c := *g
	c.streams.Out = out
	return &c
}

// formatBytes writes a size in decimal units, French or English style.
func formatBytes(lang i18n.Lang, n uint64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	if lang == i18n.FR {
		units = []string{"o", "ko", "Mo", "Go", "To"}
	}
	v, u := float64(n), 0
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	var s string
	if u == 0 {
		s = fmt.Sprintf("%d", n)
	} else {
		s = fmt.Sprintf("%.1f", v)
	}
	if lang == i18n.FR {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + units[u]
}

// formatCount writes a count with thousands separated.
func formatCount(lang i18n.Lang, n uint64) string {
	s := fmt.Sprint(n)
	sep := ","
	if lang == i18n.FR {
		sep = "\u202f" // narrow no-break space
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatDuration writes a duration to the second ("1 h 2 min", "3 min 20 s", "4 s").
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case m > 0:
		return fmt.Sprintf("%d min %d s", m, s)
	default:
		return fmt.Sprintf("%d s", s)
	}
}
