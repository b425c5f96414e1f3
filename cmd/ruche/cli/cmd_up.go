package cli

import (
	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/web"
)

type upOptions struct {
	HTTP   string
	HTTPS  string
	SMTP   string
	Author string
	Restic string
	// Supervisor is the backend: auto, exec or systemd (chooseSupervisor).
	Supervisor string
}

func newUpCommand(g *globalOptions) *cobra.Command {
	opts := upOptions{}
	cmd := &cobra.Command{
		Use:   "up PACK",
		Short: "Apply the pack, then supervise and serve in the foreground",
		Long: `Apply the pack, then run the box in the foreground: the embedded web server
(sites, panel, /healthz, /metrics), the supervised services, the control
socket other commands use. The pack file is watched: editing it re-applies.
SIGHUP re-applies the live pack; SIGTERM or SIGINT stop everything cleanly.

With --root /, HTTP is served on :80, HTTPS on :443 and SMTP on :25; with
another root on 127.0.0.1:8080, 127.0.0.1:8443 and 127.0.0.1:2525, and every
name also answers under .localhost (panel.localhost, <site>.localhost).
HTTPS follows box.tls: off serves HTTP only and ignores --https.

` + supervisorNote,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(cmd.Context(), g, opts, args[0])
		},
	}
	cmd.Flags().StringVar(&opts.HTTP, "http", "", "HTTP listen address (default :80 with --root /, else 127.0.0.1:8080)")
	cmd.Flags().StringVar(&opts.HTTPS, "https", "", "HTTPS listen address, unless box.tls is off (default :443 with --root /, else 127.0.0.1:8443)")
	cmd.Flags().StringVar(&opts.SMTP, "smtp", "", "SMTP listen address for the mail service (default :25 with --root /, else 127.0.0.1:2525)")
	cmd.Flags().StringVar(&opts.Author, "author", defaultAuthor(), "who applies, for the revision log")
	cmd.Flags().StringVar(&opts.Supervisor, "supervisor", supervisorAuto, "who runs the services: auto, exec or systemd (auto: systemd with --root / on a machine systemd runs, else exec)")
	cmd.Flags().StringVar(&opts.Restic, "restic", "", "restic binary for scheduled backups (default $RUCHE_RESTIC, else "+backup.DefaultBinary+")")
	return cmd
}

// listenDefaults are the addresses of DESIGN.md: the real ports on a box,
// loopback high ports under any other root.
func listenDefaults(root string, opts *upOptions) {
	onBox := root == "/"
	if opts.HTTP == "" {
		opts.HTTP = "127.0.0.1:8080"
		if onBox {
			opts.HTTP = ":80"
		}
	}
	if opts.HTTPS == "" {
		_, opts.HTTPS = web.DefaultListen(root)
	}
	if opts.SMTP == "" {
		opts.SMTP = provision.DefaultSMTPAddr(root)
	}
}
