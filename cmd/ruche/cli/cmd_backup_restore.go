package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// restoreOptions are the flags of `ruche backup restore`.
type restoreOptions struct {
	To           string // extract into this folder instead of the box
	Repo         string // a restic repository, instead of the pack's targets
	PasswordFile string // the repository's password, with --repo
	Target       string // one of the pack's targets
	Host         string // whose snapshots "latest" means
	SSHKey       string // private key for an sftp: --repo
	HostKey      string // the sftp server's pinned host key
}

var (
	msgRestoreDaemon = i18n.M{
		FR: "ruche up tourne pour %s mais n'a pas pu arrêter ses services : arrêtez ruche up (Ctrl+C, ou l'arrêt du service de la box), puis relancez la restauration",
		EN: "ruche up runs for %s but could not stop its services: stop ruche up (Ctrl+C, or stop the box's service), then run the restore again",
	}
	msgRestoreBareMetal = i18n.M{
		FR: "aucun pack sous %s : pour restaurer une box sur une machine neuve, donnez le dépôt et son mot de passe : ruche backup restore latest --repo DÉPÔT --password-file FICHIER (la fiche de récupération les donne)",
		EN: "no pack under %s: to restore a box on new hardware, give the repository and its password: ruche backup restore latest --repo REPOSITORY --password-file FILE (the recovery sheet has them)",
	}
	msgRestoreNeedPassword = i18n.M{
		FR: "--repo sans pack sur la box : donnez aussi --password-file",
		EN: "--repo with no pack on the box: give --password-file too",
	}
	msgRestoreNeedKeys = i18n.M{
		FR: "un dépôt sftp: a besoin de --ssh-key (la clé privée de la box) et de --host-key (la clé d'hôte du serveur, comme sur la fiche de récupération)",
		EN: "an sftp: repository needs --ssh-key (the box's private key) and --host-key (the server's host key, as on the recovery sheet)",
	}
	msgRestoreNoTarget = i18n.M{
		FR: "le pack n'a pas de cible « %s »",
		EN: "the pack has no target %q",
	}
	msgRestoreNowhere = i18n.M{
		FR: "aucune cible ne donne l'instantané %s : %s",
		EN: "no target gives snapshot %s: %s",
	}
	msgRestoreFrom = i18n.M{
		FR: "instantané %s du %s (box %s, révision %s) depuis %s",
		EN: "snapshot %s of %s (box %s, revision %s) from %s",
	}
	msgRestoreVerified = i18n.M{
		FR: "vérifié : %d fichiers (%s) identiques à l'instantané, base de données : %s",
		EN: "verified: %d files (%s) identical to the snapshot, database: %s",
	}
	msgRestoreNoDB  = i18n.M{FR: "aucune dans l'instantané", EN: "none in the snapshot"}
	msgRestoreAside = i18n.M{
		FR: "les données remplacées sont gardées dans %s jusqu'à ce que chaque cible ait une sauvegarde réussie faite après",
		EN: "the replaced data is kept in %s until every target has a successful backup made after now",
	}
	msgRestorePassword = i18n.M{
		FR: "le mot de passe des sauvegardes est installé comme secret « %s »",
		EN: "the backup password is installed as secret %q",
	}
	msgRestoreApplying = i18n.M{
		FR: "application du pack restauré :",
		EN: "applying the restored pack:",
	}
	msgRestoreStart = i18n.M{
		FR: "box restaurée. Démarrez-la : ruche up %s",
		EN: "box restored. Start it: ruche up %s",
	}
	msgRestoreExtracted = i18n.M{
		FR: "extrait dans %s (base de données à sa place de box). Pour le faire tourner : copiez le secret « %s » dans %s, puis ruche up --root %s %s",
		EN: "extracted into %s (the database where a box reads it). To run it: copy secret %q into %s, then ruche up --root %s %s",
	}
)

