package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/health"
)

// `ruche doctor` is what a technician runs first, and what a volunteer
// reads aloud on the phone: one line per check, a mark anyone can tell
// apart, and for each thing wrong what to do. It only reads; it works with
// or without `ruche up`, and ends in a few seconds even with no network.

type doctorOptions struct {
	DNS string // a DNS server (host:port) instead of the system's; for tests
}

// Time bounds. The whole doctor waits at most about dnsBudget: DNS checks
// run while the local ones do.
const (
	doctorDNSBudget    = 3 * time.Second // every mail domain's MX, SPF and DMARC
	doctorStatusBudget = 2 * time.Second // the daemon's answer on its control socket
)

func newDoctorCommand(g *globalOptions) *cobra.Command {
	opts := doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Diagnose the box: pack, secrets, services, disk, clock, mail DNS (exit 1 when something is wrong)",
		Long: `Diagnose the box, reading only: the live pack and its secrets, whether
'ruche up' runs and how its services are, disk space, the clock, and for each
mail domain its MX, SPF and DMARC records as the DNS shows them. One line per
check: ✓ ok, ! warning, ✗ problem, each problem with what to do.

Exit codes: 0 nothing wrong (warnings may remain), 1 at least one problem,
2 usage.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDoctor(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DNS, "dns", "", "DNS server (host:port) to ask instead of the system's")
	cmd.Flags().MarkHidden("dns")
	return cmd
}

// finding is one line of the report.
type finding struct {
	level   health.Level
	text    string
	details []string // under the line: errors with their file:line:col
	advice  string   // what to do; empty when nothing
	listing []string // under the advice: what it asks for (aliases to copy)
}

// section is a titled group of findings.
type section struct {
	title    string
	findings []finding
}

func (s *section) add(level health.Level, text, advice string, details ...string) {
	s.findings = append(s.findings, finding{level: level, text: text, advice: advice, details: details})
}

func runDoctor(ctx context.Context, g *globalOptions, opts doctorOptions) error {
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	livePath := filepath.Join(root, provision.PackPath)
	p, packErr := readLivePack(livePath)
	lang := g.lang(p)
	valid := p != nil && packErr == nil

	// The DNS is the slow part: ask it first, read the answers last.
	var mail func() []section
	if valid {
		mail = startMailChecks(ctx, p, opts, lang)
	}

	loc := boxLocation(p)
	sections := []section{
		packSection(lang, root, livePath, p, packErr),
		daemonSection(ctx, lang, loc, root, livePath, !errors.Is(packErr, fs.ErrNotExist)),
		diskSection(lang, root),
		clockSection(lang, loc),
	}
	if mail != nil {
		sections = append(sections, mail()...)
	}

	name := ""
	if p != nil {
		name = p.Association.Name
	}
	problems := printDoctor(g.streams.Out, lang, root, name, sections)
	if problems > 0 {
		return silentError{ExitFailed}
	}
	return nil
}

// readLivePack reads and validates the live pack. The pack comes back when
// the file could be decoded at all, valid or not, for its language.
func readLivePack(path string) (*provision.Pack, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return provision.Load(path, raw)
}

var (
	msgDocTitle     = i18n.M{FR: "Diagnostic de la box « %s »", EN: "Diagnosis of the box %q"}
	msgDocTitleAnon = i18n.M{FR: "Diagnostic de la box", EN: "Diagnosis of the box"}
	msgDocRoot      = i18n.M{FR: " (racine %s)", EN: " (root %s)"}
	msgDocAllWell   = i18n.M{FR: "Tout va bien.", EN: "All is well."}
	msgDocSummary   = i18n.M{FR: "Bilan : %s.", EN: "Summary: %s."}
	msgDocProblem   = i18n.M{FR: "%d problème", EN: "%d problem"}
	msgDocProblems  = i18n.M{FR: "%d problèmes", EN: "%d problems"}
	msgDocWarning   = i18n.M{FR: "%d avertissement", EN: "%d warning"}
	msgDocWarnings  = i18n.M{FR: "%d avertissements", EN: "%d warnings"}
	msgDocAnd       = i18n.M{FR: " et ", EN: " and "}
)

// marks are the line's first sign; the words after it say the same, for
// screen readers and for reading aloud.
var marks = map[health.Level]string{health.OK: "✓", health.Warning: "!", health.Problem: "✗"}

// printDoctor writes the report and returns how many problems it holds.
func printDoctor(w io.Writer, lang i18n.Lang, root, name string, sections []section) int {
	title := msgDocTitleAnon.In(lang)
	if name != "" {
		title = msgDocTitle.Sprintf(lang, name)
	}
	if root != "/" {
		title += msgDocRoot.Sprintf(lang, root)
	}
	fmt.Fprintln(w, title)
	problems, warnings := 0, 0
	for _, s := range sections {
		if len(s.findings) == 0 {
			continue
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, s.title)
		for _, f := range s.findings {
			fmt.Fprintf(w, "  %s %s\n", marks[f.level], f.text)
			for _, d := range f.details {
				fmt.Fprintf(w, "      %s\n", d)
			}
			if f.advice != "" {
				fmt.Fprintf(w, "    → %s\n", f.advice)
			}
			for _, l := range f.listing {
				fmt.Fprintf(w, "      %s\n", l)
			}
			switch f.level {
			case health.Problem:
				problems++
			case health.Warning:
				warnings++
			}
		}
	}
	fmt.Fprintln(w)
	var parts []string
	if problems > 0 {
		parts = append(parts, plural(lang, problems, msgDocProblem, msgDocProblems))
	}
	if warnings > 0 {
		parts = append(parts, plural(lang, warnings, msgDocWarning, msgDocWarnings))
	}
	if len(parts) == 0 {
		fmt.Fprintln(w, msgDocAllWell.In(lang))
	} else {
		fmt.Fprintln(w, msgDocSummary.Sprintf(lang, strings.Join(parts, msgDocAnd.In(lang))))
	}
	return problems
}

func plural(lang i18n.Lang, n int, one, many i18n.M) string {
	if n == 1 {
		return one.Sprintf(lang, n)
	}
	return many.Sprintf(lang, n)
}

// rootFlag is " --root DIR" for commands the report suggests, when the box
// is not at /.
func rootFlag(root string) string {
	if root == "/" {
		return ""
	}
	return " --root " + root
}

// The pack and its secrets.

var (
	msgDocPack         = i18n.M{FR: "Pack", EN: "Pack"}
	msgDocPackOK       = i18n.M{FR: "le pack en service est valide : %s", EN: "the live pack is valid: %s"}
	msgDocPackMissing  = i18n.M{FR: "pas de pack en service (%s) : la box n'a jamais été configurée", EN: "no live pack (%s): the box was never set up"}
	msgDocPackApply    = i18n.M{FR: "appliquez un pack : ruche apply PACK%s", EN: "apply a pack: ruche apply PACK%s"}
	msgDocPackUnread   = i18n.M{FR: "le pack en service est illisible : %v", EN: "the live pack cannot be read: %v"}
	msgDocPackInvalid  = i18n.M{FR: "le pack en service est invalide (la box garde la dernière révision appliquée) :", EN: "the live pack is invalid (the box keeps the last applied revision):"}
	msgDocPackFix      = i18n.M{FR: "corrigez-le (ruche validate %s montre les mêmes erreurs), ou revenez en arrière : ruche revisions%s puis ruche rollback N%s", EN: "correct it (ruche validate %s shows the same errors), or go back: ruche revisions%s then ruche rollback N%s"}
	msgDocSecretsOK    = i18n.M{FR: "les secrets du pack sont présents, en mode 0600 : %s", EN: "the pack's secrets are present, mode 0600: %s"}
	msgDocSecretsNone  = i18n.M{FR: "le pack ne nomme aucun secret", EN: "the pack names no secret"}
	msgDocSecretsCheck = i18n.M{FR: "les secrets n'ont pas pu être vérifiés : %v", EN: "the secrets could not be checked: %v"}
)

func packSection(lang i18n.Lang, root, livePath string, p *provision.Pack, packErr error) section {
	s := section{title: msgDocPack.In(lang)}
	var list provision.ErrorList
	switch {
	case errors.Is(packErr, fs.ErrNotExist):
		s.add(health.Problem, msgDocPackMissing.Sprintf(lang, livePath), msgDocPackApply.Sprintf(lang, rootFlag(root)))
		return s
	case errors.As(packErr, &list):
		var lines []string
		for _, e := range list {
			lines = append(lines, e.Localize(lang))
		}
		s.add(health.Problem, msgDocPackInvalid.In(lang), msgDocPackFix.Sprintf(lang, livePath, rootFlag(root), rootFlag(root)), lines...)
		return s
	case packErr != nil:
		s.add(health.Problem, msgDocPackUnread.Sprintf(lang, packErr), msgDocPackApply.Sprintf(lang, rootFlag(root)))
		return s
	}
	s.add(health.OK, msgDocPackOK.Sprintf(lang, livePath), "")

	// Each missing or unsafe secret is its own line, at the line of the
	// pack that names it; the message says what to do.
	err := provision.CheckSecrets(root, p)
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			s.add(health.Problem, e.Localize(lang), "")
		}
	case err != nil:
		s.add(health.Problem, msgDocSecretsCheck.Sprintf(lang, err), "")
	default:
		var names []string
		for _, ref := range p.Secrets() {
			names = append(names, ref.Name)
		}
		if len(names) == 0 {
			s.add(health.OK, msgDocSecretsNone.In(lang), "")
		} else {
			s.add(health.OK, msgDocSecretsOK.Sprintf(lang, strings.Join(names, ", ")), "")
		}
	}
	return s
}

// The daemon and its services.

var (
	msgDocDaemon       = i18n.M{FR: "Ruche (ruche up)", EN: "Ruche (ruche up)"}
	msgDocDaemonOff    = i18n.M{FR: "Ruche ne tourne pas : rien ne répond sur %s, donc ni site, ni wiki, ni panneau", EN: "Ruche is not running: nothing answers on %s, so no site, no wiki, no panel"}
	msgDocDaemonStart  = i18n.M{FR: "démarrez-la : ruche up %s%s (sur une box : redémarrez la machine)", EN: "start it: ruche up %s%s (on a box: restart the machine)"}
	msgDocDaemonOn     = i18n.M{FR: "Ruche tourne", EN: "Ruche is running"}
	msgDocDaemonMute   = i18n.M{FR: "Ruche tourne mais n'a pas donné son état : %v", EN: "Ruche is running but did not give its state: %v"}
	msgDocDaemonMuteDo = i18n.M{FR: "si cela dure, redémarrez-la", EN: "if it lasts, restart it"}
	msgDocApplyFailed  = i18n.M{FR: "la dernière application du pack a échoué : %s", EN: "the last apply of the pack failed: %s"}
	msgDocApplyFix     = i18n.M{FR: "la box garde ce qu'elle avait ; corrigez le pack, puis ruche apply%s", EN: "the box keeps what it had; correct the pack, then ruche apply%s"}
	msgDocSvcRunning   = i18n.M{FR: "%s : en marche depuis %s", EN: "%s: running since %s"}
	msgDocSvcRestarts  = i18n.M{FR: "%s : en marche depuis %s, après %d redémarrage(s) (dernier arrêt : %s)", EN: "%s: running since %s, after %d restart(s) (last stop: %s)"}
	msgDocSvcStarting  = i18n.M{FR: "%s : démarre", EN: "%s: starting"}
	msgDocSvcBackoff   = i18n.M{FR: "%s : s'est arrêté (%s), Ruche le relance", EN: "%s: stopped (%s), Ruche restarts it"}
	msgDocSvcFailed    = i18n.M{FR: "%s : arrêté après trop d'échecs (%s)", EN: "%s: stopped after too many failures (%s)"}
	msgDocSvcStopped   = i18n.M{FR: "%s : arrêté", EN: "%s: stopped"}
	msgDocSvcLog       = i18n.M{FR: "voyez son journal : %s", EN: "see its log: %s"}
	msgDocSvcLogFix    = i18n.M{FR: "voyez son journal (%s), corrigez, puis ruche apply%s ou redémarrez Ruche", EN: "see its log (%s), fix it, then ruche apply%s or restart Ruche"}
)

func daemonSection(ctx context.Context, lang i18n.Lang, loc *time.Location, root, livePath string, haveLive bool) section {
	s := section{title: msgDocDaemon.In(lang)}
	sock := filepath.Join(root, provision.ControlSocket)
	c := dialDaemon(root)
	if c == nil {
		pack := "PACK" // nothing to start from yet: the pack to apply
		if haveLive {
			pack = livePath
		}
		s.add(health.Problem, msgDocDaemonOff.Sprintf(lang, sock), msgDocDaemonStart.Sprintf(lang, pack, rootFlag(root)))
		return s
	}
	ctx, cancel := context.WithTimeout(ctx, doctorStatusBudget)
	defer cancel()
	st, err := c.status(ctx)
	if err != nil {
		s.add(health.Warning, msgDocDaemonMute.Sprintf(lang, err), msgDocDaemonMuteDo.In(lang))
		return s
	}
	s.add(health.OK, msgDocDaemonOn.In(lang), "")
	if a, ok := st.Health.Checks["apply"]; ok && !a.OK {
		s.add(health.Problem, msgDocApplyFailed.Sprintf(lang, a.Message), msgDocApplyFix.Sprintf(lang, rootFlag(root)))
	}
	for _, svc := range st.Services {
		logPath := filepath.Join(root, provision.LogDir, svc.Name+".log")
		since := "?"
		if !svc.Since.IsZero() {
			since = svc.Since.In(loc).Format("2006-01-02 15:04")
		}
		switch svc.State {
		case provision.StateRunning:
			if svc.Restarts > 0 {
				s.add(health.Warning, msgDocSvcRestarts.Sprintf(lang, svc.Name, since, svc.Restarts, svc.LastExit), msgDocSvcLog.Sprintf(lang, logPath))
			} else {
				s.add(health.OK, msgDocSvcRunning.Sprintf(lang, svc.Name, since), "")
			}
		case provision.StateStarting:
			s.add(health.OK, msgDocSvcStarting.Sprintf(lang, svc.Name), "")
		case provision.StateBackoff:
			s.add(health.Warning, msgDocSvcBackoff.Sprintf(lang, svc.Name, svc.LastExit), msgDocSvcLog.Sprintf(lang, logPath))
		case provision.StateFailed:
			s.add(health.Problem, msgDocSvcFailed.Sprintf(lang, svc.Name, svc.LastExit), msgDocSvcLogFix.Sprintf(lang, logPath, rootFlag(root)))
		default:
			s.add(health.Problem, msgDocSvcStopped.Sprintf(lang, svc.Name), msgDocSvcLogFix.Sprintf(lang, logPath, rootFlag(root)))
		}
	}
	return s
}

// Disk space.

var (
	msgDocDisk       = i18n.M{FR: "Disque", EN: "Disk"}
	msgDocDiskLine   = i18n.M{FR: "%s : %s utilisés, %s libres sur %s", EN: "%s: %s used, %s free of %s"}
	msgDocDiskFiles  = i18n.M{FR: " ; fichiers : %s utilisés", EN: "; files: %s used"}
	msgDocDiskSame   = i18n.M{FR: "%s (et %s, sur le même disque)", EN: "%s (and %s, on the same disk)"}
	msgDocDiskUnread = i18n.M{FR: "%s : espace illisible (%v)", EN: "%s: space cannot be read (%v)"}
	msgDocDiskWarn   = i18n.M{FR: "faites de la place bientôt : au-delà de %d %%, sauvegardes, wiki et courriel échouent", EN: "make room soon: beyond %d%%, backups, wiki and mail fail"}
	msgDocDiskFull   = i18n.M{FR: "faites de la place maintenant (anciens fichiers déposés, contenus mis de côté dans %s), ou faites ajouter un disque", EN: "make room now (old uploaded files, contents set aside in %s), or have a disk added"}
)

// diskSection reports the root's filesystem and the box's state folder's,
// once when both are the same disk (the usual case).
func diskSection(lang i18n.Lang, root string) section {
	s := section{title: msgDocDisk.In(lang)}
	state := filepath.Join(root, provision.StateDir)
	rootDev, rootOK := device(existingParent(root))
	paths := []string{root}
	if dev, ok := device(existingParent(state)); !ok || !rootOK || dev != rootDev {
		paths = append(paths, state)
	}
	for _, path := range paths {
		u, err := health.Disk(existingParent(path))
		if err != nil {
			s.add(health.Warning, msgDocDiskUnread.Sprintf(lang, path, err), "")
			continue
		}
		label := path
		if len(paths) == 1 {
			label = msgDocDiskSame.Sprintf(lang, root, provision.StateDir)
		}
		text := msgDocDiskLine.Sprintf(lang, label, percent(lang, u.UsedPercent), bytesText(lang, u.Free), bytesText(lang, u.Total))
		if u.InodesUsedPercent >= health.DiskWarnPercent {
			text += msgDocDiskFiles.Sprintf(lang, percent(lang, u.InodesUsedPercent))
		}
		advice := ""
		switch u.Level() {
		case health.Warning:
			advice = msgDocDiskWarn.Sprintf(lang, health.DiskFailPercent)
		case health.Problem:
			advice = msgDocDiskFull.Sprintf(lang, filepath.Join(root, provision.RemovedDir))
		}
		s.add(u.Level(), text, advice)
	}
	return s
}

// existingParent is path, or its nearest existing parent: before the first
// apply, var/lib/ruche does not exist yet but its disk does.
func existingParent(path string) string {
	for {
		if _, err := os.Stat(path); err == nil || filepath.Dir(path) == path {
			return path
		}
		path = filepath.Dir(path)
	}
}

func device(path string) (uint64, bool) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true
}

// percent writes a percentage the way each language does: "87 %" in
// French, "87%" in English.
func percent(lang i18n.Lang, p float64) string {
	if lang == i18n.FR {
		return fmt.Sprintf("%.0f %%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

// bytesText writes a size in decimal units, as disks are sold: "73,2 Go",
// "73.2 GB".
func bytesText(lang i18n.Lang, n uint64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	if lang == i18n.FR {
		units = []string{"o", "ko", "Mo", "Go", "To", "Po"}
	}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	s := fmt.Sprintf("%.1f", v)
	if i == 0 {
		s = fmt.Sprintf("%d", n)
	}
	if lang == i18n.FR {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + units[i]
}

// The clock.

var (
	msgDocClock       = i18n.M{FR: "Horloge", EN: "Clock"}
	msgDocClockOK     = i18n.M{FR: "l'horloge est synchronisée (erreur maximale %s) ; il est %s", EN: "the clock is synchronised (maximum error %s); it is %s"}
	msgDocClockOff    = i18n.M{FR: "l'horloge n'est pas synchronisée : elle indique %s, peut-être à tort ; les heures des sauvegardes, les dates des tickets et la validité des certificats HTTPS en dépendent", EN: "the clock is not synchronised: it says %s, maybe wrongly; backup times, tickets' dates and HTTPS certificates' validity depend on it"}
	msgDocClockDo     = i18n.M{FR: "vérifiez que la box est reliée à Internet et qu'un service de mise à l'heure tourne (timedatectl status) ; si l'heure est fausse, corrigez-la", EN: "check that the box is connected to the Internet and that a time service runs (timedatectl status); if the time is wrong, correct it"}
	msgDocClockUnread = i18n.M{FR: "l'état de l'horloge est illisible : %v", EN: "the clock's state cannot be read: %v"}
)

// boxLocation is the box's time zone (box.timezone), in which times are
// shown: the volunteers' own.
func boxLocation(p *provision.Pack) *time.Location {
	if p != nil && p.Box.Timezone != "" {
		if loc, err := time.LoadLocation(p.Box.Timezone); err == nil {
			return loc
		}
	}
	return time.Local
}

func clockSection(lang i18n.Lang, loc *time.Location) section {
	s := section{title: msgDocClock.In(lang)}
	shown := time.Now().In(loc).Format("2006-01-02 15:04 MST")
	c, err := health.Clock()
	switch {
	case err != nil:
		s.add(health.Warning, msgDocClockUnread.Sprintf(lang, err), "")
	case c.Synchronized:
		maxErr := c.MaxError
		if maxErr >= time.Millisecond {
			maxErr = maxErr.Round(time.Millisecond) // "18ms", not "18.042ms"
		}
		s.add(health.OK, msgDocClockOK.Sprintf(lang, maxErr, shown), "")
	default:
		s.add(c.Level(), msgDocClockOff.Sprintf(lang, shown), msgDocClockDo.In(lang))
	}
	return s
}

// Mail domains.

var (
	msgDocMail        = i18n.M{FR: "Courriel : %s", EN: "Mail: %s"}
	msgDocMailAliases = i18n.M{FR: "alias du pack pour ce domaine :", EN: "the pack's aliases for this domain:"}
	msgDocNoAddrs     = i18n.M{FR: "les adresses publiques de la box sont illisibles (%v) : le MX n'est comparé à aucune", EN: "the box's public addresses cannot be read (%v): the MX is compared to none"}
)

// startMailChecks asks the DNS about every mail domain at once, and returns
// a function that waits for the answers (at most doctorDNSBudget) and
// turns them into sections, one per domain, in the pack's order.
func startMailChecks(ctx context.Context, p *provision.Pack, opts doctorOptions, lang i18n.Lang) func() []section {
	domains := p.Mail.Domains
	if len(domains) == 0 {
		return func() []section { return nil }
	}
	box := health.BoxAddrs{}
	if p.Mail.Relay != nil {
		box.Relay = p.Mail.Relay.Host
	}
	public, addrErr := health.PublicAddrs()
	box.Public = public
	r := health.Resolver(opts.DNS)
	ctx, cancel := context.WithTimeout(ctx, doctorDNSBudget)
	reports := make([]health.MailReport, len(domains))
	var wg sync.WaitGroup
	for i, d := range domains {
		wg.Go(func() { reports[i] = health.CheckMailDomain(ctx, r, d, box) })
	}
	return func() []section {
		wg.Wait()
		cancel()
		var out []section
		for i, rep := range reports {
			s := section{title: msgDocMail.Sprintf(lang, domains[i])}
			if i == 0 && addrErr != nil {
				s.add(health.Warning, msgDocNoAddrs.Sprintf(lang, addrErr), "")
			}
			for _, f := range rep.Findings {
				advice := ""
				if f.HasAdvice() {
					advice = f.Advice.String(lang)
				}
				line := finding{level: f.Level, text: f.Text.String(lang), advice: advice}
				// Where the MX is not this box, the pack's aliases are what
				// the host must hold: list them, ready to copy.
				if f.Check == "mx" && f.Level != health.OK {
					if aliases := aliasLines(p, rep.ASCII); len(aliases) > 0 {
						line.listing = append([]string{msgDocMailAliases.In(lang)}, aliases...)
					}
				}
				s.findings = append(s.findings, line)
			}
			out = append(out, s)
		}
		return out
	}
}

// aliasLines lists the pack's aliases of one domain, "address → to, …",
// with panel logins replaced by their users' addresses.
func aliasLines(p *provision.Pack, asciiDomain string) []string {
	emails := map[string]string{}
	for _, u := range p.Panel.Users {
		if u.Email != "" {
			emails[u.Login] = u.Email
		}
	}
	var out []string
	for _, a := range p.Mail.Aliases {
		_, dom, ok := strings.Cut(a.Address, "@")
		if !ok {
			continue
		}
		if ascii, ok := provision.ASCIIDomain(dom); !ok || ascii != asciiDomain {
			continue
		}
		to := make([]string, len(a.To))
		for i, t := range a.To {
			if e, ok := emails[t]; ok && !strings.Contains(t, "@") {
				t = e
			}
			to[i] = t
		}
		out = append(out, a.Address+" → "+strings.Join(to, ", "))
	}
	return out
}
