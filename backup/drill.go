package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Where drills work and what they leave, relative to the root.
const (
	// DrillStateFile records the last drill (DrillState): what metrics
	// show as ruche_backup_last_drill_success_timestamp_seconds.
	DrillStateFile = provision.BackupDir + "/drill.json"
	// DrillScratchDir is where a drill restores the box and runs it; it
	// is removed afterwards. Not under var/lib/ruche: never backed up.
	DrillScratchDir = "var/tmp/ruche-drill"
	// DrillMarker, under a drill's scratch root, tells the box that runs
	// there that it is a drill: its scheduler must not back up (it would
	// write the restored copy into the real repositories), nor should it
	// alert anybody.
	DrillMarker = provision.RunDir + "/drill"
	// drillLock lets one drill run at a time on a box.
	drillLock = provision.RunDir + "/drill.lock"
)

// IsDrillBox says the box at root is a drill's restored copy (DrillMarker).
func IsDrillBox(root string) bool {
	_, err := os.Stat(filepath.Join(root, DrillMarker))
	return err == nil
}

// CheckStatus is how one check of a drill ended.
type CheckStatus string

// Statuses of a drill's check.
const (
	CheckOK      CheckStatus = "ok"
	CheckFailed  CheckStatus = "failed"
	CheckSkipped CheckStatus = "skipped"     // nothing to check (no wiki)
	CheckNotYet  CheckStatus = "not-checked" // what Ruche cannot check yet: never a success
)

// DrillCheck is one check of a drill.
type DrillCheck struct {
	// Name is "target", "restore", "files", "database", "start", "wiki",
	// "site:NAME" or "tickets".
	Name   string
	Status CheckStatus
	Detail i18n.Text
}

// DrillOptions say how to run a drill.
type DrillOptions struct {
	Options
	// Ruche is the ruche binary that runs the restored box; "" is this
	// program (os.Executable).
	Ruche string
	// Scratch is the folder the box is restored into; "" is
	// <root>/DrillScratchDir. It is emptied first and removed after.
	Scratch string
	// Keep leaves the scratch folder after the drill, to look into it.
	Keep bool
	// StartTimeout bounds the restored box's start; 0 is two minutes.
	StartTimeout time.Duration
	// OnCheck, when not nil, is told each check as it ends.
	OnCheck func(DrillCheck)
}

// DrillResult is one drill.
type DrillResult struct {
	Start      time.Time
	Duration   time.Duration
	Target     string   // the target restored from
	Repository string   // where, passwords hidden
	Snapshot   Snapshot // the snapshot restored
	Checks     []DrillCheck
	Scratch    string // the scratch folder, when kept
}

// OK says every check passed (or had nothing to check). A check not made
// yet is no failure, and no success either: the drill says so.
func (r *DrillResult) OK() bool {
	if len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if c.Status == CheckFailed {
			return false
		}
	}
	return true
}

