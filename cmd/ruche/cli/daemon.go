package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
	"github.com/ruche-box/ruche/services/health"
	"github.com/ruche-box/ruche/services/mail"
	"github.com/ruche-box/ruche/services/mail/notify"
	"github.com/ruche-box/ruche/services/panel"
	"github.com/ruche-box/ruche/services/supervisor/systemdsup"
	"github.com/ruche-box/ruche/services/web"
)

// daemon is `ruche up`: the engine, the web server, the supervisor and the
// control socket, wired together. It is the only writer while it runs:
// other commands ask it through the control socket.
type daemon struct {
	g       *globalOptions
	opts    upOptions
	root    string
	log     *slog.Logger
	db      *store.DB
	engine  *provision.Engine
	sup     provision.Supervisor
	sd      *systemdsup.Supervisor // the systemd backend; nil under exec
	web     *web.Server
	metrics *metrics

	mu         sync.Mutex // one apply at a time inside the daemon
	pack       *provision.Pack
	raw        []byte
	desired    *provision.Desired
	applyErr   error // the last apply's failure, for /healthz
	services   []provision.ServiceSpec
	lastResult *provision.Result

	// A restore in place (`ruche backup restore` while up runs) pauses the
	// box: services stopped, no apply; then it asks for a restart, and the
	// daemon starts again from the restored live pack (restart).
	paused  atomic.Bool
	restart atomic.Bool
	cancel  context.CancelFunc
	// started tells one run of the daemon from the next (a restart keeps
	// the process): `ruche backup restore` waits for a new one.
	started time.Time
	alerter mailAlerter
}

var (
	msgUpReady = i18n.M{
		FR: "Ruche tourne pour « %s ». Panneau : %s",
		EN: "Ruche runs for %q. Panel: %s",
	}
	msgUpSite    = i18n.M{FR: "  site %s : %s", EN: "  site %s: %s"}
	msgUpCA      = i18n.M{FR: "  certificat de l'autorité locale (à installer sur les appareils pour HTTPS) : %s", EN: "  local authority's certificate (install it on devices for HTTPS): %s"}
	msgUpStop    = i18n.M{FR: "Ctrl+C pour arrêter.", EN: "Ctrl+C to stop."}
	msgUpRunning = i18n.M{
		FR: "ruche up tourne déjà pour %s (socket %s)",
		EN: "ruche up already runs for %s (socket %s)",
	}
	msgPausedApply = i18n.M{
		FR: "une restauration est en cours : la box ne prend pas de nouveau pack avant de redémarrer",
		EN: "a restore is running: the box takes no new pack until it restarts",
	}
	msgInvalidLive = i18n.M{
		FR: "le pack modifié est invalide ; la box garde la révision en cours",
		EN: "the edited pack is invalid; the box keeps the running revision",
	}
)

// daemonMemoryLimit is ruche up's soft memory limit (runtime/debug).
const daemonMemoryLimit = 256 << 20

func runUp(ctx context.Context, g *globalOptions, opts upOptions, file string) error {
	p, raw, err := g.loadPack(file)
	if err != nil {
		return err
	}
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	listenDefaults(root, &opts)
	if dialDaemon(root) != nil {
		return i18n.Errorf(msgUpRunning, root, filepath.Join(root, provision.ControlSocket))
	}
	// The box has 1 GiB for everything (php-fpm, Postfix, restic too): a
	// soft ceiling makes the GC work harder before the heap grows past it,
	// instead of letting it double after each burst of requests. GOMEMLIMIT
	// in the environment wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(daemonMemoryLimit)
	}
	log := slog.New(slog.NewTextHandler(g.streams.Err, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d := &daemon{g: g, opts: opts, root: root, log: log.With("component", "daemon")}
	if err := d.run(ctx, p, raw, log); err != nil || !d.restart.Load() {
		return err
	}
	return d.reexec()
}

// reexec starts ruche up again in this process, from the live pack (a
// restore in place replaced it and the data under the running box): every
// handle on the old database and files is gone, as after a reboot.
func (d *daemon) reexec() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{exe, "up", "--root", d.root, "--http", d.opts.HTTP, "--https", d.opts.HTTPS,
		"--smtp", d.opts.SMTP, "--author", d.opts.Author, "--supervisor", d.opts.Supervisor}
	if d.opts.Restic != "" {
		args = append(args, "--restic", d.opts.Restic)
	}
	if d.g.Lang != "" {
		args = append(args, "--lang", d.g.Lang)
	}
	args = append(args, filepath.Join(d.root, provision.PackPath))
	d.log.Info("starting again", "args", args[1:])
	return syscall.Exec(exe, args, os.Environ())
}