func newBackupRestoreCommand(g *globalOptions, bo *backupOptions) *cobra.Command {
	opts := &restoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT|latest",
		Short: "Put the box back as it was in a snapshot, or extract it with --to",
		Long: `Put the box's data back as it was in a snapshot: the pack, its revisions,
the panel database, the wiki's data, the sites, the secrets (never the backup
password, which no snapshot holds). "latest" is this box's newest snapshot.

The snapshot is first restored beside the box and verified (restic reads
every file back and compares it with the snapshot's hashes; every path is
there with its size; the database passes integrity_check): nothing of the box
is touched before. Then what it replaces is moved under
var/lib/ruche/removed/restore-<time>/, kept until every target has a
successful backup made after the restore, and the restored pack is applied.
While ruche up runs, it stops its services for the restore, then starts
again from the restored pack.

With --to DIR, the snapshot is only extracted into DIR (empty or missing)
and verified; the box is not touched.

On new hardware (no pack yet under --root), give the repository and its
password, as the recovery sheet (ruche backup sheet) shows them:
  ruche backup restore latest --repo REPO --password-file FILE [--host NAME]
then start the box with ruche up.

The pack's targets are tried in order (or --target's); --repo uses another
repository, with --password-file (default: the pack's backup password).

Exit codes: 0 restored, 1 failed (nothing replaced unless it says so),
2 usage, 3 another apply or restore holds the lock.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackupRestore(cmd.Context(), g, bo, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.To, "to", "", "extract into this folder instead of restoring the box")
	f.StringVar(&opts.Repo, "repo", "", "restic repository to restore from (new hardware, or another repository)")
	f.StringVar(&opts.PasswordFile, "password-file", "", "file holding the repository's password (with --repo)")
	f.StringVar(&opts.Target, "target", "", "restore from this target of the pack only")
	f.StringVar(&opts.Host, "host", "", "the box whose snapshots latest means (default: the pack's box.hostname)")
	f.StringVar(&opts.SSHKey, "ssh-key", "", "private SSH key for an sftp: --repo")
	f.StringVar(&opts.HostKey, "host-key", "", `the sftp server's host key for an sftp: --repo ("ssh-ed25519 AAAA...")`)
	return cmd
}

