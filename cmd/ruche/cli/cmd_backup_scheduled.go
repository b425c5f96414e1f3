package cli

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/mail"
	"github.com/ruche-box/ruche/services/mail/notify"
)

func newBackupRunScheduledCommand(g *globalOptions, opts *backupOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "run-scheduled",
		Short: "Run the scheduled backup now (what ruche-backup.timer runs)",
		Long: `Run the scheduled backup work once, now: a backup to every target and the
retention (restic forget/prune), then the restore drill and the check of
the repositories when the last ones are a week old. It is what
ruche-backup.timer starts on a box with systemd, at backup.schedule; under
the exec backend ruche up schedules the same work itself.

Only one backup runs at a time: when ruche backup now is running, this
backup steps aside. Results go to the journal (journalctl -u
ruche-backup.service), to the backup state the panel shows, and by mail to
the admins when a job fails.

Exit codes: 0 every job succeeded, 1 a job failed, 2 usage.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackupScheduled(cmd.Context(), g, opts)
		},
	}
}

func runBackupScheduled(ctx context.Context, g *globalOptions, opts *backupOptions) error {
	p, o, _, err := g.backupSetup(opts)
	if err != nil {
		return err
	}
	// The journal keeps what the scheduler logs, whatever --verbose says.
	log := slog.New(slog.NewTextHandler(g.streams.Err, &slog.HandlerOptions{Level: slog.LevelInfo}))
	o.Log = log.With("component", "backup")
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
	return backup.NewScheduler(o, func() (*provision.Pack, error) { return p, nil }).RunOnce(ctx)
}
