package backup

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Start is Run in the background, for the panel's "back up now": it takes
// the box's backup lock before it returns, so that the caller learns at
// once that another backup runs (an *Error of kind ErrBusy) instead of
// waiting for it, then backs up in a goroutine bound to ctx and calls done
// (when not nil) with Run's outcome. The lock is the same as Run's: the
// scheduler, `ruche backup now` and Start never back up at the same time.
func Start(ctx context.Context, o Options, p *provision.Pack, done func(*Report, error)) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	if len(p.Backup.Targets) == 0 {
		return i18n.Errorf(msgNoTargets)
	}
	unlock, err := lockBackup(root)
	if err != nil {
		return err
	}
	go func() {
		defer unlock()
		r, err := runLocked(ctx, o, p, root)
		if done != nil {
			done(r, err)
		}
	}()
	return nil
}

// DrillLock is the drill's lock file, relative to the root: held while a
// drill runs (DrillRunning).
const DrillLock = drillLock

// ErrDrillBusy is StartDrill's error when a drill already runs.
var ErrDrillBusy = errors.New("backup: another drill is running")

// StartDrill is Drill in the background, as Start is Run: the drill lock
// is taken before it returns (an error wrapping ErrDrillBusy when another
// drill holds it), the drill runs in a goroutine bound to ctx and done
// (when not nil) gets Drill's outcome. The result is recorded in
// DrillStateFile as Drill records it.
func StartDrill(ctx context.Context, o DrillOptions, p *provision.Pack, done func(*DrillResult, error)) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	unlock, err := flockFile(filepath.Join(root, drillLock))
	if errors.Is(err, ErrBusy) {
		return errors.Join(ErrDrillBusy, i18n.Errorf(msgDrillBusy))
	}
	if err != nil {
		return err
	}
	go func() {
		defer unlock()
		r, err := drillLocked(ctx, o, p, root)
		if done != nil {
			done(r, err)
		}
	}()
	return nil
}

// Running reports whether a backup of the box at root runs now: its
// backup lock is held, by the daemon's scheduler, `ruche backup now` or
// Start. It asks by taking the lock and dropping it at once: a backup
// that starts in that instant finds it busy and says so (the scheduler
// tries again later), a cost the dashboard's view may pay.
func Running(root string) bool {
	return held(func() (func(), error) { return lockBackup(root) })
}

// DrillRunning reports whether a restore drill runs on the box at root,
// as Running does for backups.
func DrillRunning(root string) bool {
	return held(func() (func(), error) { return flockFile(filepath.Join(root, drillLock)) })
}

// held probes a lock: busy means held by someone; any other failure (no
// run folder yet) means nothing runs.
func held(lock func() (func(), error)) bool {
	unlock, err := lock()
	if err != nil {
		return errors.Is(err, ErrBusy)
	}
	unlock()
	return false
}
