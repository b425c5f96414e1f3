package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/mail/notify"
)

type mailTestOptions struct {
	SMTP string
}

var (
	msgTestHanded = i18n.M{
		FR: "message d'essai remis au service de courriel de la boîte (%s) pour %s, file d'attente %s",
		EN: "test message handed to the box's mail service (%s) for %s, queue id %s",
	}
	msgTestHandedNoID = i18n.M{
		FR: "message d'essai remis au service de courriel de la boîte (%s) pour %s",
		EN: "test message handed to the box's mail service (%s) for %s",
	}
	msgTestLookFor = i18n.M{
		FR: "s'il n'arrive pas, cherchez %s dans le journal de Postfix (refus du relais, adresse inconnue…)",
		EN: "if it does not arrive, look for %s in Postfix's log (relay refusal, unknown address…)",
	}
	msgTestNotSent = i18n.M{
		FR: "message d'essai non envoyé",
		EN: "test message not sent",
	}
	// The test message itself speaks both languages: whoever reads it may
	// not be whoever chose the pack's locale.
	msgTestSubject = "Ruche %s : message d'essai / test message"
	msgTestBody    = `Bonjour,

Ceci est un message d'essai envoyé par la boîte Ruche « %[1]s » (%[2]s)
avec la commande ruche mail test, le %[3]s.
Il vous est parvenu : la boîte sait envoyer du courriel, et ses alertes
(sauvegarde échouée, disque absent ou plein, horloge, tickets) vous
parviendront aussi. Inutile d'y répondre.

----

Hello,

This is a test message sent by the Ruche box "%[1]s" (%[2]s)
with the command ruche mail test, on %[3]s.
It reached you: the box can send mail, and its alerts (backup failed,
disk missing or full, clock, tickets) will reach you too. No need to
answer it.
`
)

func newMailCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mail",
		Short: "The box's mail",
	}
	opts := mailTestOptions{}
	test := &cobra.Command{
		Use:   "test ADDRESS",
		Short: "Send a test message to ADDRESS through the box's mail service",
		Long: `Send a short test message (French and English) to ADDRESS through the
box's own Postfix, as the box's alerts are sent, and print the queue id
Postfix gave it: look for that id in Postfix's log if the message does not
arrive.

The mail service is reached on --smtp when given, else on the address
` + "`ruche up`" + ` wrote into <root>/run/ruche/smtp.addr, else on :25 with --root /
and 127.0.0.1:2525 under any other root. The sender is ruche@<box.domain>
when the live pack has a domain, else ruche@<box.hostname>.local.

Exit codes: 0 handed to the mail service, 1 not sent.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMailTest(cmd.Context(), g, opts, args[0])
		},
	}
	test.Flags().StringVar(&opts.SMTP, "smtp", "", "address of the box's mail service (default: <root>/run/ruche/smtp.addr, else :25 with --root /, else 127.0.0.1:2525)")
	cmd.AddCommand(test)
	return cmd
}

func runMailTest(ctx context.Context, g *globalOptions, opts mailTestOptions, to string) error {
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	// The live pack names the box and its language; without one (a box
	// never applied) the test still goes out, from ruche@localhost.
	var p *provision.Pack
	if raw, err := os.ReadFile(filepath.Join(root, provision.PackPath)); err == nil {
		if lp, _ := provision.Load(provision.PackPath, raw); lp != nil {
			p = lp
		}
	}
	lang := g.lang(p)

	client := notify.BoxClient(root, p, opts.SMTP)
	box, name := "ruche", "Ruche"
	if p != nil {
		if p.Box.Hostname != "" {
			box = p.Box.Hostname
		}
		if p.Association.Name != "" {
			name = p.Association.Name
		}
	}
	now := time.Now()
	if p != nil && p.Box.Timezone != "" {
		if loc, err := time.LoadLocation(p.Box.Timezone); err == nil {
			now = now.In(loc)
		}
	}
	id, err := client.Send(ctx, notify.Message{
		To:            []string{to},
		Subject:       fmt.Sprintf(msgTestSubject, box),
		Body:          fmt.Sprintf(msgTestBody, box, name, now.Format("2006-01-02 15:04 MST")),
		AutoSubmitted: true,
	})
	if err != nil {
		// In the pack's language, which Main does not know.
		fmt.Fprintln(g.streams.Err, "ruche: "+i18n.Wrap(err, msgTestNotSent).Localize(lang))
		return silentError{ExitFailed}
	}
	addr := notify.ServerAddr(client.Addr)
	if id == "" {
		printf(g.streams.Out, lang, msgTestHandedNoID, addr, to)
		return nil
	}
	printf(g.streams.Out, lang, msgTestHanded, addr, to, id)
	printf(g.streams.Out, lang, msgTestLookFor, id)
	return nil
}
