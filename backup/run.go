package backup

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Status is how a target's backup ended.
type Status string

// Statuses of a target.
const (
	StatusOK      Status = "ok"      // a new snapshot holds everything
	StatusPartial Status = "partial" // a new snapshot, but some files could not be read
	StatusMissing Status = "missing" // a removable disk not plugged in: nothing written
	StatusFailed  Status = "failed"  // no snapshot
)

// TargetResult is one target's backup.
type TargetResult struct {
	Target      string        // the pack's name for it
	Repository  string        // where, passwords hidden
	Status      Status        //
	Initialized bool          // the repository was created by this backup
	Snapshot    string        // the new snapshot's ID, if any
	Summary     *Summary      // restic's summary, if any
	Start       time.Time     //
	Duration    time.Duration //
	Err         error         // nil when Status is StatusOK; an *Error, mostly
}

// Report is a backup of the box to every target.
type Report struct {
	Host     string // the snapshots' host: the pack's box.hostname
	Revision int    // the pack revision the box runs, 0 when none
	Start    time.Time
	Targets  []TargetResult // in the pack's order
}

// Failed lists the targets whose backup is not StatusOK.
func (r *Report) Failed() []TargetResult {
	var out []TargetResult
	for _, t := range r.Targets {
		if t.Status != StatusOK {
			out = append(out, t)
		}
	}
	return out
}

var (
	msgNoTargets = i18n.M{
		FR: "le pack n'a aucune cible de sauvegarde (backup.targets)",
		EN: "the pack has no backup target (backup.targets)",
	}
	msgDBCopy = i18n.M{
		FR: "copie cohérente de la base de données impossible : aucune sauvegarde n'a été faite",
		EN: "cannot take a consistent copy of the database: no backup was made",
	}
)

