package panel

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// lifePack is the live pack of lifeFixture, as a file: the lifecycle's
// edits go through editPack, which edits the file's YAML.
const lifePack = `apiVersion: ruche/v1
kind: Pack
association:
  name: Café d'ANAIS
  slug: cafe-anais
  locale: fr
box:
  hostname: cafe-anais
panel:
  users:
    - login: alice
      name: Alice Martin
      role: admin
      email: alice@example.org
    - login: tech1
      role: technician
      email: tech1@support.example
    - login: bob
      name: Bob Durand
      role: member
      email: bob@example.net
    - login: carol
      name: Carole Petit
      role: member
      email: carol@example.net
`

// lifeFixture is the panel fixture whose pack is a real file under its
// root, applied by an ApplyPack that does what the daemon's does for the
// database (provision.Load, then SyncUsers), with a recording notifier
// and the panel's log kept in logs.
func lifeFixture(t *testing.T) (f *fixture, rec *recorder, logs *bytes.Buffer) {
	t.Helper()
	f = newFixture(t, true)
	live := filepath.Join(f.root, filepath.FromSlash(provision.PackPath))
	if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
		t.Fatal(err)
	}
	load := func(raw []byte) {
		pk, err := provision.Load(live, raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(live, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		f.pack = pk
		f.sync()
	}
	load([]byte(lifePack))
	revs := 0
	f.p.opts.ApplyPack = func(ctx context.Context, raw []byte, author, note string) (provision.Revision, error) {
		pk, err := provision.Load(live, raw)
		if err != nil {
			return provision.Revision{}, err
		}
		_ = pk
		load(raw)
		revs++
		return provision.Revision{Number: revs, Author: author, Note: note}, nil
	}
	rec = &recorder{}
	f.p.opts.Notifier = rec
	logs = &bytes.Buffer{}
	f.p.log = slog.New(slog.NewTextHandler(logs, nil))
	return f, rec, logs
}

// anonForm posts fields as a visitor without a session (an anonymous CSRF
// token, as the login page hands out).
func (f *fixture) anonForm(target string, fields url.Values) *httptest.ResponseRecorder {
	const anon = "anon-token-0123456789-0123456789-0123456789"
	fields.Set(csrfField, anon)
	return f.do(withAnon(form(target, fields), anon))
}

// sessionForm posts fields with login's session token.
func (f *fixture) sessionForm(token, target string, fields url.Values) *httptest.ResponseRecorder {
	fields.Set(csrfField, csrfToken(token))
	return f.do(withSession(form(target, fields), token))
}

var resetLinkRE = regexp.MustCompile(`http://panel\.localhost/reset/([0-9A-Za-z_-]+)`)

// The whole reset flow: the same answer for everyone, a mail with a
// one-time link to the account's address only, a new password that ends
// the other sessions, the token in no log.
func TestPasswordReset(t *testing.T) {
	f, rec, logs := lifeFixture(t)
	old := f.session("bob")

	// A known login, an address, an unknown login: the same answer.
	var bodies []string
	for _, who := range []string{"bob", "CAROL@example.net", "nobody"} {
		r := f.anonForm("/reset", url.Values{"who": {who}})
		if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/reset?sent=1" {
			t.Fatalf("POST /reset %s: %d %q", who, r.Code, r.Header().Get("Location"))
		}
		bodies = append(bodies, r.Body.String())
	}
	if bodies[0] != bodies[2] {
		t.Errorf("the answer differs for a known and an unknown login:\n%s\n%s", bodies[0], bodies[2])
	}
	page := f.do(req("GET", "/reset?sent=1", nil))
	if page.Code != 200 || !strings.Contains(page.Body.String(), "Si ce compte existe") {
		t.Errorf("GET /reset?sent=1: %d\n%s", page.Code, page.Body)
	}
	f.p.mailing.Wait()
	mails := rec.take()
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2 (bob, carol): %+v", len(mails), mails)
	}
	var token string
	for _, m := range mails {
		body := m.Body.String(i18n.FR)
		if m.Kind != provision.AlertPasswordReset || len(m.To) != 1 {
			t.Errorf("mail %+v", m)
		}
		l := resetLinkRE.FindStringSubmatch(body)
		if l == nil {
			t.Fatalf("no link in the mail to %v:\n%s", m.To, body)
		}
		if m.To[0] == "bob@example.net" {
			token = l[1]
			if !strings.Contains(body, "Bob Durand") || !strings.Contains(m.Body.String(i18n.EN), "valid once for one hour") {
				t.Errorf("mail to bob:\n%s", body)
			}
		} else if m.To[0] != "carol@example.net" {
			t.Errorf("mail to %v", m.To)
		}
	}
	if token == "" {
		t.Fatal("no mail to bob")
	}

	// The link's page, a password too short, then the real one.
	target := "/reset/" + token
	if r := f.do(req("GET", target, nil)); r.Code != 200 || !strings.Contains(r.Body.String(), `value="bob"`) {
		t.Fatalf("GET %s: %d\n%s", target, r.Code, r.Body)
	}
	if r := f.anonForm(target, url.Values{"password": {"short"}, "confirm": {"short"}}); r.Code != 400 {
		t.Errorf("short password: %d", r.Code)
	}
	const newPW = "a brand new password"
	r := f.anonForm(target, url.Values{"password": {newPW}, "confirm": {newPW}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/" || cookie(r, sessionCookie) == nil {
		t.Fatalf("POST %s: %d %q\n%s", target, r.Code, r.Header().Get("Location"), r.Body)
	}
	if f.passwordChanged != 1 {
		t.Errorf("PasswordChanged called %d times, want 1 (the wiki's hashes)", f.passwordChanged)
	}
	// The session opened before the reset is over.
	if r := f.do(withSession(req("GET", "/account", nil), old)); r.Code != 302 {
		t.Errorf("old session after the reset: %d, want 302 to the login", r.Code)
	}
	// Used once.
	if r := f.do(req("GET", target, nil)); r.Code != 404 {
		t.Errorf("GET %s a second time: %d, want 404", target, r.Code)
	}
	if _, err := f.db.CheckPassword(t.Context(), "bob", []byte(newPW)); err != nil {
		t.Errorf("the new password does not log in: %v", err)
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), store.TokenID(token)) {
		t.Errorf("the token is in the log:\n%s", logs)
	}

	// Throttled per typed value, from whatever address: a script cannot
	// fill a mailbox.
	const anon = "anon-token-0123456789-0123456789-0123456789"
	var code int
	for i := range resetFreePerKey + 1 {
		r := form("/reset", url.Values{"who": {"tech1"}, csrfField: {anon}})
		r.RemoteAddr = "192.168.1." + strconv.Itoa(100+i) + ":50000"
		code = f.do(withAnon(r, anon)).Code
	}
	if code != http.StatusTooManyRequests {
		t.Errorf("reset request %d for the same login: %d, want 429", resetFreePerKey+1, code)
	}
	f.p.mailing.Wait()
	if n := len(rec.take()); n != resetFreePerKey {
		t.Errorf("%d mails to tech1, want %d", n, resetFreePerKey)
	}
}