func (d *daemon) run(ctx context.Context, p *provision.Pack, raw []byte, log *slog.Logger) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.cancel = cancel
	d.started = time.Now()

	if d.db, err = openStore(ctx, d.root); err != nil {
		return err
	}
	defer d.db.Close()
	d.metrics = newMetrics()
	if err := d.newSupervisor(ctx, log); err != nil {
		return err
	}
	d.metrics.watchServices(d.sup)
	d.metrics.watchBackups(d.root)
	d.web = web.NewServer(log.With("component", "web"))
	d.engine = newEngine(d.root, d.db)
	d.engine.SMTP = d.opts.SMTP
	d.engine.Logger = log.With("component", "engine")
	// Commands that send mail (`ruche mail test`) find Postfix here.
	if err := writeRuntimeFile(filepath.Join(d.root, provision.SMTPAddrFile), d.opts.SMTP+"\n"); err != nil {
		return err
	}
	d.engine.Reloader = d

	// One alerter for the whole daemon (disk and clock alerts, backups,
	// tickets): mail goes through the box's Postfix when the pack has mail.
	alerter := notify.NewAlerter(notify.BoxClient(d.root, p, d.opts.SMTP), d.db, d.currentPack)
	alerter.Log = log.With("component", "alerts")
	d.alerter = mailAlerter{d: d, Alerter: alerter}

	actions := &panelActions{d: d, ctx: ctx, log: log.With("component", "panel-actions")}
	defer actions.wait(cancel) // before the database closes
	pan := panel.New(panel.Options{
		Lang:            d.lang,
		AssociationName: d.associationName,
		Health:          d.health,
		Gatherer:        d.metrics.registry,
		Version:         Version(),
		DB:              d.db,
		Pack:            func() *provision.Pack { p, _ := d.currentPack(); return p },
		Root:            d.root,
		CACertPath:      web.LocalCARootPath(d.root),
		Services:        d.sup.Status,
		Listen:          []string{d.opts.HTTP, d.opts.HTTPS},
		Log:             log.With("component", "panel"),
		// Ticket mails go through the box's Postfix, as d.monitor()'s alerts.
		Notifier: d.alerter,
		// Panel edits (aliases, users, revisions) are pack revisions,
		// applied as `ruche apply` would and rolled back on failure.
		ApplyPack: d.applyPanelPack,
		// Sites in the panel: the templates, the pages' Markdown rendered
		// exactly as the sites render it, and where uploads go.
		SiteTemplates:  panelSiteTemplates,
		RenderMarkdown: panelRenderMarkdown,
		SiteUploadsDir: panelSiteUploadsDir,
		// The dashboard's staff actions (panel_actions.go): restart a
		// service, back up now, run a restore drill.
		RestartService: actions.restart,
		BackupNow:      actions.backupNow,
		DrillNow:       actions.drillNow,
		// A password set in the panel goes to the wiki's users at the
		// next apply: run one now, outside the request (an apply may
		// reload what serves it).
		PasswordChanged: func(context.Context) {
			d.mu.Lock()
			p, raw := d.pack, d.raw
			d.mu.Unlock()
			if p != nil {
				go d.apply(ctx, p, raw, "panel", "password")
			}
		},
	})
	web.Handle(web.PanelHandler, pan)

	// First apply, then bring up whatever is not yet running: an apply
	// with 0 changes reloads nothing, but at start nothing runs yet.
	if _, err := d.apply(ctx, p, raw, d.opts.Author, "up"); err != nil {
		return d.g.reportPackErrors(err, p)
	}
	if err := d.start(ctx); err != nil {
		d.shutdown()
		return err
	}
	defer d.shutdown()

	ctl, err := d.serveControl(ctx)
	if err != nil {
		return err
	}
	defer ctl.Close()
	d.printURLs()
	// A drill's box (a restored copy started by `ruche backup drill`) must
	// neither mail the admins nor back itself up: the real box does.
	if !backup.IsDrillBox(d.root) {
		m := d.monitor(log)
		go m.Run(ctx)
		// The dashboard's history: disks and backup sizes, now and every
		// 15 minutes, until the daemon stops.
		go pan.RecordUsage(ctx, panel.UsageInterval)
		// Under systemd, ruche-backup.timer backs up (ensureBackupTimer):
		// one scheduler, never two backups.
		if d.sd == nil {
			sched := backup.NewScheduler(backup.Options{Root: d.root, Restic: d.opts.Restic, Log: log.With("component", "backup"), Alerter: d.alerter}, d.currentPack)
			go func() {
				if err := sched.Run(ctx); err != nil {
					d.log.Error("backup scheduler stopped", "err", err)
				}
			}()
		}
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	changed := d.watchPack(ctx)
	for {
		select {
		case <-ctx.Done():
			d.log.Info("stopping")
			return nil
		case <-hup:
			d.log.Info("SIGHUP: applying the live pack again")
			d.reapplyLive(ctx, "SIGHUP", true)
			d.log.Info("SIGHUP: done")
		case <-changed:
			d.reapplyLive(ctx, "file-watch", false)
		}
	}
}