var (
	msgDrillFailed = i18n.M{
		FR: "l'exercice de restauration a échoué : %s",
		EN: "the restore drill failed: %s",
	}
	msgDrillBusy = i18n.M{
		FR: "un autre exercice de restauration est en cours ; réessayez quand il aura fini",
		EN: "another restore drill is running; try again when it has finished",
	}
	msgDrillNoTarget = i18n.M{
		FR: "aucune cible ne donne d'instantané de cette box : %s",
		EN: "no target gives a snapshot of this box: %s",
	}
	msgDrillNoTargets = i18n.M{
		FR: "le pack n'a aucune cible de sauvegarde (backup.targets)",
		EN: "the pack has no backup target (backup.targets)",
	}
	msgDrillTarget = i18n.M{
		FR: "%s (%s) : instantané %s du %s",
		EN: "%s (%s): snapshot %s of %s",
	}
	msgDrillRestored = i18n.M{
		FR: "%d fichiers, %s, relus et comparés par restic aux empreintes de l'instantané",
		EN: "%d files, %s, read back and compared by restic with the snapshot's hashes",
	}
	msgDrillFiles = i18n.M{
		FR: "%d fichiers, %d dossiers, %d liens : tous présents, de la taille de l'instantané",
		EN: "%d files, %d folders, %d links: all present, of the snapshot's size",
	}
	msgDrillDatabaseOK = i18n.M{
		FR: "integrity_check : ok",
		EN: "integrity_check: ok",
	}
	msgDrillNoDatabase = i18n.M{
		FR: "l'instantané n'a pas de base de données (la box n'en avait pas encore)",
		EN: "the snapshot has no database (the box had none yet)",
	}
	msgDrillStarted = i18n.M{
		FR: "ruche up répond sur %s (/healthz : 200) en %s",
		EN: "ruche up answers on %s (/healthz: 200) in %s",
	}
	msgDrillStartFailed = i18n.M{
		FR: "la box restaurée ne démarre pas : %s",
		EN: "the restored box does not start: %s",
	}
	msgDrillNoWiki     = i18n.M{FR: "le pack n'a pas de wiki", EN: "the pack has no wiki"}
	msgDrillNoWikiPage = i18n.M{FR: "le wiki n'a encore aucune page", EN: "the wiki has no page yet"}
	msgDrillWikiOK     = i18n.M{
		FR: "page « %s » : le texte servi est celui de l'instantané (%d octets)%s",
		EN: "page %q: the text served is the snapshot's (%d bytes)%s",
	}
	msgDrillWikiAs      = i18n.M{FR: ", lue en tant que %s", EN: ", read as %s"}
	msgDrillWikiPrivate = i18n.M{
		FR: "le wiki répond (%d) ; il n'est pas public : le texte d'une page n'est pas comparé",
		EN: "the wiki answers (%d); it is not public: no page's text is compared",
	}
	msgDrillPageDiffers = i18n.M{
		FR: "%s : la page servie (%d, %d octets) n'est pas celle de l'instantané (%d octets)",
		EN: "%s: the page served (%d, %d bytes) is not the snapshot's (%d bytes)",
	}
	msgDrillFetchFailed = i18n.M{FR: "%s : %v", EN: "%s: %v"}
	msgDrillSiteOK      = i18n.M{
		FR: "page / : celle de l'instantané (%d octets)%s",
		EN: "page /: the snapshot's (%d bytes)%s",
	}
	msgDrillSameAsLive   = i18n.M{FR: ", identique à la box en service", EN: ", the same as on the live box"}
	msgDrillChangedSince = i18n.M{FR: " ; la box en service l'a modifiée depuis", EN: "; the live box changed it since"}
	msgDrillNoTicket     = i18n.M{
		FR: "la box n'a encore aucun ticket",
		EN: "the box has no ticket yet",
	}
	msgDrillNoAdmin = i18n.M{
		FR: "le pack n'a pas d'admin pour lire les tickets dans le panneau",
		EN: "the pack has no admin to read the tickets in the panel as",
	}
	msgDrillTicketsOK = i18n.M{
		FR: "%d ticket(s) ; le plus récent, n° %d « %s » (%s, %d commentaire(s)), est servi par le panneau comme dans l'instantané, lu en tant que %s",
		EN: "%d ticket(s); the newest, #%d %q (%s, %d comment(s)), is served by the panel as in the snapshot, read as %s",
	}
	msgDrillTicketDiffers = i18n.M{
		FR: "%s : le panneau sert %s, l'instantané a %s",
		EN: "%s: the panel serves %s, the snapshot has %s",
	}
	msgDrillPanelAnswer = i18n.M{
		FR: "%s : le panneau répond %d : %s",
		EN: "%s: the panel answers %d: %s",
	}
)

