package health

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Monitor watches what can go wrong on a box without anyone touching it —
// a disk filling up, a clock drifting — and tells the admins and
// technicians through an Alerter: one mail when a problem starts, nothing
// while it lasts (the Alerter's rule), a new mail if it comes back after
// it was gone.
type Monitor struct {
	// Paths are the folders whose disks are watched (the root, and the
	// box's state when it is on another disk); the key of their alerts.
	Paths   []string
	Alerter provision.Alerter
	// Every is the time between two rounds; one minute when zero.
	Every time.Duration
	// ClockGrace is how long the clock must have been unsynchronised
	// before the alert: a box just switched on takes a few minutes to
	// reach a time server, and that is no problem. 30 minutes when zero.
	ClockGrace time.Duration

	// Probes; the real ones when nil. Tests replace them.
	Disk  func(path string) (DiskUsage, error)
	Clock func() (ClockState, error)
	Now   func() time.Time
	Log   *slog.Logger

	unsyncSince time.Time // when the clock was first seen unsynchronised
}

// DiskClearPercent is where a disk alert ends: 5 points under the warning
// threshold, so that a disk hovering around 85 % does not send a mail at
// every crossing.
const DiskClearPercent = DiskWarnPercent - 5

var (
	msgAlertDiskSubject = i18n.M{
		FR: "le disque de la box est presque plein (%s : %.0f %%)",
		EN: "the box's disk is nearly full (%s: %.0f%%)",
	}
	msgAlertDiskBody = i18n.M{
		FR: "Le disque qui contient %s est utilisé à %.0f %% ; il reste %s.\n\nQuand il sera plein, les sauvegardes, le wiki et le courrier s'arrêteront. Que faire : supprimer de vieux fichiers envoyés sur les sites, vider la corbeille du wiki (anciennes révisions dans var/lib/ruche/wiki/attic), ou demander à votre association de soutien un disque plus grand.\n\nLa commande `ruche doctor` montre l'état de la box.",
		EN: "The disk holding %s is %.0f%% used; %s left.\n\nWhen it is full, backups, the wiki and mail will stop. What to do: remove old files uploaded to the sites, clear the wiki's old revisions (var/lib/ruche/wiki/attic), or ask your support association for a larger disk.\n\n`ruche doctor` shows the box's state.",
	}
	msgAlertClockSubject = i18n.M{
		FR: "l'horloge de la box n'est pas à l'heure",
		EN: "the box's clock is not synchronised",
	}
	msgAlertClockBody = i18n.M{
		FR: "L'horloge de la box n'est plus synchronisée depuis %s (erreur possible : %s).\n\nLes sauvegardes programmées, les dates des tickets et la validité des certificats HTTPS en dépendent. Vérifiez que la box est reliée à Internet ; `timedatectl status` sur la box montre l'état de la mise à l'heure.",
		EN: "The box's clock has not been synchronised since %s (possible error: %s).\n\nScheduled backups, tickets' dates and HTTPS certificates' validity depend on it. Check that the box is connected to the Internet; `timedatectl status` on the box shows the time synchronisation's state.",
	}
)

// Run checks at once, then every Every, until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	every := m.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check runs one round: each disk, then the clock.
func (m *Monitor) Check(ctx context.Context) {
	diskProbe, clockProbe, now, log := m.Disk, m.Clock, m.Now, m.Log
	if diskProbe == nil {
		diskProbe = Disk
	}
	if clockProbe == nil {
		clockProbe = Clock
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	for _, p := range m.Paths {
		u, err := diskProbe(p)
		if err != nil {
			log.Warn("disk probe failed", "path", p, "err", err)
			continue
		}
		used := max(u.UsedPercent, u.InodesUsedPercent)
		switch {
		case u.Level() != OK:
			err = m.Alerter.Raise(ctx, provision.Alert{
				Kind:    provision.AlertDiskFull,
				Key:     p,
				Subject: i18n.T(msgAlertDiskSubject, p, used),
				Body:    i18n.T(msgAlertDiskBody, p, used, humanBytes(u.Free)),
			})
		case used < DiskClearPercent:
			err = m.Alerter.Clear(ctx, provision.AlertDiskFull, p)
		}
		if err != nil {
			log.Warn("disk alert", "path", p, "err", err)
		}
	}

	c, err := clockProbe()
	if err != nil {
		log.Warn("clock probe failed", "err", err)
		return
	}
	if c.Synchronized {
		m.unsyncSince = time.Time{}
		err = m.Alerter.Clear(ctx, provision.AlertClockUnsynchronised, "")
	} else {
		grace := m.ClockGrace
		if grace <= 0 {
			grace = 30 * time.Minute
		}
		if m.unsyncSince.IsZero() {
			m.unsyncSince = now()
		}
		if now().Sub(m.unsyncSince) >= grace {
			err = m.Alerter.Raise(ctx, provision.Alert{
				Kind:    provision.AlertClockUnsynchronised,
				Subject: i18n.T(msgAlertClockSubject),
				Body:    i18n.T(msgAlertClockBody, m.unsyncSince.Format("2006-01-02 15:04"), c.MaxError.Round(time.Millisecond)),
			})
		}
	}
	if err != nil {
		log.Warn("clock alert", "err", err)
	}
}

// humanBytes writes a size for a volunteer: "3.2 GB".
func humanBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