// apply runs the engine under the daemon's lock and records the outcome.
func (d *daemon) apply(ctx context.Context, p *provision.Pack, raw []byte, author, note string) (*provision.Result, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	res, err := d.engine.Apply(ctx, p, raw, provision.ApplyOptions{Author: author, Note: note})
	d.metrics.applied(err, res)
	if err != nil {
		d.applyErr = err
		d.log.Error("apply failed", "err", err)
		return nil, err
	}
	d.applyErr = nil
	d.pack, d.raw, d.desired = p, raw, keepForRestart(res.Desired)
	d.ensureBackupTimer(ctx, p)
	return res, nil
}

// keepForRestart is what the daemon keeps of a desired state between
// applies: what start needs (Caddy's configuration, the services), not the
// rendered pages, which were 9 MiB of a 500-site box's heap for nothing.
func keepForRestart(d *provision.Desired) *provision.Desired {
	kept := &provision.Desired{Services: d.Services}
	for _, f := range d.Files {
		if f.Path == web.ConfigPath {
			kept.Files = append(kept.Files, f)
		}
	}
	return kept
}

// start loads the web server and the services of the desired state, even
// when an apply found nothing to change (at start nothing runs yet; on
// SIGHUP everything is loaded again).
func (d *daemon) start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.loadWeb(d.desired); err != nil {
		return err
	}
	d.services = d.desired.Services
	return d.sup.Ensure(ctx, d.desired.Services)
}