// Drill proves that the backups of the box at o.Root (live pack p) can be
// restored: it restores the latest snapshot of the first target that has
// one into a scratch folder, checks it (restic compares every file with
// the snapshot's content hashes, every path is there with its size, the
// database copy passes integrity_check), then starts the restored box with
// `ruche up --root SCRATCH` on spare loopback ports and fetches from it a
// wiki page and each site's home page, which must be the snapshot's, and
// through the panel's API the newest ticket, which must be the database
// copy's (title, status, comments).
//
// The result is recorded in DrillStateFile, success or not. The error is
// nil when the drill verified; else it says the first check that failed.
func Drill(ctx context.Context, o DrillOptions, p *provision.Pack) (*DrillResult, error) {
	root, err := o.root()
	if err != nil {
		return nil, err
	}
	unlock, err := flockFile(filepath.Join(root, drillLock))
	if errors.Is(err, ErrBusy) {
		return nil, i18n.Errorf(msgDrillBusy)
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	return drillLocked(ctx, o, p, root)
}

// drillLocked is Drill once the drill lock is held (Drill, StartDrill).
func drillLocked(ctx context.Context, o DrillOptions, p *provision.Pack, root string) (*DrillResult, error) {
	var err error
	d := &drill{o: o, root: root, res: &DrillResult{Start: o.now()}}
	d.scratch = o.Scratch
	if d.scratch == "" {
		d.scratch = filepath.Join(root, DrillScratchDir)
	}
	if d.scratch, err = filepath.Abs(d.scratch); err != nil {
		return nil, err
	}
	d.run(ctx, p)
	d.res.Duration = o.now().Sub(d.res.Start)
	if o.Keep && exists(d.scratch) {
		d.res.Scratch = d.scratch
	} else if err := os.RemoveAll(d.scratch); err != nil {
		o.log().Warn("drill: scratch folder not removed", "dir", d.scratch, "err", err)
	}
	var failure error
	for _, c := range d.res.Checks {
		if c.Status == CheckFailed {
			failure = i18n.Errorf(msgDrillFailed, c.Detail)
			break
		}
	}
	if len(d.res.Checks) == 0 {
		failure = i18n.Errorf(msgDrillFailed, "no check")
	}
	alertDrill(ctx, o.Options, failure)
	if err := recordDrill(root, d.res, failure); err != nil {
		return d.res, errors.Join(failure, err)
	}
	log := o.log().With("ok", failure == nil, "snapshot", d.res.Snapshot.ShortID, "duration", d.res.Duration.Round(time.Millisecond))
	if failure != nil {
		log.Warn("restore drill", "err", i18n.Localize(failure, i18n.EN))
	} else {
		log.Info("restore drill")
	}
	return d.res, failure
}

// DrillAlertKey is the key under which a failed drill is raised to the
// admins and technicians (kind provision.AlertBackupFailed, whose other
// keys are target names, which never hold a colon).
const DrillAlertKey = "drill:restore"

var (
	msgDrillAlertSubject = i18n.M{
		FR: "l'exercice de restauration des sauvegardes a échoué",
		EN: "the backups' restore drill failed",
	}
	msgDrillAlertBody = i18n.M{
		FR: "L'exercice de restauration de la box a échoué : les sauvegardes ne se restaurent peut-être pas.\n\n%s\n\n`ruche backup drill` relance l'exercice et montre chaque vérification ; docs/backup.md explique les erreurs courantes.",
		EN: "The box's restore drill failed: its backups may not restore.\n\n%s\n\n`ruche backup drill` runs the drill again and shows each check; docs/backup.md explains the common errors.",
	}
)

// alertDrill tells the admins about a failed drill (once, until a drill
// passes), and clears it when one passes.
func alertDrill(ctx context.Context, o Options, failure error) {
	if o.Alerter == nil {
		return
	}
	var err error
	if failure == nil {
		err = o.Alerter.Clear(ctx, provision.AlertBackupFailed, DrillAlertKey)
	} else {
		err = o.Alerter.Raise(ctx, provision.Alert{
			Kind: provision.AlertBackupFailed, Key: DrillAlertKey,
			Subject: i18n.T(msgDrillAlertSubject),
			Body:    i18n.T(msgDrillAlertBody, failure),
		})
	}
	if err != nil {
		o.log().Warn("drill alert not sent", "err", err)
	}
}

// drill is one drill under way.
type drill struct {
	o       DrillOptions
	root    string
	scratch string
	res     *DrillResult
	// A wiki not public is read as this panel user, and the tickets as
	// ticketUser, an admin: their passwords are set by the drill in the
	// scratch copy's database only (the real ones are hashes).
	wikiUser, ticketUser string
	passwords            map[string]string
	// wikiRel and wikiID are the page the drill reads, chosen among the
	// restored files before the box starts (starting adds the skeleton's
	// pages), and wikiWant its restored text.
	wikiRel, wikiID string
	wikiWant        []byte
	// tickets is the number of tickets in the database copy, newest the
	// newest of them and newestComments its number of comments, read
	// before the box starts; ticketsErr is why they could not be read.
	tickets        int
	newest         store.Ticket
	newestComments int
	ticketsErr     error
}

// check records a check's outcome and reports whether the drill goes on.
func (d *drill) check(name string, status CheckStatus, m i18n.M, args ...any) bool {
	c := DrillCheck{Name: name, Status: status, Detail: i18n.T(m, args...)}
	d.res.Checks = append(d.res.Checks, c)
	if d.o.OnCheck != nil {
		d.o.OnCheck(c)
	}
	return status != CheckFailed
}

// fail records a failed check from an error.
func (d *drill) fail(name string, err error) bool {
	return d.check(name, CheckFailed, i18n.M{FR: "%s", EN: "%s"}, err)
}

func (d *drill) run(ctx context.Context, p *provision.Pack) {
	if len(p.Backup.Targets) == 0 {
		d.check("target", CheckFailed, msgDrillNoTargets)
		return
	}
	if err := provision.CheckSockets(d.scratch, p); err != nil {
		d.fail("start", err)
		return
	}
	repo, ok := d.pickTarget(ctx, p)
	if !ok {
		return
	}
	// A drill cut off earlier may have left its scratch folder.
	if err := os.RemoveAll(d.scratch); err != nil {
		d.fail("restore", err)
		return
	}
	// The restored box's services (php-fpm's workers as www-data) must
	// traverse the folders above the scratch root, as on a box.
	if err := mkdirTraversable(d.root, filepath.Dir(d.scratch)); err != nil {
		d.fail("restore", err)
		return
	}
	if err := os.Mkdir(d.scratch, 0o755); err != nil {
		d.fail("restore", err)
		return
	}
	if err := os.Chmod(d.scratch, 0o755); err != nil {
		d.fail("restore", err)
		return
	}
	var progress func(Progress)
	if d.o.Progress != nil {
		progress = func(pr Progress) { pr.Target = "drill"; d.o.Progress(pr) }
	}
	snap := d.res.Snapshot
	if err := repo.Restore(ctx, snap.ID, d.scratch, progress); err != nil {
		d.fail("restore", err)
		return
	}
	v, err := VerifyTree(ctx, repo, snap.ID, d.scratch)
	if v == nil { // restic ls failed
		d.fail("files", err)
		return
	}
	d.check("restore", CheckOK, msgDrillRestored, v.Files, byteSize(v.Bytes))
	// VerifyTree stops at the files when they differ: the database is
	// then not checked (Database stays empty).
	if err != nil && v.Database == "" {
		d.fail("files", err)
		return
	}
	d.check("files", CheckOK, msgDrillFiles, v.Files, v.Dirs, v.Links)
	switch {
	case err != nil:
		d.fail("database", err)
		return
	case v.Database == "":
		d.check("database", CheckSkipped, msgDrillNoDatabase)
	default:
		d.check("database", CheckOK, msgDrillDatabaseOK)
	}
	restored, err := d.prepare(p)
	if err != nil {
		d.fail("start", err)
		return
	}
	d.serve(ctx, restored)
}

// pickTarget finds the first target that opens and holds a snapshot of
// the box, in the pack's order.
func (d *drill) pickTarget(ctx context.Context, p *provision.Pack) (*Repo, bool) {
	var reasons []string
	var errs []error
	for _, t := range p.Backup.Targets {
		repo, err := d.o.OpenTarget(ctx, p, t)
		var snap Snapshot
		if err == nil {
			snap, err = FindSnapshot(ctx, repo, LatestSnapshot, boxHost(p))
		}
		if err != nil {
			if ctx.Err() != nil {
				d.fail("target", ctx.Err())
				return nil, false
			}
			reasons = append(reasons, t.Name)
			errs = append(errs, err)
			continue
		}
		d.res.Target, d.res.Repository, d.res.Snapshot = t.Name, repo.Display(), snap
		d.check("target", CheckOK, msgDrillTarget, t.Name, repo.Display(), snap.ShortID, snap.Time.Local().Format(time.DateTime))
		return repo, true
	}
	d.check("target", CheckFailed, msgDrillNoTarget, namedErrors{names: reasons, errs: errs})
	return nil, false
}

// namedErrors lists errors by target, in the reader's language.
type namedErrors struct {
	names []string
	errs  []error
}

func (n namedErrors) Localize(lang i18n.Lang) string {
	parts := make([]string, len(n.names))
	for i := range n.names {
		parts[i] = n.names[i] + ": " + i18n.Localize(n.errs[i], lang)
	}
	return strings.Join(parts, "; ")
}

func (n namedErrors) Error() string { return n.Localize(i18n.FR) }

// prepare makes the restored tree a box that can start: its database where
// a box reads it, the backup password secret (never in a snapshot), and
// the drill marker. It returns the restored pack.
func (d *drill) prepare(live *provision.Pack) (*provision.Pack, error) {
	path := filepath.Join(d.scratch, provision.PackPath)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, i18n.Errorf(msgNoPackInSnapshot, d.res.Snapshot.ShortID, provision.PackPath)
	}
	p, err := provision.Load(path, raw)
	if err != nil {
		return nil, i18n.Wrap(err, msgBadPackInSnapshot, d.res.Snapshot.ShortID)
	}
	if err := stageDatabase(d.scratch); err != nil {
		return nil, err
	}
	if name := p.Backup.PasswordSecret; name != "" {
		src := provision.SecretPath(d.root, live.Backup.PasswordSecret)
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(d.scratch, provision.SecretsDir), 0o700); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(provision.SecretPath(d.scratch, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	if p.Wiki.Enabled {
		if d.wikiRel, d.wikiID = wikiPage(d.scratch, p); d.wikiRel != "" {
			if d.wikiWant, err = os.ReadFile(filepath.Join(d.scratch, d.wikiRel)); err != nil {
				return nil, err
			}
		}
	}
	d.readDatabase(p)
	if err := os.MkdirAll(filepath.Join(d.scratch, provision.RunDir), 0o755); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(d.scratch, DrillMarker), []byte("restore drill\n"), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

// readDatabase reads the scratch copy's tickets, and gives the panel
// users the drill logs in as (a wiki reader when the wiki is not public,
// an admin when there are tickets) a password of the drill's in that copy
// only. Without a password the wiki's text is not compared; tickets that
// cannot be read fail their check.
func (d *drill) readDatabase(p *provision.Pack) {
	path := filepath.Join(d.scratch, provision.DBPath)
	if !exists(path) {
		return
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		d.o.log().Warn("drill: scratch database", "err", err)
		d.ticketsErr = err
		return
	}
	defer db.Close()
	if p.Wiki.Enabled && !p.Wiki.PublicRead && len(p.Panel.Users) > 0 {
		login := p.Panel.Users[0].Login
		if err := d.setPassword(ctx, db, login); err != nil {
			d.o.log().Warn("drill: no wiki reader", "login", login, "err", err)
		} else {
			d.wikiUser = login
		}
	}
	list, err := db.Tickets(ctx, store.TicketFilter{})
	if err != nil {
		d.ticketsErr = err
		return
	}
	if d.tickets = len(list); d.tickets == 0 {
		return
	}
	d.newest = list[0]
	comments, err := db.Comments(ctx, d.newest.ID)
	if err != nil {
		d.ticketsErr = err
		return
	}
	d.newestComments = len(comments)
	for _, u := range p.Panel.Users {
		if u.Role == provision.RoleAdmin {
			if err := d.setPassword(ctx, db, u.Login); err != nil {
				d.ticketsErr = err
			} else {
				d.ticketUser = u.Login
			}
			return
		}
	}
}

// setPassword gives login a random password in the scratch copy's
// database, once: the wiki reader may be the admin who reads tickets.
func (d *drill) setPassword(ctx context.Context, db *store.DB, login string) error {
	if _, ok := d.passwords[login]; ok {
		return nil
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	password := base64.RawURLEncoding.EncodeToString(buf)
	if err := db.SetPassword(ctx, login, []byte(password)); err != nil {
		return err
	}
	if d.passwords == nil {
		d.passwords = map[string]string{}
	}
	d.passwords[login] = password
	return nil
}

// serve starts the restored box and fetches its pages.
func (d *drill) serve(ctx context.Context, p *provision.Pack) {
	bin := d.o.Ruche
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			d.fail("start", err)
			return
		}
	}
	var addrs [3]string
	for i := range addrs {
		a, err := spareLoopback()
		if err != nil {
			d.fail("start", err)
			return
		}
		addrs[i] = a
	}
	httpAddr := addrs[0]
	cmd := exec.Command(bin, "up", "--root", d.scratch, "--http", httpAddr, "--https", addrs[1], "--smtp", addrs[2],
		"--lang", "en", "--author", "drill", filepath.Join(d.scratch, provision.PackPath))
	out := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that a box that does not stop on SIGTERM
	// can be killed with every process it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := d.o.now()
	if err := cmd.Start(); err != nil {
		d.fail("start", err)
		return
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopBox(cmd, exited, d.o.log())

	get := d.fetcher(ctx, httpAddr, nil)

	timeout := d.o.StartTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		code, body, err := get("panel.localhost", "/healthz", nil)
		if err == nil && code == http.StatusOK {
			break
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("/healthz: %d %s", code, oneLine(string(body)))
		}
		select {
		case err := <-exited:
			exited <- err // for stopBox
			d.check("start", CheckFailed, msgDrillStartFailed, fmt.Sprintf("ruche up: %v: %s", err, lastLines(out.String(), 5)))
			return
		case <-ctx.Done():
			d.fail("start", ctx.Err())
			return
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.check("start", CheckFailed, msgDrillStartFailed, fmt.Sprintf("%s after %v; %s", last, timeout, lastLines(out.String(), 5)))
			return
		}
	}
	d.check("start", CheckOK, msgDrillStarted, httpAddr, d.o.now().Sub(started).Round(100*time.Millisecond))

	d.checkWiki(ctx, p, httpAddr)
	d.checkSites(p, get)
	d.checkTickets(ctx, httpAddr)
}

// fetcher fetches a path from the restored box under a host name; a form
// makes it a POST.
type fetcher func(host, path string, form url.Values) (int, []byte, error)

// fetcher is a fetcher of the box at addr; jar keeps cookies (a login).
func (d *drill) fetcher(ctx context.Context, addr string, jar http.CookieJar) fetcher {
	client := &http.Client{
		Timeout:       15 * time.Second,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return func(host, path string, form url.Values) (int, []byte, error) {
		method, body := http.MethodGet, io.Reader(nil)
		if form != nil {
			method, body = http.MethodPost, strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
		if err != nil {
			return 0, nil, err
		}
		req.Host = host
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		return resp.StatusCode, data, err
	}
}

// reSectok finds DokuWiki's form token.
var reSectok = regexp.MustCompile(`name="sectok" value="([^"]*)"`)

// checkWiki fetches a page's raw text from the restored wiki and compares
// it with the restored file; a wiki not public is read after logging in
// through DokuWiki's own form.
func (d *drill) checkWiki(ctx context.Context, p *provision.Pack, addr string) {
	if !p.Wiki.Enabled {
		d.check("wiki", CheckSkipped, msgDrillNoWiki)
		return
	}
	jar, _ := cookiejar.New(nil)
	get := d.fetcher(ctx, addr, jar)
	const host = "wiki.localhost"
	// /healthz answers once php-fpm runs; its socket may take a moment
	// more (502 meanwhile).
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, _, err := get(host, "/doku.php", nil)
		if err == nil && code != http.StatusBadGateway && code != http.StatusServiceUnavailable || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !p.Wiki.PublicRead && d.wikiUser == "" {
		code, _, err := get(host, "/doku.php", nil)
		if err != nil {
			d.check("wiki", CheckFailed, msgDrillFetchFailed, host+"/doku.php", err)
			return
		}
		status := CheckOK
		if code != http.StatusOK {
			status = CheckFailed
		}
		d.check("wiki", status, msgDrillWikiPrivate, code)
		return
	}
	rel, id, want := d.wikiRel, d.wikiID, d.wikiWant
	if rel == "" {
		d.check("wiki", CheckSkipped, msgDrillNoWikiPage)
		return
	}
	if !p.Wiki.PublicRead {
		_, page, err := get(host, "/doku.php?do=login&id="+url.QueryEscape(id), nil)
		m := reSectok.FindSubmatch(page)
		if err == nil && m == nil {
			err = errors.New("no login form")
		}
		if err == nil {
			_, _, err = get(host, "/doku.php", url.Values{"do": {"login"}, "id": {id}, "u": {d.wikiUser}, "p": {d.passwords[d.wikiUser]}, "sectok": {string(m[1])}})
		}
		if err != nil {
			d.check("wiki", CheckFailed, msgDrillFetchFailed, host+"/doku.php?do=login", err)
			return
		}
	}
	path := "/doku.php?id=" + url.QueryEscape(id) + "&do=export_raw"
	code, got, err := get(host, path, nil)
	if err != nil {
		d.check("wiki", CheckFailed, msgDrillFetchFailed, host+path, err)
		return
	}
	if code != http.StatusOK || !bytes.Equal(got, want) {
		d.check("wiki", CheckFailed, msgDrillPageDiffers, host+path, code, len(got), len(want))
		return
	}
	var as i18n.Text
	if !p.Wiki.PublicRead {
		as = i18n.T(msgDrillWikiAs, d.wikiUser)
	}
	d.check("wiki", CheckOK, msgDrillWikiOK, id, len(want), i18n.T(i18n.M{FR: "%s%s", EN: "%s%s"}, as, d.liveNote(rel, want)))
}

// checkSites fetches each site's home page from the restored box and
// compares it with the restored file.
func (d *drill) checkSites(p *provision.Pack, get fetcher) {
	for _, s := range p.Sites {
		name := "site:" + s.Name
		rel := filepath.Join(provision.StateDir, "sites", s.Name, "public", "index.html")
		want, err := os.ReadFile(filepath.Join(d.scratch, rel))
		if err != nil {
			d.fail(name, err)
			continue
		}
		host := s.Name + ".localhost"
		code, got, err := get(host, "/", nil)
		if err != nil {
			d.check(name, CheckFailed, msgDrillFetchFailed, host+"/", err)
			continue
		}
		if code != http.StatusOK || !bytes.Equal(got, want) {
			d.check(name, CheckFailed, msgDrillPageDiffers, host+"/", code, len(got), len(want))
			continue
		}
		d.check(name, CheckOK, msgDrillSiteOK, len(want), d.liveNote(rel, want))
	}
}

// checkTickets logs in to the restored panel as an admin and reads the
// ticket list and the newest ticket through its JSON API: they must be
// the database copy's. No ticket: nothing to check.
func (d *drill) checkTickets(ctx context.Context, addr string) {
	const name = "tickets"
	switch {
	case d.ticketsErr != nil:
		d.check(name, CheckFailed, msgDrillFetchFailed, provision.DBPath, d.ticketsErr)
		return
	case d.tickets == 0:
		d.check(name, CheckSkipped, msgDrillNoTicket)
		return
	case d.ticketUser == "":
		d.check(name, CheckFailed, msgDrillNoAdmin)
		return
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Timeout: 15 * time.Second, Jar: jar}
	_, port, _ := net.SplitHostPort(addr)
	host := "panel.localhost:" + port
	// call sends a JSON body (none when in is nil) and decodes the answer
	// into out; a panel script sends neither Origin nor Sec-Fetch-Site.
	call := func(method, path string, in, out any) bool {
		var body io.Reader
		if in != nil {
			data, err := json.Marshal(in)
			if err != nil {
				d.fail(name, err)
				return false
			}
			body = bytes.NewReader(data)
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
		if err != nil {
			d.fail(name, err)
			return false
		}
		req.Host = host
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			d.check(name, CheckFailed, msgDrillFetchFailed, host+path, err)
			return false
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err == nil && resp.StatusCode != http.StatusOK {
			d.check(name, CheckFailed, msgDrillPanelAnswer, method+" "+host+path, resp.StatusCode, oneLine(string(data)))
			return false
		}
		if err == nil {
			err = json.Unmarshal(data, out)
		}
		if err != nil {
			d.check(name, CheckFailed, msgDrillFetchFailed, method+" "+host+path, err)
			return false
		}
		return true
	}
	var session struct {
		Role string `json:"role"`
	}
	if !call(http.MethodPost, "/api/session", map[string]string{"login": d.ticketUser, "password": d.passwords[d.ticketUser]}, &session) {
		return
	}
	var list struct {
		Tickets []store.Ticket `json:"tickets"`
	}
	if !call(http.MethodGet, "/api/tickets", nil, &list) {
		return
	}
	if len(list.Tickets) != d.tickets || list.Tickets[0].ID != d.newest.ID {
		got, want := fmt.Sprint(len(list.Tickets)), fmt.Sprintf("%d, newest #%d", d.tickets, d.newest.ID)
		if len(list.Tickets) > 0 {
			got += fmt.Sprintf(", newest #%d", list.Tickets[0].ID)
		}
		d.check(name, CheckFailed, msgDrillTicketDiffers, "/api/tickets", got, want)
		return
	}
	path := "/api/tickets/" + fmt.Sprint(d.newest.ID)
	var t struct {
		Title    string          `json:"title"`
		Status   string          `json:"status"`
		Comments []store.Comment `json:"comments"`
	}
	if !call(http.MethodGet, path, nil, &t) {
		return
	}
	got := fmt.Sprintf("%q (%s, %d comments)", t.Title, t.Status, len(t.Comments))
	want := fmt.Sprintf("%q (%s, %d comments)", d.newest.Title, d.newest.Status, d.newestComments)
	if got != want {
		d.check(name, CheckFailed, msgDrillTicketDiffers, path, got, want)
		return
	}
	d.check(name, CheckOK, msgDrillTicketsOK, d.tickets, d.newest.ID, d.newest.Title, d.newest.Status, d.newestComments, d.ticketUser)
}

// liveNote says whether the live box's file is still the snapshot's: the
// drill proves the snapshot, and the box may have changed since.
func (d *drill) liveNote(rel string, restored []byte) i18n.Text {
	live, err := os.ReadFile(filepath.Join(d.root, rel))
	if err == nil && bytes.Equal(live, restored) {
		return i18n.T(msgDrillSameAsLive)
	}
	return i18n.T(msgDrillChangedSince)
}

// wikiPage chooses the wiki page a drill fetches: the start page when it
// exists, else the first page in name order. It returns the page file,
// root-relative, and its DokuWiki ID ("asso:bureau").
func wikiPage(root string, p *provision.Pack) (rel, id string) {
	pages := filepath.Join(provision.StateDir, "wiki", "pages")
	start := "accueil"
	if p.Locale() == "en" {
		start = "start"
	}
	if _, err := os.Stat(filepath.Join(root, pages, start+".txt")); err == nil {
		return filepath.Join(pages, start+".txt"), start
	}
	var found []string
	filepath.WalkDir(filepath.Join(root, pages), func(path string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && strings.HasSuffix(path, ".txt") {
			found = append(found, path)
		}
		return nil
	})
	if len(found) == 0 {
		return "", ""
	}
	sort.Strings(found)
	r, err := filepath.Rel(filepath.Join(root, pages), found[0])
	if err != nil {
		return "", ""
	}
	id = strings.ReplaceAll(strings.TrimSuffix(filepath.ToSlash(r), ".txt"), "/", ":")
	return filepath.Join(pages, r), id
}

// stopBox stops the restored box: SIGTERM, so that it stops its services,
// then its whole process group after 30 s.
func stopBox(cmd *exec.Cmd, exited chan error, log interface {
	Warn(msg string, args ...any)
}) {
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		log.Warn("drill: the restored box did not stop within 30 s: killed")
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
	}
}

// spareLoopback is a loopback address nobody listens on.
func spareLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// mkdirTraversable makes dir and its missing parents up to root, mode
// 0755 (the system's var/tmp is 1777 on a box: only folders made here get
// 0755), and checks that others may traverse dir and its parents inside
// root.
func mkdirTraversable(root, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for d := dir; d != root && strings.HasPrefix(d, root+"/"); d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, info.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

// lastLines is the end of a program's output, for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return oneLine(strings.Join(lines, "\n"))
}

// byteSize writes a size in decimal units, French or English style.
type byteSize uint64

func (n byteSize) Localize(lang i18n.Lang) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	if lang == i18n.FR {
		units = []string{"o", "ko", "Mo", "Go", "To"}
	}
	v, u := float64(n), 0
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d %s", uint64(n), units[0])
	}
	s := fmt.Sprintf("%.1f", v)
	if lang == i18n.FR {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + units[u]
}

// flockFile takes an flock on path without waiting (ErrBusy when held):
// the kernel drops it when the process dies.
func flockFile(path string) (func(), error) {
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
			return nil, ErrBusy
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

// DrillState is what the box remembers of its drills, in DrillStateFile.
type DrillState struct {
	LastRun time.Time `json:"last_run,omitzero"`
	LastOK  bool      `json:"last_ok"`
	// LastSuccess is when the last drill that verified ended: the source
	// of ruche_backup_last_drill_success_timestamp_seconds.
	LastSuccess     time.Time `json:"last_success,omitzero"`
	Target          string    `json:"target,omitempty"`
	Repository      string    `json:"repository,omitempty"`
	Snapshot        string    `json:"snapshot,omitempty"`
	SnapshotTime    time.Time `json:"snapshot_time,omitzero"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Error is why the last drill failed, in both languages.
	Error  map[string]string `json:"error,omitempty"`
	Checks []DrillCheckState `json:"checks,omitempty"`
}

// DrillCheckState is one check of the last drill, in both languages.
type DrillCheckState struct {
	Name   string            `json:"name"`
	Status CheckStatus       `json:"status"`
	Detail map[string]string `json:"detail,omitempty"`
}

// ReadDrillState reads the box's drill record; an empty one when no drill
// ever ran.
func ReadDrillState(root string) (*DrillState, error) {
	s := &DrillState{}
	data, err := os.ReadFile(filepath.Join(root, DrillStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s: %w", DrillStateFile, err)
	}
	return s, nil
}

func bothLanguages(l i18n.Localizer) map[string]string {
	return map[string]string{string(i18n.FR): l.Localize(i18n.FR), string(i18n.EN): l.Localize(i18n.EN)}
}

// textLocalizer lets an i18n.Text be written in both languages.
type textLocalizer i18n.Text

func (t textLocalizer) Localize(lang i18n.Lang) string { return i18n.Text(t).String(lang) }

// recordDrill writes the drill's result, keeping the last success of
// earlier drills when this one failed.
func recordDrill(root string, r *DrillResult, failure error) error {
	s, err := ReadDrillState(root)
	if err != nil {
		s = &DrillState{} // a damaged record must not stop drills
	}
	end := r.Start.Add(r.Duration)
	*s = DrillState{
		LastRun:         end,
		LastOK:          failure == nil,
		LastSuccess:     s.LastSuccess,
		Target:          r.Target,
		Repository:      r.Repository,
		Snapshot:        r.Snapshot.ID,
		SnapshotTime:    r.Snapshot.Time,
		DurationSeconds: r.Duration.Seconds(),
	}
	if failure == nil {
		s.LastSuccess = end
	} else if l, ok := failure.(i18n.Localizer); ok {
		s.Error = bothLanguages(l)
	} else {
		s.Error = map[string]string{string(i18n.FR): failure.Error(), string(i18n.EN): failure.Error()}
	}
	for _, c := range r.Checks {
		s.Checks = append(s.Checks, DrillCheckState{Name: c.Name, Status: c.Status, Detail: bothLanguages(textLocalizer(c.Detail))})
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(root, DrillStateFile), append(data, '\n'), 0o600)
}