// Disabling through the panel: a pack revision; the user's live session
// ends at its next request, their password no longer logs in, they get no
// reset link; their tickets stay. Enabling brings it all back.
func TestDisableUser(t *testing.T) {
	f, rec, _ := lifeFixture(t)
	admin, bob := f.session("alice"), f.session("bob")
	tk, err := f.db.CreateTicket(t.Context(), store.NewTicket{Title: "L'imprimante", Author: "bob"}, f.clock, false)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(withSession(req("GET", "/users/bob/disable", nil), admin)); r.Code != 200 || !strings.Contains(r.Body.String(), "Désactiver le compte") {
		t.Fatalf("GET /users/bob/disable: %d\n%s", r.Code, r.Body)
	}
	// A member cannot.
	if r := f.sessionForm(bob, "/users/carol/disable", url.Values{}); r.Code != 403 {
		t.Errorf("bob disables carol: %d, want 403", r.Code)
	}
	r := f.sessionForm(admin, "/users/bob/disable", url.Values{})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("POST /users/bob/disable: %d\n%s", r.Code, r.Body)
	}
	if u, _ := packUser(f.pack, "bob"); !u.Disabled {
		t.Fatal("bob is not disabled in the pack")
	}
	raw, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(provision.PackPath)))
	if !strings.Contains(string(raw), "disabled: true") {
		t.Errorf("the live pack does not say disabled:\n%s", raw)
	}
	if r := f.do(withSession(req("GET", "/tickets", nil), bob)); r.Code != 302 {
		t.Errorf("bob's session after the disable: %d, want 302 to the login", r.Code)
	}
	if r := f.anonForm("/login", url.Values{"login": {"bob"}, "password": {password["bob"]}}); r.Code == http.StatusSeeOther || cookie(r, sessionCookie) != nil {
		t.Errorf("disabled bob logs in: %d", r.Code)
	}
	f.anonForm("/reset", url.Values{"who": {"bob"}})
	if r := f.sessionForm(admin, "/users/bob/reset-link", url.Values{}); r.Code != http.StatusConflict {
		t.Errorf("admin's reset link for disabled bob: %d, want 409", r.Code)
	}
	f.p.mailing.Wait()
	if m := rec.take(); len(m) != 0 {
		t.Errorf("disabled bob got mail: %+v", m)
	}
	if got, err := f.db.Ticket(t.Context(), tk.ID); err != nil || got.Author != "bob" {
		t.Errorf("bob's ticket after the disable: %+v %v", got, err)
	}
	// The last active admin cannot be disabled.
	if r := f.sessionForm(admin, "/users/alice/disable", url.Values{}); r.Code != http.StatusConflict {
		t.Errorf("disabling the last admin: %d, want 409", r.Code)
	}

	if r := f.sessionForm(admin, "/users/bob/enable", url.Values{}); r.Code != http.StatusSeeOther {
		t.Fatalf("POST /users/bob/enable: %d\n%s", r.Code, r.Body)
	}
	if r := f.anonForm("/login", url.Values{"login": {"bob"}, "password": {password["bob"]}}); r.Code != http.StatusSeeOther {
		t.Errorf("enabled bob cannot log in: %d\n%s", r.Code, r.Body)
	}
	if r := f.sessionForm(admin, "/users/bob/reset-link", url.Values{}); r.Code != 200 || !strings.Contains(r.Body.String(), "bob@example.net") {
		t.Errorf("admin's reset link for bob: %d\n%s", r.Code, r.Body)
	}
	f.p.mailing.Wait()
	if m := rec.take(); len(m) != 1 || m[0].To[0] != "bob@example.net" {
		t.Errorf("reset link mails: %+v", m)
	}
}