// Reload is the engine's Reloader: apply calls it with the services whose
// files changed.
func (d *daemon) Reload(ctx context.Context, desired *provision.Desired, services []string) error {
	if slices.Contains(services, web.Service) {
		if err := d.loadWeb(desired); err != nil {
			return err
		}
	}
	// New or changed services are (re)started by Ensure; the others whose
	// files changed are told to reread them.
	fresh := map[string]bool{}
	for _, s := range desired.Services {
		if i := slices.IndexFunc(d.services, func(o provision.ServiceSpec) bool { return o.Name == s.Name }); i < 0 || !specEqual(d.services[i], s) {
			fresh[s.Name] = true
		}
	}
	if err := d.sup.Ensure(ctx, desired.Services); err != nil {
		return err
	}
	d.services = desired.Services
	for _, name := range services {
		if name == web.Service || fresh[name] {
			continue
		}
		if slices.ContainsFunc(desired.Services, func(s provision.ServiceSpec) bool { return s.Name == name }) {
			if err := d.sup.Reload(ctx, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func specEqual(a, b provision.ServiceSpec) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// loadWeb gives the embedded Caddy the rendered configuration.
func (d *daemon) loadWeb(desired *provision.Desired) error {
	for _, f := range desired.Files {
		if f.Path == web.ConfigPath {
			return d.web.Load(f.Content, web.Listen{HTTP: []string{d.opts.HTTP}, HTTPS: []string{d.opts.HTTPS}})
		}
	}
	return fmt.Errorf("render produced no %s", web.ConfigPath)
}

func (d *daemon) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.web.Stop(); err != nil {
		d.log.Warn("web server stop", "err", err)
	}
	if err := d.sup.Shutdown(ctx); err != nil {
		d.log.Warn("supervisor shutdown", "err", err)
	}
	d.log.Info("stopped")
}

// reapplyLive reads the live pack again (after SIGHUP or an edit of the
// file) and applies it. An invalid edit is reported and the box keeps
// running what it has.
func (d *daemon) reapplyLive(ctx context.Context, author string, force bool) {
	if d.paused.Load() {
		return // a restore is writing the box; the restart applies it
	}
	live := filepath.Join(d.root, provision.PackPath)
	raw, err := os.ReadFile(live)
	if err != nil {
		d.log.Error("read live pack", "err", err)
		return
	}
	d.mu.Lock()
	same := bytes.Equal(raw, d.raw)
	d.mu.Unlock()
	if same && !force {
		return // our own write of the live pack
	}
	p, err := provision.Load(live, raw)
	if err != nil {
		d.log.Error(msgInvalidLive.In(d.lang()), "errors", i18n.Localize(err, d.lang()))
		return
	}
	if _, err := d.apply(ctx, p, raw, author, ""); err != nil {
		return
	}
	if force {
		if err := d.start(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("reload", "err", err)
		}
	}
}

// watchPack signals when the live pack file changes. Editors replace files
// in many ways (rename over, truncate and write), so the folder is watched
// and events for the file are debounced.
func (d *daemon) watchPack(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Warn("pack file not watched", "err", err)
		return out
	}
	live := filepath.Join(d.root, provision.PackPath)
	if err := w.Add(filepath.Dir(live)); err != nil {
		d.log.Warn("pack file not watched", "err", err)
		w.Close()
		return out
	}
	go func() {
		defer w.Close()
		var timer <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Name == live && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					timer = time.After(300 * time.Millisecond)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				d.log.Warn("pack watch", "err", err)
			case <-timer:
				timer = nil
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}

// serveControl answers the other commands on the control socket.
func (d *daemon) serveControl(ctx context.Context) (net.Listener, error) {
	sock := filepath.Join(d.root, provision.ControlSocket)
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		return nil, err
	}
	_ = os.Remove(sock) // stale: runUp checked that no daemon answers on it
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", sock)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /apply", func(w http.ResponseWriter, r *http.Request) {
		var req controlApply
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, d.controlApply(r.Context(), req))
	})
	// A restore in place: stop the services that use the data, refuse
	// applies, then restart from the restored live pack.
	mux.HandleFunc("POST /pause", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.paused.Store(true)
		d.log.Info("paused for a restore: stopping the services")
		if err := d.sup.Ensure(r.Context(), nil); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		d.services = nil
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /restart", func(w http.ResponseWriter, r *http.Request) {
		d.log.Info("restarting from the live pack")
		d.restart.Store(true)
		w.WriteHeader(http.StatusNoContent)
		go d.cancel()
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"services": d.sup.Status(), "health": d.health(), "started": d.started})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return l, nil
}

// controlApply applies a pack sent by `ruche apply` and returns what the
// command would have printed.
func (d *daemon) controlApply(ctx context.Context, req controlApply) controlOutput {
	lang := i18n.Parse(req.Lang)
	var out, errOut bytes.Buffer
	if d.paused.Load() {
		fmt.Fprintln(&errOut, msgPausedApply.Sprintf(lang))
		return controlOutput{Stderr: errOut.String(), Code: ExitFailed}
	}
	p, err := provision.Load(req.File, req.Pack)
	if err != nil {
		fmt.Fprintln(&errOut, i18n.Localize(err, lang))
		return controlOutput{Stderr: errOut.String(), Code: ExitFailed}
	}
	res, err := d.apply(ctx, p, req.Pack, req.Author, req.Note)
	if err != nil {
		code := exitCode(err)
		if errors.Is(err, provision.ErrLocked) {
			fmt.Fprintln(&errOut, "ruche: "+msgLocked.In(lang))
		} else {
			fmt.Fprintln(&errOut, "ruche: "+i18n.Localize(err, lang))
		}
		return controlOutput{Stderr: errOut.String(), Code: code}
	}
	provision.WriteChanges(&out, res.Changes, lang, false)
	return controlOutput{Stdout: out.String(), Code: ExitOK}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (d *daemon) lang() i18n.Lang {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.g.lang(d.pack)
}

func (d *daemon) associationName() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pack == nil {
		return ""
	}
	return d.pack.Association.Name
}

