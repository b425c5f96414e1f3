package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/panel"
)

// panelActions are the dashboard's staff actions as the daemon does them
// (panel.Options RestartService, BackupNow, DrillNow). Backups and drills
// run in the background, bound to the daemon's context (ctx): a browser
// that goes away does not stop them, ruche up stopping does.
type panelActions struct {
	d   *daemon
	ctx context.Context
	log *slog.Logger
	// running are the backups and drills started: the daemon waits for
	// them (stopped by ctx) before it closes the database they use.
	running sync.WaitGroup
}

// wait cancels what runs and waits for it to end.
func (a *panelActions) wait(cancel context.CancelFunc) {
	cancel()
	a.running.Wait()
}

var msgDrillBoxAction = i18n.M{
	FR: "cette box est la copie d'un exercice de restauration : elle ne se sauvegarde pas",
	EN: "this box is a restore drill's copy: it does not back itself up",
}

// paused refuses an action while a restore in place holds the box (the
// panel says so in its words, as msgPausedApply says it to `ruche apply`).
func (a *panelActions) paused() error {
	if a.d.paused.Load() {
		return panel.ErrBoxPaused
	}
	return nil
}

// restart restarts one supervised service. The restart runs under the
// daemon's context, not the request's: a closed tab must not leave a
// service stopped halfway.
func (a *panelActions) restart(_ context.Context, name string) error {
	if err := a.paused(); err != nil {
		return err
	}
	if !slices.ContainsFunc(a.d.sup.Status(), func(s provision.ServiceStatus) bool { return s.Name == name }) {
		return fmt.Errorf("%w: %s", panel.ErrUnknownService, name)
	}
	a.log.Info("restarting a service for the panel", "service", name)
	return a.d.sup.Restart(a.ctx, name)
}

// backupOptions are the backups' options, as the scheduler's.
func (a *panelActions) backupOptions() backup.Options {
	return backup.Options{Root: a.d.root, Restic: a.d.opts.Restic, Log: a.log, Alerter: a.d.alerter}
}

// pack is the live pack, refused for a drill's box, which must never
// write into the real repositories.
func (a *panelActions) pack() (*provision.Pack, error) {
	if err := a.paused(); err != nil {
		return nil, err
	}
	if err := a.ctx.Err(); err != nil {
		return nil, err // the daemon is stopping
	}
	if backup.IsDrillBox(a.d.root) {
		return nil, i18n.Errorf(msgDrillBoxAction)
	}
	return a.d.currentPack()
}

// backupNow starts a backup of every target, in-process under both
// supervisors: the box-wide backup lock, taken before it returns, keeps
// it from ever running beside the scheduler's or ruche-backup.service's
// (a busy lock is ErrActionBusy, the panel's 409).
func (a *panelActions) backupNow(context.Context) error {
	p, err := a.pack()
	if err != nil {
		return err
	}
	a.running.Add(1)
	err = backup.Start(a.ctx, a.backupOptions(), p, func(r *backup.Report, err error) {
		defer a.running.Done()
		if err != nil {
			a.log.Error("backup from the panel", "err", i18n.Localize(err, i18n.EN))
			return
		}
		a.log.Info("backup from the panel done", "failed_targets", len(r.Failed()))
	})
	if err != nil {
		a.running.Done() // not started
	}
	if errors.Is(err, backup.ErrBusy) {
		return errors.Join(panel.ErrActionBusy, err)
	}
	return err
}

// drillNow starts a restore drill (the ruche binary that runs the
// restored box is this one, os.Executable); its result is recorded in
// the drill state the dashboard shows.
func (a *panelActions) drillNow(context.Context) error {
	p, err := a.pack()
	if err != nil {
		return err
	}
	a.running.Add(1)
	err = backup.StartDrill(a.ctx, backup.DrillOptions{Options: a.backupOptions()}, p, func(_ *backup.DrillResult, err error) {
		defer a.running.Done()
		if err != nil {
			a.log.Warn("restore drill from the panel", "err", i18n.Localize(err, i18n.EN))
			return
		}
		a.log.Info("restore drill from the panel passed")
	})
	if err != nil {
		a.running.Done() // not started
	}
	if errors.Is(err, backup.ErrDrillBusy) {
		return errors.Join(panel.ErrActionBusy, err)
	}
	return err
}