// Run backs up the box at o.Root, whose live pack is p, to every target of
// p in turn: one target that fails does not stop the others. It first
// takes a consistent copy of the database (DBCopy), then saves
// ContentsOf(root, p) with the snapshot's host set to the pack's
// box.hostname and the tags TagRuche and "revision:N". A repository that
// does not exist yet is created (restic init). Each target's result is
// written to StateFile as soon as it is known.
//
// The error is for the run as a whole (another backup running, no pack, no
// target, no database copy, the state not written); each target's failure
// is in its TargetResult.
func Run(ctx context.Context, o Options, p *provision.Pack) (*Report, error) {
	root, err := o.root()
	if err != nil {
		return nil, err
	}
	if len(p.Backup.Targets) == 0 {
		return nil, i18n.Errorf(msgNoTargets)
	}
	unlock, err := lockBackup(root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return runLocked(ctx, o, p, root)
}

// runLocked is Run once the box's backup lock is held (Run, Start).
func runLocked(ctx context.Context, o Options, p *provision.Pack, root string) (*Report, error) {
	c, err := ContentsOf(root, p)
	if err != nil {
		return nil, err
	}
	report := &Report{Host: p.Box.Hostname, Start: o.now()}
	if report.Host == "" {
		report.Host, _ = os.Hostname()
	}
	revs, err := provision.ListRevisions(root)
	if err != nil {
		return nil, err
	}
	if len(revs) > 0 {
		report.Revision = revs[len(revs)-1].Number
	}
	copied, err := copyDatabase(ctx, root)
	if copied {
		defer os.Remove(filepath.Join(root, DBCopy))
	}
	if err != nil {
		return nil, i18n.Wrap(err, msgDBCopy)
	}
	state, err := ReadState(root)
	if err != nil {
		// A damaged state file must not stop backups: start afresh.
		o.log().Warn("backup state unreadable, starting a new one", "err", err)
		state = &State{Targets: map[string]*TargetState{}}
	}
	keep := map[string]bool{}
	for _, t := range p.Backup.Targets {
		keep[t.Name] = true
	}
	for name := range state.Targets {
		if !keep[name] {
			delete(state.Targets, name)
		}
	}
	progress, done := progressWriter(root, o.now, o.Progress)
	o.Progress = progress
	defer done()
	tags := []string{TagRuche, TagRevisionPrefix + strconv.Itoa(report.Revision)}
	var stateErr error
	for _, t := range p.Backup.Targets {
		res := o.backupTarget(ctx, root, p, t, c, report.Host, tags)
		report.Targets = append(report.Targets, res)
		o.alert(ctx, res)
		state.record(res, o.now())
		if err := state.write(root); err != nil {
			o.log().Error("backup state not written", "err", err)
			stateErr = err
		}
	}
	return report, stateErr
}

// backupTarget backs up to one target, creating its repository on first
// use.
func (o *Options) backupTarget(ctx context.Context, root string, p *provision.Pack, t provision.BackupTarget, c Contents, host string, tags []string) TargetResult {
	res := TargetResult{
		Target:     t.Name,
		Repository: DisplayLocation(TargetLocation(root, t.Repository)),
		Start:      o.now(),
	}
	var progress func(Progress)
	if o.Progress != nil {
		progress = func(pr Progress) {
			pr.Target = t.Name
			o.Progress(pr)
		}
	}
	repo, err := o.OpenTarget(ctx, p, t)
	if err == nil {
		opts := BackupOptions{Dir: c.Dir, Paths: c.Paths, Excludes: c.Excludes, Host: host, Tags: tags}
		res.Summary, err = repo.Backup(ctx, opts, progress)
		if errors.Is(err, ErrRepoMissing) {
			o.log().Info("creating the repository", "target", t.Name, "repository", res.Repository)
			if err = repo.Init(ctx); err == nil {
				res.Initialized = true
				res.Summary, err = repo.Backup(ctx, opts, progress)
			}
		}
	}
	res.Duration = o.now().Sub(res.Start)
	res.Err = err
	if res.Summary != nil {
		res.Snapshot = res.Summary.SnapshotID
	}
	switch {
	case err == nil:
		res.Status = StatusOK
	case errors.Is(err, ErrDiskMissing):
		res.Status = StatusMissing
	case errors.Is(err, ErrPartial) && res.Snapshot != "":
		res.Status = StatusPartial
	default:
		res.Status = StatusFailed
	}
	log := o.log().With("target", t.Name, "status", res.Status, "duration", res.Duration.Round(time.Millisecond))
	if err != nil {
		log.Warn("backup", "err", i18n.Localize(err, i18n.EN))
	} else {
		log.Info("backup", "snapshot", res.Snapshot, "bytes_added", res.Summary.DataAdded)
	}
	return res
}

// record notes a target's result.
func (s *State) record(res TargetResult, now time.Time) {
	ts := s.Targets[res.Target]
	if ts == nil {
		ts = &TargetState{}
		s.Targets[res.Target] = ts
	}
	ts.Repository = res.Repository
	ts.LastAttempt = res.Start
	ts.LastStatus = res.Status
	ts.LastDurationSeconds = res.Duration.Seconds()
	ts.LastError = nil
	if res.Err != nil {
		ts.LastError = map[string]string{
			string(i18n.FR): i18n.Localize(res.Err, i18n.FR),
			string(i18n.EN): i18n.Localize(res.Err, i18n.EN),
		}
	}
	if res.Snapshot != "" {
		ts.LastSnapshot = res.Snapshot
	}
	if res.Status == StatusOK {
		ts.LastSuccess = now
		ts.LastSuccessDurationSeconds = res.Duration.Seconds()
		if sum := res.Summary; sum != nil {
			ts.LastBytesAdded = sum.DataAdded
			ts.LastBytesStored = sum.DataAddedPacked
			ts.LastFilesNew = sum.FilesNew
			ts.LastFilesChanged = sum.FilesChanged
		}
	}
}

// copyDatabase writes the consistent copy of the database to DBCopy; false
// when the box has no database yet.
func copyDatabase(ctx context.Context, root string) (bool, error) {
	live := filepath.Join(root, provision.DBPath)
	if _, err := os.Stat(live); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	dest := filepath.Join(root, DBCopy)
	if err := os.MkdirAll(filepath.Dir(dest), 0o750); err != nil {
		return false, err
	}
	db, err := store.Open(ctx, live)
	if err != nil {
		return false, err
	}
	err = db.Backup(ctx, dest)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

// lockBackup takes the box's backup lock (an flock, dropped by the kernel
// when the process dies) without waiting.
func lockBackup(root string) (func(), error) {
	path := filepath.Join(root, provision.BackupLock)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &Error{Kind: ErrBusy, Code: -1}
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

// TargetSnapshots is one target's snapshots, or why they could not be
// listed.
type TargetSnapshots struct {
	Target     string
	Repository string
	Snapshots  []Snapshot
	Err        error
}

// ListSnapshots lists the snapshots of every target of p, in the pack's
// order. A target that cannot be reached, or whose repository does not
// exist yet, has Err set; nothing is created.
func ListSnapshots(ctx context.Context, o Options, p *provision.Pack) ([]TargetSnapshots, error) {
	root, err := o.root()
	if err != nil {
		return nil, err
	}
	var out []TargetSnapshots
	for _, t := range p.Backup.Targets {
		ts := TargetSnapshots{Target: t.Name, Repository: DisplayLocation(TargetLocation(root, t.Repository))}
		repo, err := o.OpenTarget(ctx, p, t)
		if err == nil {
			ts.Snapshots, err = repo.Snapshots(ctx, SnapshotFilter{})
		}
		ts.Err = err
		out = append(out, ts)
	}
	return out, nil
}

var (
	msgAlertFailedSubject = i18n.M{
		FR: "la sauvegarde vers « %s » a échoué",
		EN: "the backup to %q failed",
	}
	msgAlertFailedBody = i18n.M{
		FR: "La sauvegarde de la box vers « %s » (%s) a échoué :\n\n%s\n\nLes autres cibles ont été sauvegardées si elles le pouvaient. `ruche backup now` relance une sauvegarde ; `ruche doctor` montre l'état de la box ; docs/backup.md explique les erreurs courantes.",
		EN: "The box's backup to %q (%s) failed:\n\n%s\n\nThe other targets were backed up if they could be. `ruche backup now` runs a backup again; `ruche doctor` shows the box's state; docs/backup.md explains the common errors.",
	}
	msgAlertDiskSubject = i18n.M{
		FR: "le disque de sauvegarde « %s » n'est pas branché",
		EN: "the backup disk %q is not plugged in",
	}
	msgAlertDiskBody = i18n.M{
		FR: "Le disque de sauvegarde « %s » (%s) n'était pas branché à l'heure de la sauvegarde : rien n'y a été écrit.\n\nBranchez-le ; la prochaine sauvegarde l'utilisera (ou lancez `ruche backup now`).",
		EN: "The backup disk %q (%s) was not plugged in at backup time: nothing was written to it.\n\nPlug it in; the next backup will use it (or run `ruche backup now`).",
	}
)

// alert tells the Alerter how a target's backup ended.
func (o *Options) alert(ctx context.Context, res TargetResult) {
	if o.Alerter == nil {
		return
	}
	var errs []error
	switch res.Status {
	case StatusOK:
		errs = append(errs,
			o.Alerter.Clear(ctx, provision.AlertBackupFailed, res.Target),
			o.Alerter.Clear(ctx, provision.AlertBackupDiskMissing, res.Target))
	case StatusMissing:
		errs = append(errs, o.Alerter.Raise(ctx, provision.Alert{
			Kind: provision.AlertBackupDiskMissing, Key: res.Target,
			Subject: i18n.T(msgAlertDiskSubject, res.Target),
			Body:    i18n.T(msgAlertDiskBody, res.Target, res.Repository),
		}))
	default: // failed, or partial: some files are missing from the snapshot
		cause := res.Err
		if cause == nil {
			cause = errors.New(string(res.Status))
		}
		errs = append(errs,
			o.Alerter.Clear(ctx, provision.AlertBackupDiskMissing, res.Target),
			o.Alerter.Raise(ctx, provision.Alert{
				Kind: provision.AlertBackupFailed, Key: res.Target,
				Subject: i18n.T(msgAlertFailedSubject, res.Target),
				Body:    i18n.T(msgAlertFailedBody, res.Target, res.Repository, cause),
			}))
	}
	if err := errors.Join(errs...); err != nil {
		o.log().Warn("backup alert not sent", "target", res.Target, "err", err)
	}
}
