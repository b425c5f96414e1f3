package panel

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
)

// fakeActions is the daemon's side of the dashboard's actions in the
// fixture, which runs no daemon: it records the calls and answers as the
// daemon does (cmd/ruche/cli/panel_actions_test.go runs the real one).
type fakeActions struct {
	mu        sync.Mutex
	restarted []string
	backups   int
	drills    int
	// paused answers as a box paused for a restore.
	paused bool
	// hold keeps a started backup or drill running (the next start is
	// refused) until done.
	hold                        bool
	backupRunning, drillRunning bool
}

func (a *fakeActions) restart(_ context.Context, name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.paused {
		return ErrBoxPaused
	}
	if name != "postfix" && name != "php-fpm" { // the fixture's Services
		return fmt.Errorf("%w: %s", ErrUnknownService, name)
	}
	a.restarted = append(a.restarted, name)
	return nil
}

func (a *fakeActions) backupNow(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.backupRunning {
		return ErrActionBusy
	}
	a.backups++
	a.backupRunning = a.hold
	return nil
}

func (a *fakeActions) drillNow(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.drillRunning {
		return ErrActionBusy
	}
	a.drills++
	a.drillRunning = a.hold
	return nil
}

// act sends an action's form as login's browser, with the session's CSRF
// token; a redirect's body is where it goes.
func (f *fixture) act(login, target string, fields url.Values) *httpResult {
	f.t.Helper()
	tok := f.session(login)
	if fields == nil {
		fields = url.Values{}
	}
	fields.Set(csrfField, csrfToken(tok))
	r := withSession(form(target, fields), tok)
	r.Header.Set("Accept", "text/html")
	rec := f.do(r)
	res := &httpResult{rec.Code, rec.Body.String()}
	if loc := rec.Header().Get("Location"); loc != "" {
		res.body = loc // a redirect: where to
	}
	return res
}

// apiPost is a script's POST to the API as login.
func (f *fixture) apiPost(login, target string) (int, string) {
	f.t.Helper()
	tok := f.session(login)
	r := withSession(jsonReq("POST", target, `{}`), tok)
	r.Header.Set(csrfHeader, csrfToken(tok))
	rec := f.do(r)
	return rec.Code, rec.Body.String()
}

func (f *fixture) auditActions(t *testing.T) []string {
	t.Helper()
	list, err := f.db.AuditLog(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Actor+" "+e.Action+" "+e.Detail)
	}
	return out
}

func TestActionRestartService(t *testing.T) {
	f := newFixture(t, true)
	// The dashboard offers a technician a button per service.
	page := f.get("tech1", "/")
	if page.code != 200 || !strings.Contains(page.body, `action="/services/php-fpm/restart"`) || !strings.Contains(page.body, `aria-label="Redémarrer php-fpm"`) {
		t.Fatalf("dashboard as tech1: %d, no restart button for php-fpm\n%s", page.code, page.body)
	}
	res := f.act("tech1", "/services/php-fpm/restart", nil)
	if res.code != http.StatusSeeOther || res.body != "/?done=restart&service=php-fpm" {
		t.Fatalf("restart php-fpm: %d %q", res.code, res.body)
	}
	if !slices.Equal(f.actions.restarted, []string{"php-fpm"}) {
		t.Errorf("RestartService calls: %v, want [php-fpm]", f.actions.restarted)
	}
	if got := f.auditActions(t); !slices.Equal(got, []string{"tech1 restart php-fpm"}) {
		t.Errorf("audit log: %q", got)
	}
	page = f.get("tech1", res.body)
	if !strings.Contains(page.body, `<p class="summary ok" role="status">Service php-fpm redémarré</p>`) {
		t.Errorf("no flash after the restart:\n%s", page.body)
	}
	// A link cannot make the panel say another service restarted.
	if page := f.get("tech1", "/?done=restart&service=la+banque"); strings.Contains(page.body, "la banque") {
		t.Errorf("flash for a service the box does not run:\n%s", page.body)
	}
	// The audit page says it in words.
	if page := f.get("alice", "/audit"); !strings.Contains(page.body, "redémarrage") || !strings.Contains(page.body, "php-fpm") {
		t.Errorf("audit page: no restart\n%s", page.body)
	}
	// The API: 204, an admin too.
	if code, body := f.apiPost("alice", "/api/services/postfix/restart"); code != http.StatusNoContent {
		t.Errorf("API restart as alice: %d %s", code, body)
	}
	if !slices.Equal(f.actions.restarted, []string{"php-fpm", "postfix"}) {
		t.Errorf("RestartService calls: %v", f.actions.restarted)
	}
}