func runBackupRestore(ctx context.Context, g *globalOptions, bo *backupOptions, opts *restoreOptions, snapshot string) error {
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	var p *provision.Pack
	if _, err := os.Stat(filepath.Join(root, provision.PackPath)); err == nil {
		if p, err = g.livePack(root); err != nil {
			// A broken live pack is a reason to restore: the targets
			// are read from the newest revision instead.
			rev, _ := newestRevisionPack(root)
			if rev == nil && opts.Repo == "" {
				return err
			}
			if rev != nil {
				printf(g.streams.Err, g.lang(rev), msgRestoreFromRevision)
			}
			p = rev
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	lang := g.lang(p)
	// While ruche up runs, it stops its services for the restore and
	// starts again from the restored pack afterwards, whatever happens.
	var daemon *controlClient
	if opts.To == "" {
		daemon = dialDaemon(root)
	}
	if daemon != nil {
		st, err := daemon.status(ctx)
		if err != nil {
			return i18n.Wrap(err, msgRestoreDaemon, root)
		}
		if err := daemon.pause(ctx); err != nil {
			return i18n.Wrap(err, msgRestoreDaemon, root)
		}
		printf(g.streams.Out, lang, msgRestorePaused)
		defer func() {
			if err := daemon.restart(context.WithoutCancel(ctx)); err != nil {
				printf(g.streams.Err, lang, msgRestoreNoRestart, err)
				return
			}
			if waitRestarted(context.WithoutCancel(ctx), root, st.Started, 2*time.Minute) {
				printf(g.streams.Out, lang, msgRestoreRestarted)
			} else {
				printf(g.streams.Err, lang, msgRestoreNoRestart, "2 min")
			}
		}()
	}
	if p == nil && opts.Repo == "" {
		return g.usage(lang, i18n.Errorf(msgRestoreBareMetal, root))
	}
	log := slog.New(slog.DiscardHandler)
	if bo.Verbose {
		log = slog.New(slog.NewTextHandler(g.streams.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	o := backup.Options{Root: root, Restic: bo.Restic, Log: log.With("component", "backup")}
	out := g.streams.Out
	if term := terminal(g.streams.Err); term != nil {
		pl := &progressLine{w: term, lang: lang}
		o.Progress = pl.show
		defer pl.clear()
		out = &clearingWriter{w: out, pl: pl}
	}

	repo, where, host, passwordFile, found, cleanup, err := restoreSource(ctx, o, p, opts, snapshot)
	if cleanup != nil {
		defer cleanup()
	}
	var usage usageError
	if errors.As(err, &usage) {
		return g.usage(lang, usage.error)
	}
	if err != nil {
		return err
	}
	ro := backup.RestoreOptions{Options: o, Repo: repo, Snapshot: snapshot, Host: host, PasswordFile: passwordFile, Found: found}

	if opts.To != "" {
		dir, err := filepath.Abs(opts.To)
		if err != nil {
			return err
		}
		rep, err := backup.Extract(ctx, ro, dir)
		printRestored(out, lang, rep, where)
		if err != nil {
			return err
		}
		secret := "restic"
		if rep.Pack != nil && rep.Pack.Backup.PasswordSecret != "" {
			secret = rep.Pack.Backup.PasswordSecret
		}
		printf(out, lang, msgRestoreExtracted, dir, secret, filepath.Join(dir, provision.SecretsDir), dir, filepath.Join(dir, provision.PackPath))
		return nil
	}

	rep, err := backup.RestoreBox(ctx, ro)
	printRestored(out, lang, rep, where)
	if err != nil {
		return err
	}
	if rep.Aside != "" {
		printf(out, lang, msgRestoreAside, filepath.Join(root, rep.Aside))
	}
	if rep.PasswordInstalled {
		printf(out, lang, msgRestorePassword, rep.Pack.Backup.PasswordSecret)
	}
	// The restored pack, applied as `ruche apply` of the live pack would:
	// what Ruche renders (configuration, sites' pages) is written again.
	printf(out, lang, msgRestoreApplying)
	ag := withOut(g, out)
	note := "restore " + rep.Snapshot.ShortID
	if err := applyLocal(ctx, ag, rep.Pack, rep.PackRaw, provision.ApplyOptions{Author: defaultAuthor(), Note: note}, lang); err != nil {
		return err
	}
	if daemon != nil {
		return nil // it starts again with the restored pack (deferred above)
	}
	up := filepath.Join(root, provision.PackPath)
	if root != "/" {
		up = "--root " + root + " " + up
	}
	printf(out, lang, msgRestoreStart, up)
	return nil
}

var (
	msgRestorePaused = i18n.M{
		FR: "ruche up tourne : ses services sont arrêtés pendant la restauration",
		EN: "ruche up runs: its services are stopped during the restore",
	}
	msgRestoreRestarted = i18n.M{
		FR: "ruche up a redémarré avec le pack restauré",
		EN: "ruche up started again with the restored pack",
	}
	msgRestoreNoRestart = i18n.M{
		FR: "ruche up n'a pas redémarré (%v) : relancez-le",
		EN: "ruche up did not start again (%v): start it",
	}
)

var msgRestoreFromRevision = i18n.M{
	FR: "ruche : le pack en service est invalide ; les cibles de sauvegarde sont prises dans sa dernière révision",
	EN: "ruche: the live pack is not valid; the backup targets are taken from its newest revision",
}

// newestRevisionPack is the newest pack revision of the box, nil when it
// has none.
func newestRevisionPack(root string) (*provision.Pack, error) {
	revs, err := provision.ListRevisions(root)
	if err != nil || len(revs) == 0 {
		return nil, err
	}
	n := revs[len(revs)-1].Number
	raw, _, err := provision.ReadRevision(root, n)
	if err != nil {
		return nil, err
	}
	return provision.Load(fmt.Sprintf("%s/%06d.yaml", provision.RevisionsDir, n), raw)
}

// usage reports a misuse of the command line in the user's language
// (exit 2): usageError alone would be printed in French.
func (g *globalOptions) usage(lang i18n.Lang, err error) error {
	fmt.Fprintln(g.streams.Err, "ruche: "+i18n.Localize(err, lang))
	return silentError{ExitUsage}
}

// printRestored says what was restored and how it was verified.
func printRestored(out interface{ Write([]byte) (int, error) }, lang i18n.Lang, rep *backup.RestoreReport, where string) {
	if rep == nil || rep.Snapshot.ID == "" {
		return
	}
	s := rep.Snapshot
	rev := "-"
	if n := s.Revision(); n >= 0 {
		rev = fmt.Sprint(n)
	}
	printf(out, lang, msgRestoreFrom, s.ShortID, s.Time.Local().Format(time.DateTime), s.Hostname, rev, where)
	if v := rep.Verification; v != nil && len(v.Problems) == 0 {
		db := v.Database
		if db == "" {
			db = msgRestoreNoDB.In(lang)
		}
		printf(out, lang, msgRestoreVerified, v.Files, formatBytes(lang, v.Bytes), db)
	}
}

// restoreSource is the repository to restore from: --repo, or the first
// target of the pack (--target's) that holds the snapshot. It returns the
// repository, words saying where it is, whose snapshots "latest" means,
// the password file to install on bare metal, the snapshot when choosing
// the target meant finding it (the restore need not ask restic again), and
// what to clean up after.
func restoreSource(ctx context.Context, o backup.Options, p *provision.Pack, opts *restoreOptions, snapshot string) (repo *backup.Repo, where, host, password string, found *backup.Snapshot, cleanup func(), err error) {
	host = opts.Host
	if host == "" && p != nil {
		host = p.Box.Hostname
	}
	if opts.Repo != "" {
		password = opts.PasswordFile
		if password == "" && p != nil {
			password = provision.SecretPath(o.Root, p.Backup.PasswordSecret)
		}
		if password == "" {
			return nil, "", "", "", nil, nil, usageError{i18n.Errorf(msgRestoreNeedPassword)}
		}
		if password, err = filepath.Abs(password); err != nil {
			return nil, "", "", "", nil, nil, err
		}
		repo, cleanup, err = repoFromFlags(ctx, o, opts, password)
		if err != nil {
			return nil, "", "", "", nil, cleanup, err
		}
		return repo, repo.Display(), host, password, nil, cleanup, nil
	}
	var tried []string
	for _, t := range p.Backup.Targets {
		if opts.Target != "" && t.Name != opts.Target {
			continue
		}
		r, err := o.OpenTarget(ctx, p, t)
		var snap backup.Snapshot
		if err == nil {
			snap, err = backup.FindSnapshot(ctx, r, snapshot, host)
		}
		if err != nil {
			tried = append(tried, t.Name+": "+i18n.Localize(err, i18n.EN))
			if len(p.Backup.Targets) == 1 || opts.Target != "" {
				return nil, "", "", "", nil, nil, err
			}
			continue
		}
		return r, t.Name + " (" + r.Display() + ")", host, "", &snap, nil, nil
	}
	if opts.Target != "" {
		return nil, "", "", "", nil, nil, usageError{i18n.Errorf(msgRestoreNoTarget, opts.Target)}
	}
	return nil, "", "", "", nil, nil, i18n.Errorf(msgRestoreNowhere, snapshot, strings.Join(tried, "; "))
}

// repoFromFlags is the repository --repo names. A local path is taken as
// written, not under --root: on new hardware it is where the backup disk
// is mounted. An sftp: repository gets the same strict ssh as a target of
// the pack (the key given, the host key pinned), through a pack and
// secrets made for it in a temporary folder.
func repoFromFlags(ctx context.Context, o backup.Options, opts *restoreOptions, password string) (*backup.Repo, func(), error) {
	// On new hardware the root may be empty: var and var/cache are made
	// as a box has them (0755), only restic's cache is private.
	cache := filepath.Join(o.Root, provision.ResticCacheDir)
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, nil, err
	}
	location := opts.Repo
	if strings.HasPrefix(strings.ToLower(location), "sftp:") {
		if opts.SSHKey == "" || opts.HostKey == "" {
			return nil, nil, usageError{i18n.Errorf(msgRestoreNeedKeys)}
		}
		tmp, err := os.MkdirTemp("", "ruche-restore-")
		if err != nil {
			return nil, nil, err
		}
		cleanup := func() { os.RemoveAll(tmp) }
		for name, src := range map[string]string{"password": password, "key": opts.SSHKey} {
			data, err := os.ReadFile(src)
			if err == nil {
				err = os.MkdirAll(filepath.Join(tmp, provision.SecretsDir), 0o700)
			}
			if err == nil {
				err = os.WriteFile(provision.SecretPath(tmp, name), data, 0o600)
			}
			if err != nil {
				return nil, cleanup, err
			}
		}
		pack := &provision.Pack{Backup: provision.Backup{PasswordSecret: "password", Targets: []provision.BackupTarget{
			{Name: "restore", Repository: location, KeySecret: "key", HostKey: opts.HostKey},
		}}}
		to := o
		to.Root = tmp
		repo, err := to.OpenTarget(ctx, pack, pack.Backup.Targets[0])
		if err != nil {
			return nil, cleanup, err
		}
		if err := backup.CheckSFTPHostKey(ctx, location, opts.HostKey, o.DialTimeout); err != nil {
			return nil, cleanup, err
		}
		repo.CacheDir = cache
		return repo, cleanup, nil
	}
	local := strings.TrimPrefix(location, "local:")
	if !strings.Contains(local, ":") || strings.HasPrefix(local, "/") || strings.HasPrefix(local, ".") {
		abs, err := filepath.Abs(local)
		if err != nil {
			return nil, nil, err
		}
		location = abs
	}
	return &backup.Repo{
		Binary:       backup.Binary(o.Restic),
		Location:     location,
		PasswordFile: password,
		CacheDir:     cache,
		Log:          o.Log,
	}, nil, nil
}
