package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/supervisor/execsup"
	"github.com/ruche-box/ruche/services/supervisor/systemdsup"
)

// The supervisor backends `ruche up --supervisor` chooses from.
const (
	supervisorAuto    = "auto"
	supervisorExec    = "exec"
	supervisorSystemd = "systemd"
)

// systemdBooted is where systemd says it is PID 1 (sd_booted(3)).
const systemdBooted = "/run/systemd/system"

// BackupTimer names the systemd timer of scheduled backups:
// ruche-backup.timer starts ruche-backup.service.
const BackupTimer = "backup"

var msgBadSupervisor = i18n.M{
	FR: "--supervisor %q : valeurs possibles auto, exec, systemd",
	EN: "--supervisor %q: possible values are auto, exec, systemd",
}
var msgNoSystemd = i18n.M{
	FR: "--supervisor systemd : systemd ne répond pas (%v)",
	EN: "--supervisor systemd: systemd does not answer (%v)",
}

// chooseSupervisor says which backend runs the services: systemd on a box
// (root / and systemd booted), exec anywhere else (development, CI,
// containers, every test that uses its own root).
func chooseSupervisor(flag, root string) (string, error) {
	switch flag {
	case "", supervisorAuto:
		if root != "/" {
			return supervisorExec, nil
		}
		if fi, err := os.Stat(systemdBooted); err == nil && fi.IsDir() {
			return supervisorSystemd, nil
		}
		return supervisorExec, nil
	case supervisorExec, supervisorSystemd:
		return flag, nil
	}
	return "", i18n.Errorf(msgBadSupervisor, flag)
}

// newSupervisor sets d.sup, and d.sd under systemd.
func (d *daemon) newSupervisor(ctx context.Context, log *slog.Logger) error {
	kind, err := chooseSupervisor(d.opts.Supervisor, d.root)
	if err != nil {
		return err
	}
	if kind == supervisorExec {
		d.sup = execsup.New(d.root, log, execsup.OnRestart(d.metrics.serviceRestarted))
		return nil
	}
	conn, err := systemdsup.Dial(ctx)
	if err != nil {
		return i18n.Errorf(msgNoSystemd, err)
	}
	d.sd = systemdsup.New(conn, systemdsup.Options{Root: d.root, Log: log})
	d.sup = d.sd
	d.log.Info("services run as systemd units", "dir", systemdsup.DefaultUnitDir)
	return nil
}

// backupTimer is the systemd timer of the pack's scheduled backups: at
// backup.schedule, in the box's timezone, `ruche backup run-scheduled`
// does what the exec backend's in-daemon scheduler does. nil when the pack
// has no backup target, or on a restore drill's box.
func backupTimer(p *provision.Pack, exe, root, restic string) (*systemdsup.Timer, error) {
	if p == nil || len(p.Backup.Targets) == 0 || backup.IsDrillBox(root) {
		return nil, nil
	}
	cal, err := backup.OnCalendar(p)
	if err != nil {
		return nil, err
	}
	argv := []string{exe, "backup", "run-scheduled", "--root", root}
	if restic != "" {
		argv = append(argv, "--restic", restic)
	}
	return &systemdsup.Timer{
		Name:        BackupTimer,
		Description: "Ruche: scheduled backup (backup.schedule)",
		OnCalendar:  cal,
		Job:         provision.ServiceSpec{Command: argv},
	}, nil
}

// ensureBackupTimer makes the backup timer follow the pack just applied;
// nothing under the exec backend, whose scheduler reads the pack itself.
func (d *daemon) ensureBackupTimer(ctx context.Context, p *provision.Pack) {
	if d.sd == nil {
		return
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		d.log.Error("backup timer: this program's path", "err", err)
		return
	}
	restic := d.opts.Restic
	if restic == "" {
		restic = os.Getenv(backup.BinaryEnv)
	}
	t, err := backupTimer(p, exe, d.root, restic)
	if err != nil {
		d.log.Error("backup timer", "err", err)
		return
	}
	var timers []systemdsup.Timer
	if t != nil {
		timers = append(timers, *t)
	}
	if err := d.sd.EnsureTimers(ctx, timers); err != nil {
		d.log.Error("backup timer", "err", err)
		return
	}
	if t != nil {
		d.log.Info("backups run by a systemd timer", "unit", systemdsup.TimerUnit(t.Name), "on_calendar", t.OnCalendar)
	}
}

// supervisorNote is for the up command's help.
var supervisorNote = fmt.Sprintf(`--supervisor chooses who runs the services: systemd units written to %s
(ruche-<service>.service, and ruche-backup.timer for scheduled backups),
or exec, child processes of ruche up (their output in <root>/%s/).
auto, the default, is systemd when --root is / and systemd runs the
machine (%s exists), exec otherwise.`, systemdsup.DefaultUnitDir, execsup.LogDir, systemdBooted)