func TestActionRefusals(t *testing.T) {
	f := newFixture(t, true)
	// An unknown service: 404, in words, naming it; nothing recorded.
	res := f.act("tech1", "/services/apache/restart", nil)
	if res.code != http.StatusNotFound || !strings.Contains(res.body, "aucun service ne s&#39;appelle « apache » sur cette box") {
		t.Errorf("unknown service: %d\n%s", res.code, res.body)
	}
	f.lang = "en"
	if code, body := f.apiPost("tech1", "/api/services/apache/restart"); code != 404 || !strings.Contains(body, `no service is named \"apache\" on this box`) {
		t.Errorf("API unknown service: %d %s", code, body)
	}
	f.lang = "fr"
	// A member: 403, the page shows no button.
	if res := f.act("bob", "/services/php-fpm/restart", nil); res.code != http.StatusForbidden {
		t.Errorf("restart as bob: %d, want 403", res.code)
	}
	if code, _ := f.apiPost("bob", "/api/backups"); code != http.StatusForbidden {
		t.Errorf("backup as bob: %d, want 403", code)
	}
	if page := f.get("bob", "/"); strings.Contains(page.body, "/restart") || strings.Contains(page.body, `action="/backups`) {
		t.Errorf("bob's home page has staff buttons:\n%s", page.body)
	}
	// Without the token, or from another site: refused, nothing done.
	tok := f.session("tech1")
	r := withSession(form("/services/php-fpm/restart", url.Values{}), tok)
	if rec := f.do(r); rec.Code != http.StatusForbidden {
		t.Errorf("restart without a CSRF token: %d, want 403", rec.Code)
	}
	r = withSession(form("/backups", url.Values{csrfField: {csrfToken(tok)}}), tok)
	r.Header.Set("Origin", "http://evil.example")
	if rec := f.do(r); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site back up now: %d, want 403", rec.Code)
	}
	r = withSession(jsonReq("POST", "/api/backups/drill", `{}`), tok)
	r.Header.Set("Sec-Fetch-Site", "same-origin") // a browser, without the header token
	if rec := f.do(r); rec.Code != http.StatusForbidden {
		t.Errorf("API drill from a browser without the token: %d, want 403", rec.Code)
	}
	// A box paused for a restore: 503, in words.
	f.actions.paused = true
	if res := f.act("tech1", "/services/php-fpm/restart", nil); res.code != 503 || !strings.Contains(res.body, "une restauration est en cours") {
		t.Errorf("restart while paused: %d\n%s", res.code, res.body)
	}
	// No daemon behind the panel: 503, in words.
	f.p.opts.RestartService, f.p.opts.BackupNow = nil, nil
	if res := f.act("tech1", "/services/php-fpm/restart", nil); res.code != 503 || !strings.Contains(res.body, "cette action n&#39;est pas disponible") {
		t.Errorf("restart without a daemon: %d\n%s", res.code, res.body)
	}
	if code, _ := f.apiPost("tech1", "/api/backups"); code != 503 {
		t.Errorf("backup without a daemon: %d, want 503", code)
	}
	if len(f.actions.restarted) != 0 || f.actions.backups != 0 || f.actions.drills != 0 {
		t.Errorf("a refused action was done: %+v", &f.actions)
	}
	if got := f.auditActions(t); len(got) != 0 {
		t.Errorf("refusals in the audit log: %q", got)
	}
	// No backup target: no backup button, and the route says why.
	f = newFixture(t, true)
	f.pack.Backup.Targets = nil
	if page := f.get("tech1", "/"); strings.Contains(page.body, `action="/backups`) {
		t.Errorf("backup buttons without targets:\n%s", page.body)
	}
	if code, body := f.apiPost("tech1", "/api/backups"); code != http.StatusConflict || !strings.Contains(body, "backup.targets") {
		t.Errorf("backup without targets: %d %s", code, body)
	}
}

func TestActionBackupNow(t *testing.T) {
	f := newFixture(t, true)
	f.actions.hold = true
	page := f.get("tech1", "/")
	if !strings.Contains(page.body, `action="/backups"`) || !strings.Contains(page.body, `action="/backups/drill"`) {
		t.Fatalf("dashboard: no backup or drill button\n%s", page.body)
	}
	res := f.act("tech1", "/backups", nil)
	if res.code != http.StatusSeeOther || res.body != "/?done=backup#h-backups" {
		t.Fatalf("back up now: %d %q", res.code, res.body)
	}
	if page := f.get("tech1", "/?done=backup"); !strings.Contains(page.body, "Sauvegarde lancée") {
		t.Errorf("no flash after back up now:\n%s", page.body)
	}
	// Twice: the second is refused while the first runs.
	if code, body := f.apiPost("alice", "/api/backups"); code != http.StatusConflict || !strings.Contains(body, "une sauvegarde est déjà en cours") {
		t.Errorf("second backup: %d %s, want 409", code, body)
	}
	if res := f.act("alice", "/backups", nil); res.code != http.StatusConflict || !strings.Contains(res.body, "une sauvegarde est déjà en cours") {
		t.Errorf("second backup (form): %d\n%s", res.code, res.body)
	}
	if f.actions.backups != 1 {
		t.Errorf("BackupNow started %d backups, want 1", f.actions.backups)
	}
	// The drill: 202 on the API, then 409 while it runs.
	if code, body := f.apiPost("tech1", "/api/backups/drill"); code != http.StatusAccepted || !strings.Contains(body, `"started"`) {
		t.Errorf("drill: %d %s, want 202", code, body)
	}
	if res := f.act("tech1", "/backups/drill", nil); res.code != http.StatusConflict || !strings.Contains(res.body, "un exercice de restauration est déjà en cours") {
		t.Errorf("second drill: %d\n%s", res.code, res.body)
	}
	if got := f.auditActions(t); !slices.Equal(got, []string{"tech1 drill ", "tech1 backup "}) {
		t.Errorf("audit log: %q", got)
	}

	// While a backup or a drill holds its lock (as the daemon's does),
	// the dashboard says so and offers no button for it.
	for _, lock := range []string{provision.BackupLock, backup.DrillLock} {
		path := filepath.Join(f.root, lock)
		os.MkdirAll(filepath.Dir(path), 0o755)
		fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
	}
	page = f.get("tech1", "/")
	for _, want := range []string{"Une sauvegarde est en cours.", "Exercice en cours."} {
		if !strings.Contains(page.body, want) {
			t.Errorf("dashboard while both run: no %q", want)
		}
	}
	if strings.Contains(page.body, `action="/backups`) {
		t.Errorf("dashboard while both run: buttons still there\n%s", page.body)
	}
}