// health is what /healthz reports: the last apply and every service.
func (d *daemon) health() panel.Health {
	h := panel.Health{Checks: map[string]panel.Check{}}
	d.mu.Lock()
	applyErr := d.applyErr
	d.mu.Unlock()
	if applyErr != nil {
		h.Checks["apply"] = panel.Check{OK: false, Message: i18n.Localize(applyErr, d.lang())}
	} else {
		h.Checks["apply"] = panel.Check{OK: true}
	}
	for _, s := range d.sup.Status() {
		h.Checks["service:"+s.Name] = panel.Check{OK: s.State == provision.StateRunning, Message: string(s.State)}
	}
	return h
}

// printURLs tells the person who started the box where to find it.
func (d *daemon) printURLs() {
	lang := d.lang()
	schemes := []struct{ scheme, addr, std string }{{"http", d.opts.HTTP, "80"}}
	if d.pack.Box.TLS != "off" {
		schemes = append(schemes, struct{ scheme, addr, std string }{"https", d.opts.HTTPS, "443"})
	}
	// urls gives a host's address under every scheme the box serves.
	urls := func(host string) string {
		var out []string
		for _, s := range schemes {
			port := ""
			if _, p, err := net.SplitHostPort(s.addr); err == nil && p != s.std {
				port = ":" + p
			}
			out = append(out, s.scheme+"://"+host+port+"/")
		}
		return strings.Join(out, "  ")
	}
	suffix := d.pack.Box.Hostname + ".local"
	panelHost := suffix
	if d.root != "/" {
		panelHost = "panel.localhost"
	}
	w := d.g.streams.Out
	printf(w, lang, msgUpReady, d.pack.Association.Name, urls(panelHost))
	for _, s := range d.pack.Sites {
		host := s.Name + "-" + suffix
		if d.root != "/" {
			host = s.Name + ".localhost"
		}
		printf(w, lang, msgUpSite, s.Name, urls(host))
	}
	if d.pack.Box.TLS == "internal" {
		printf(w, lang, msgUpCA, web.LocalCARootPath(d.root))
	}
	if err := panel.PrintSetupLink(context.Background(), w, lang, d.db, d.pack, strings.Fields(urls(panelHost))); err != nil {
		d.log.Warn("setup link", "err", err)
	}
	printf(w, lang, msgUpStop)
}

// writeRuntimeFile writes a small file under run/ (replaced whole, by rename).
func writeRuntimeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// currentPack is the pack the box last applied.
func (d *daemon) currentPack() (*provision.Pack, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pack, nil
}

// monitor watches the disks and the clock and mails the admins and
// technicians through the box's Postfix about what goes wrong.
func (d *daemon) monitor(log *slog.Logger) *health.Monitor {
	paths := []string{d.root}
	// The box's state gets its own alerts when it is on another disk.
	state := filepath.Join(d.root, provision.StateDir)
	if a, b := deviceOf(d.root), deviceOf(state); a != b && b != 0 {
		paths = append(paths, state)
	}
	return &health.Monitor{
		Paths:   paths,
		Alerter: d.alerter,
		Log:     log.With("component", "monitor"),
	}
}

// mailAlerter sends alerts only while the applied pack has mail: without
// Postfix there is nobody to hand them to, and a problem raised then is
// mailed once mail is set up and it is raised again.
type mailAlerter struct {
	d *daemon
	provision.Alerter
}

func (a mailAlerter) Raise(ctx context.Context, al provision.Alert) error {
	if p, _ := a.d.currentPack(); p == nil || !mail.Enabled(p) {
		return nil
	}
	return a.Alerter.Raise(ctx, al)
}

// Notify tells about an event (a ticket) when the applied pack has mail.
func (a mailAlerter) Notify(ctx context.Context, al provision.Alert) error {
	if p, _ := a.d.currentPack(); p == nil || !mail.Enabled(p) {
		return nil
	}
	n, ok := a.Alerter.(provision.Notifier)
	if !ok {
		return nil
	}
	return n.Notify(ctx, al)
}

// deviceOf is the device a path is on, 0 when unknown.
func deviceOf(path string) uint64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev)
	}
	return 0
}