// rgpdFixture has tickets and comments of bob and of carol, crossed.
func rgpdFixture(t *testing.T) (*fixture, store.Ticket, store.Ticket) {
	f, _, _ := lifeFixture(t)
	ctx := t.Context()
	bobs, err := f.db.CreateTicket(ctx, store.NewTicket{Title: "Imprimante de Bob", Body: "Elle clignote.", Author: "bob"}, f.clock, true)
	if err != nil {
		t.Fatal(err)
	}
	carols, err := f.db.CreateTicket(ctx, store.NewTicket{Title: "Secret de Carole", Body: "Mon code est 1234.", Author: "carol"}, f.clock, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id           int64
		author, body string
	}{
		{bobs.ID, "tech1", "Redémarrez-la."},
		{carols.ID, "bob", "Moi aussi, Carole !"},
		{carols.ID, "carol", "Réponse privée de Carole."},
	} {
		if _, err := f.db.AddComment(ctx, store.Comment{TicketID: c.id, Author: c.author, Body: c.body}, f.clock, true); err != nil {
			t.Fatal(err)
		}
	}
	return f, bobs, carols
}

func TestRGPDExport(t *testing.T) {
	f, bobs, _ := rgpdFixture(t)
	bob := f.session("bob")
	r := f.do(withSession(req("GET", "/account/export", nil), bob))
	if r.Code != 200 || !strings.HasPrefix(r.Header().Get("Content-Disposition"), "attachment;") ||
		!strings.Contains(r.Header().Get("Content-Disposition"), "ruche-export-bob.json") {
		t.Fatalf("GET /account/export: %d %q\n%s", r.Code, r.Header().Get("Content-Disposition"), r.Body)
	}
	body := r.Body.String()
	var out rgpdExport
	if err := json.Unmarshal(r.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Pack == nil || out.Pack.Email != "bob@example.net" || out.Data.Login != "bob" || !out.Data.HasPassword {
		t.Errorf("profile: %+v %+v", out.Pack, out.Data)
	}
	if len(out.Data.Tickets) != 1 || out.Data.Tickets[0].ID != bobs.ID || len(out.Data.Tickets[0].Comments) != 1 {
		t.Errorf("tickets: %+v", out.Data.Tickets)
	}
	if len(out.Data.OtherComments) != 1 || out.Data.OtherComments[0].Body != "Moi aussi, Carole !" {
		t.Errorf("other comments: %+v", out.Data.OtherComments)
	}
	if len(out.Data.Sessions) != 1 {
		t.Errorf("sessions: %+v", out.Data.Sessions)
	}
	// Nothing of carol's but the ticket id bob commented on; no secret.
	for _, not := range []string{"Secret de Carole", "1234", "Réponse privée", "carol@example.net", bob, store.TokenID(bob), "$2"} {
		if strings.Contains(body, not) {
			t.Errorf("the export of bob contains %q:\n%s", not, body)
		}
	}
	// A member exports only their own; an admin anyone's.
	if r := f.do(withSession(req("GET", "/users/carol/export", nil), bob)); r.Code != 403 {
		t.Errorf("bob exports carol: %d, want 403", r.Code)
	}
	admin := f.session("alice")
	r = f.do(withSession(req("GET", "/users/carol/export", nil), admin))
	if r.Code != 200 || !strings.Contains(r.Body.String(), "Secret de Carole") {
		t.Errorf("admin exports carol: %d\n%s", r.Code, r.Body)
	}
}

func TestRGPDErase(t *testing.T) {
	f, bobs, carols := rgpdFixture(t)
	admin := f.session("alice")
	f.session("bob")
	if _, err := f.db.NewPasswordReset(t.Context(), "bob", f.clock, f.clock.Add(ResetLinkTTL)); err != nil {
		t.Fatal(err)
	}
	page := f.do(withSession(req("GET", "/users/bob/erase", nil), admin))
	if page.Code != 200 || !strings.Contains(page.Body.String(), "/users/bob/export") || !strings.Contains(page.Body.String(), "sauvegardes") {
		t.Fatalf("GET /users/bob/erase: %d\n%s", page.Code, page.Body)
	}
	if r := f.sessionForm(admin, "/users/alice/erase", url.Values{}); r.Code != http.StatusConflict {
		t.Errorf("erasing oneself: %d, want 409", r.Code)
	}
	r := f.sessionForm(admin, "/users/bob/erase", url.Values{})
	if r.Code != 200 || !strings.Contains(r.Body.String(), "ancien-membre-1") {
		t.Fatalf("POST /users/bob/erase: %d\n%s", r.Code, r.Body)
	}
	if _, ok := packUser(f.pack, "bob"); ok {
		t.Error("bob is still in the pack")
	}
	raw, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(provision.PackPath)))
	if strings.Contains(string(raw), "bob") || strings.Contains(string(raw), "Bob Durand") {
		t.Errorf("the live pack still names bob:\n%s", raw)
	}
	// The tickets stay, bob's words do not.
	got, err := f.db.Ticket(t.Context(), bobs.ID)
	if err != nil || got.Author != "ancien-membre-1" || got.Title != store.ErasedText {
		t.Errorf("bob's ticket: %+v %v", got, err)
	}
	if got, err := f.db.Ticket(t.Context(), carols.ID); err != nil || got.Title != "Secret de Carole" {
		t.Errorf("carol's ticket: %+v %v", got, err)
	}
	// Nothing in the export of the pseudonym names bob; the audit says
	// who erased, under the pseudonym.
	r = f.do(withSession(req("GET", "/users/ancien-membre-1/export", nil), admin))
	if r.Code != 200 {
		t.Fatalf("export of the pseudonym: %d\n%s", r.Code, r.Body)
	}
	for _, not := range []string{`"bob"`, "Bob Durand", "bob@example.net", "Imprimante de Bob", "Moi aussi"} {
		if strings.Contains(r.Body.String(), not) {
			t.Errorf("after the erasure, %q is still there:\n%s", not, r.Body)
		}
	}
	entries, err := f.db.AuditLog(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Action == store.AuditErase && e.Actor == "alice" && e.Detail == "ancien-membre-1" {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit entry of the erasure: %+v", entries)
	}
}

// resetToken adds a member without a password to the pack and returns a
// reset token for them (TestRoleMatrix: a well-formed /reset/{token}).
func (f *fixture) resetToken(login string) string {
	f.t.Helper()
	pk := *f.pack
	pk.Panel.Users = append(append([]provision.User(nil), f.pack.Panel.Users...), provision.User{Login: login, Role: provision.RoleMember})
	f.pack = &pk
	f.sync()
	tok, err := f.db.NewPasswordReset(f.t.Context(), login, f.clock, f.clock.Add(ResetLinkTTL))
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}
