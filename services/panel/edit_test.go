package panel

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/store"
)

// fixturePackYAML is testPack as the file every fixture's live pack starts
// from (with what a file must say: site templates, backup repositories
// and keep), plus a mail domain and an alias for the edit pages. Comments
// everywhere: edits must keep them. The sites' comments are the ones
// sites_test.go looks for.
const fixturePackYAML = `# Le pack du Café : ce commentaire doit survivre aux modifications.
# The Café's pack: this comment must survive the edits.
apiVersion: ruche/v1
kind: Pack
association:
  name: "Café d'ANAIS <&>"
  slug: cafe-anais # jamais changé / never changed
  locale: fr
box:
  hostname: cafe-anais
  tls: internal
wiki:
  enabled: true
  title: "Wiki du Café"
  domain: wiki.cafe-anais.org
sites:
  # La vitrine : le site principal.
  - name: vitrine
    template: showcase
    title: "Café d'ANAIS"
    domains: [cafe-anais.org]
  - name: fete-2026
    template: event
    title: "Fête de quartier"
    params: {date: "2026-06-21"}
mail:
  domains: [cafe-anais.org]
  aliases:
    # Le courrier du public va au bureau.
    - address: contact@cafe-anais.org
      to: [alice, bob@example.net] # alice : un identifiant du panneau
backup:
  password_secret: restic
  keep: {daily: 7}
  targets:
    - {name: usb, repository: /media/usb/restic, removable: true}
    - {name: support, repository: "sftp:ruche@backup.example.org:/srv/restic"}
panel:
  users:
    # Le bureau.
    - login: alice
      name: Alice Martin
      role: admin
      email: alice@example.org
    - {login: tech1, role: technician} # le technicien / the technician
    - login: bob
      name: Bob Durand
      role: member
# Fin du pack. / End of the pack.
`

// startEngine makes the fixture's live pack real: a provision.Engine on
// the fixture's root (no renderers, so no services: the live pack, its
// revisions and the database's users are all it writes) applies
// fixturePackYAML as revision 1, and the fixture's pack becomes the one
// loaded from the file. The backups' secret is there, as on a box.
func (f *fixture) startEngine() {
	f.t.Helper()
	secret := provision.SecretPath(f.root, "restic")
	if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("not a real restic password\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
	f.engine = &provision.Engine{Root: f.root, Store: f.db, Logger: slog.New(slog.DiscardHandler)}
	raw := []byte(fixturePackYAML)
	pk, err := provision.Load(f.livePath(), raw)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.engine.Apply(f.t.Context(), pk, raw, provision.ApplyOptions{Author: "test", Note: "fixture"}); err != nil {
		f.t.Fatal(err)
	}
	f.pack = pk
}

func (f *fixture) livePath() string {
	return filepath.Join(f.root, filepath.FromSlash(provision.PackPath))
}

// applyPack is the fixture's Options.ApplyPack: what the daemon's does
// (cmd/ruche/cli applyPanelPack), on the fixture's real engine: validate
// with provision.Load, refuse identical bytes, apply with the author and
// note, apply the previous pack again when the apply fails, and answer
// the new revision.
func (f *fixture) applyPack(ctx context.Context, raw []byte, author, note string) (provision.Revision, error) {
	pk, err := provision.Load(f.livePath(), raw)
	if err != nil {
		return provision.Revision{}, err
	}
	prevRaw, err := os.ReadFile(f.livePath())
	if err != nil {
		return provision.Revision{}, err
	}
	if bytes.Equal(raw, prevRaw) {
		return provision.Revision{}, ErrUnchanged
	}
	if _, err := f.engine.Apply(ctx, pk, raw, provision.ApplyOptions{Author: author, Note: note}); err != nil {
		if prev, perr := provision.Load(f.livePath(), prevRaw); perr == nil {
			if _, rerr := f.engine.Apply(ctx, prev, prevRaw, provision.ApplyOptions{Author: author, Note: "retour automatique / automatic rollback"}); rerr != nil {
				// As the daemon: said in the log, the edit's error
				// is the answer.
				f.t.Logf("rollback: %v", rerr)
			}
		}
		return provision.Revision{}, err
	}
	f.pack = pk
	revs, err := provision.ListRevisions(f.root)
	if err != nil || len(revs) == 0 {
		return provision.Revision{}, err
	}
	return revs[len(revs)-1], nil
}

// editMatrixTarget is the URL TestRoleMatrix calls for an edit route: the
// alias and user its own earlier requests created (matrice@, matrice-api@
// and matrice), so that deleting them leaves the fixture's own; revision 2,
// the matrix's first edit (POST /aliases), which differs from the live
// pack whatever came after, so that going back to it is a real change.
func editMatrixTarget(key, target string) string {
	switch key {
	case "GET /api/aliases/{address}", "PUT /api/aliases/{address}", "DELETE /api/aliases/{address}":
		target = strings.ReplaceAll(target, "{address}", "matrice-api@cafe-anais.org")
	}
	return strings.NewReplacer("{address}", "matrice@cafe-anais.org", "{login}", "matrice", "{n}", "2").Replace(target)
}

// The matrix's well-formed bodies for the edit routes.
var (
	editMatrixJSON = map[string]string{
		"POST /api/aliases":          `{"address":"matrice-api@cafe-anais.org","to":["alice"]}`,
		"PUT /api/aliases/{address}": `{"to":["bob@example.net","alice"]}`,
	}
	editMatrixForms = map[string]url.Values{
		"POST /aliases":           {"address": {"matrice@cafe-anais.org"}, "to": {"alice\r\nbob@example.net"}},
		"POST /aliases/{address}": {"to": {"bob@example.net"}},
		"POST /users":             {"login": {"matrice"}, "name": {"Mathilde Rice"}, "email": {"matrice@example.org"}, "role": {"member"}},
		"POST /users/{login}":     {"name": {"Mathilde Rice-Dupont"}, "email": {"matrice@example.org"}, "role": {"member"}},
	}
)

// revisions is the fixture's revisions, oldest first.
func (f *fixture) revisions() []provision.Revision {
	f.t.Helper()
	revs, err := provision.ListRevisions(f.root)
	if err != nil {
		f.t.Fatal(err)
	}
	return revs
}

// liveRaw is the live pack's bytes.
func (f *fixture) liveRaw() []byte {
	f.t.Helper()
	raw, err := os.ReadFile(f.livePath())
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// keepsComments fails the test for each comment line of fixturePackYAML
// the live pack lost, but those of what was removed (gone with it).
func (f *fixture) keepsComments(removed ...string) {
	f.t.Helper()
	live := string(f.liveRaw())
	n := 0
	for _, line := range strings.Split(fixturePackYAML, "\n") {
		_, comment, ok := strings.Cut(line, "#")
		if !ok || strings.Contains(line, `"`) && strings.Index(line, `"`) < strings.Index(line, "#") {
			continue
		}
		n++
		if !strings.Contains(live, "#"+comment) && !slices.Contains(removed, "#"+comment) {
			f.t.Errorf("the live pack lost the comment %q:\n%s", "#"+comment, live)
		}
	}
	if n < 8 {
		f.t.Fatalf("only %d comments checked", n)
	}
}

// lastRevision checks the newest revision: its number, author and that
// its note names what.
func (f *fixture) lastRevision(n int, author, what string) provision.Revision {
	f.t.Helper()
	revs := f.revisions()
	last := revs[len(revs)-1]
	if last.Number != n || last.Author != author || !strings.Contains(last.Note, what) {
		f.t.Fatalf("newest revision %+v, want number %d by %s about %q", last, n, author, what)
	}
	raw, _, err := provision.ReadRevision(f.root, n)
	if err != nil {
		f.t.Fatal(err)
	}
	if !bytes.Equal(raw, f.liveRaw()) {
		f.t.Fatalf("revision %d is not the live pack", n)
	}
	return last
}

// Aliases added, changed and deleted from the panel: each is a revision by
// the admin, the live pack has the change and keeps every comment, the
// list announces the revision, and the panel's pack follows.
func TestAliasEdits(t *testing.T) {
	f := newFixture(t, true)
	original := f.liveRaw()
	if revs := f.revisions(); len(revs) != 1 {
		t.Fatalf("the fixture starts with %d revisions, want 1", len(revs))
	}

	rec := f.adminForm("/aliases", url.Values{"address": {"bureau@cafe-anais.org"}, "to": {"alice\r\nclaire@example.org\r\n"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/aliases?rev=2" {
		t.Fatalf("add: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	f.lastRevision(2, "alice", "bureau@cafe-anais.org")
	f.keepsComments()
	if a, ok := findAlias(f.pack, "bureau@cafe-anais.org"); !ok || strings.Join(a.To, ",") != "alice,claire@example.org" {
		t.Fatalf("the panel's pack has %+v", a)
	}
	live := string(f.liveRaw())
	if !strings.Contains(live, "bureau@cafe-anais.org") || !strings.Contains(live, "claire@example.org") {
		t.Fatalf("the live pack lacks the alias:\n%s", live)
	}
	page := f.adminGet("/aliases?rev=2")
	if page.Code != 200 || !strings.Contains(page.Body.String(), "Révision 2 appliquée.") || !strings.Contains(page.Body.String(), "claire@example.org") {
		t.Fatalf("the list after the edit: %d\n%s", page.Code, page.Body)
	}

	rec = f.adminForm("/aliases/contact@cafe-anais.org", url.Values{"to": {"tech1@example.org"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/aliases?rev=3" {
		t.Fatalf("change: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	f.lastRevision(3, "alice", "contact@cafe-anais.org")
	f.keepsComments()
	if a, _ := findAlias(f.pack, "contact@cafe-anais.org"); strings.Join(a.To, ",") != "tech1@example.org" {
		t.Fatalf("after the change: %+v", a)
	}

	// The API, as the pages.
	tok := f.session("alice")
	rec = f.do(withSession(jsonReq("PUT", "/api/aliases/contact@cafe-anais.org", `{"to":["alice","bob@example.net"]}`), tok))
	if rec.Code != 200 {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	f.lastRevision(4, "alice", "contact@cafe-anais.org")
	rec = f.do(withSession(req("DELETE", "/api/aliases/bureau@cafe-anais.org", nil), tok))
	if rec.Code != 200 {
		t.Fatalf("DELETE: %d %s", rec.Code, rec.Body)
	}
	f.lastRevision(5, "alice", "bureau@cafe-anais.org")
	// Back to the recipients of the file: the pack is the original
	// again, byte for byte, comments and flow style included.
	if got := f.liveRaw(); !bytes.Equal(got, original) {
		t.Errorf("after undoing every edit the live pack differs from the original:\n%s\n---\n%s", got, original)
	}

	rec = f.adminForm("/aliases/contact@cafe-anais.org/delete", url.Values{})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", rec.Code, rec.Body)
	}
	f.lastRevision(6, "alice", "contact@cafe-anais.org")
	// The alias's own comments went with it; every other stays.
	f.keepsComments("# Le courrier du public va au bureau.", "# alice : un identifiant du panneau")
	if len(f.pack.Mail.Aliases) != 0 || strings.Contains(string(f.liveRaw()), "contact@cafe-anais.org") {
		t.Fatalf("the alias is still there:\n%s", f.liveRaw())
	}
	// Deleting it again: 404, nothing applied.
	if rec := f.adminForm("/aliases/contact@cafe-anais.org/delete", url.Values{}); rec.Code != http.StatusNotFound {
		t.Fatalf("delete again: %d", rec.Code)
	}
	if n := len(f.revisions()); n != 6 {
		t.Fatalf("%d revisions, want 6", n)
	}
}

// A change the pack refuses: the form again with the error in plain words
// and what was typed, the live pack untouched, no revision.
func TestAliasRefused(t *testing.T) {
	f := newFixture(t, true)
	before := f.liveRaw()
	for _, c := range []struct {
		name            string
		fields          url.Values
		code            int
		want, wantInput string
	}{
		{"outside the box's domains", url.Values{"address": {"info@autre-asso.org"}, "to": {"alice"}}, 422, "mail.aliases", "info@autre-asso.org"},
		{"a recipient that is neither", url.Values{"address": {"info@cafe-anais.org"}, "to": {"pas une adresse"}}, 422, "pas une adresse", "info@cafe-anais.org"},
		{"no recipient", url.Values{"address": {"info@cafe-anais.org"}, "to": {"\r\n"}}, 400, "au moins un destinataire", "info@cafe-anais.org"},
		{"an alias that exists", url.Values{"address": {"contact@cafe-anais.org"}, "to": {"alice"}}, 409, "existe déjà", "contact@cafe-anais.org"},
	} {
		rec := f.adminForm("/aliases", c.fields)
		body := rec.Body.String()
		if rec.Code != c.code || !strings.Contains(body, c.want) || !strings.Contains(body, `value="`+c.wantInput+`"`) {
			t.Errorf("%s: %d, want %d with %q and the input kept\n%s", c.name, rec.Code, c.code, c.want, body)
		}
		if strings.Contains(body, "pack.yaml:") {
			t.Errorf("%s: the error names the file's lines, which the admin never saw:\n%s", c.name, body)
		}
	}
	// The API says the same in JSON.
	rec := f.do(withSession(jsonReq("PUT", "/api/aliases/info@autre-asso.org", `{"to":["alice"]}`), f.session("alice")))
	if rec.Code != 422 || !strings.Contains(errorOf(t, rec), "mail.aliases") {
		t.Errorf("API: %d %s", rec.Code, rec.Body)
	}
	if !bytes.Equal(f.liveRaw(), before) || len(f.revisions()) != 1 {
		t.Fatalf("a refused change changed the pack or added a revision")
	}
}

// An apply that fails after the pack validated (here: another apply holds
// the box's lock, as a `ruche apply` running): the error is shown, the
// live pack stays as it was, no revision. The daemon's rollback of an
// apply failing half-way is tested in cmd/ruche/cli.
func TestEditApplyFails(t *testing.T) {
	f := newFixture(t, true)
	before := f.liveRaw()
	lock, err := provision.TryLock(f.root)
	if err != nil {
		t.Fatal(err)
	}
	rec := f.adminForm("/aliases", url.Values{"address": {"info@cafe-anais.org"}, "to": {"alice"}})
	lock.Unlock()
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), provision.ErrLocked.Error()) || !strings.Contains(rec.Body.String(), `value="info@cafe-anais.org"`) {
		t.Fatalf("%d\n%s", rec.Code, rec.Body)
	}
	if !bytes.Equal(f.liveRaw(), before) || len(f.revisions()) != 1 {
		t.Fatal("a failed apply changed the live pack or the revisions")
	}
	if _, ok := findAlias(f.pack, "info@cafe-anais.org"); ok {
		t.Fatal("the panel shows an alias that was not applied")
	}
	// Once the other apply is done, the same edit goes through.
	if rec := f.adminForm("/aliases", url.Values{"address": {"info@cafe-anais.org"}, "to": {"alice"}}); rec.Code != 303 {
		t.Fatalf("after the lock: %d\n%s", rec.Code, rec.Body)
	}
}

// A box whose daemon gives no ApplyPack refuses edits and says why.
func TestEditsOff(t *testing.T) {
	f := newFixture(t, true)
	f.p.opts.ApplyPack = nil
	rec := f.adminForm("/aliases", url.Values{"address": {"info@cafe-anais.org"}, "to": {"alice"}})
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "ruche apply") {
		t.Fatalf("%d\n%s", rec.Code, rec.Body)
	}
}

// Users: added as a revision (and in the database, by the apply), a
// one-time setup link for them, changed, removed with their tickets kept;
// the last admin can be neither demoted nor removed.
func TestUserEdits(t *testing.T) {
	f := newFixture(t, true)
	rec := f.adminForm("/users", url.Values{"login": {"carole"}, "name": {"Carole Petit"}, "email": {"carole@example.org"}, "role": {"member"}})
	if rec.Code != 303 || rec.Header().Get("Location") != "/users/carole?new=1&rev=2" {
		t.Fatalf("add: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	f.lastRevision(2, "alice", "carole")
	f.keepsComments()
	users, err := f.db.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(users, func(u store.User) bool { return u.Login == "carole" }) {
		t.Fatalf("the apply did not add carole to the database: %+v", users)
	}
	page := f.adminGet("/users/carole?new=1&rev=2")
	if page.Code != 200 || !strings.Contains(page.Body.String(), "/users/carole/setup-link") {
		t.Fatalf("the new user's page offers no setup link: %d\n%s", page.Code, page.Body)
	}

	// The setup link: shown once, never cached, and it works.
	rec = f.adminForm("/users/carole/setup-link", url.Values{})
	m := regexp.MustCompile(`http://panel\.localhost(/setup/[0-9A-Za-z_-]+)`).FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("setup link: %d %q\n%s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
	if got := f.do(req("GET", m[1], nil)); got.Code != 200 || !strings.Contains(got.Body.String(), "carole") {
		t.Fatalf("the setup link does not open carole's setup page: %d\n%s", got.Code, got.Body)
	}

	rec = f.adminForm("/users/carole", url.Values{"name": {"Carole Petit-Martin"}, "email": {""}, "role": {"technician"}})
	if rec.Code != 303 {
		t.Fatalf("change: %d\n%s", rec.Code, rec.Body)
	}
	f.lastRevision(3, "alice", "carole")
	if u, _ := packUser(f.pack, "carole"); u.Role != provision.RoleTechnician || u.Name != "Carole Petit-Martin" || u.Email != "" {
		t.Fatalf("after the change: %+v", u)
	}

	// The last admin: neither demoted nor removed; said before the click.
	before := f.liveRaw()
	rec = f.adminForm("/users/alice", url.Values{"name": {"Alice Martin"}, "email": {"alice@example.org"}, "role": {"member"}})
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), "alice") || !strings.Contains(rec.Body.String(), "dernier") {
		t.Fatalf("demoting the last admin: %d\n%s", rec.Code, rec.Body)
	}
	if rec := f.adminGet("/users/alice/delete"); rec.Code != 409 {
		t.Fatalf("the question before removing the last admin: %d", rec.Code)
	}
	if rec := f.adminForm("/users/alice/delete", url.Values{}); rec.Code != 409 {
		t.Fatalf("removing the last admin: %d\n%s", rec.Code, rec.Body)
	}
	if !bytes.Equal(f.liveRaw(), before) || len(f.revisions()) != 3 {
		t.Fatal("the last admin's protection let a change through")
	}
	// With a second admin, alice may step down.
	if rec := f.adminForm("/users/carole", url.Values{"name": {"Carole Petit-Martin"}, "role": {"admin"}}); rec.Code != 303 {
		t.Fatalf("carole admin: %d\n%s", rec.Code, rec.Body)
	}
	if rec := f.adminForm("/users/alice", url.Values{"name": {"Alice Martin"}, "email": {"alice@example.org"}, "role": {"member"}}); rec.Code != 303 {
		t.Fatalf("alice steps down: %d\n%s", rec.Code, rec.Body)
	}
	f.lastRevision(5, "alice", "alice")

	// Removed from the pack, their tickets stay.
	tk, err := f.db.CreateTicket(t.Context(), store.NewTicket{Title: "Le ticket de Bob", Author: "bob"}, f.clock, false)
	if err != nil {
		t.Fatal(err)
	}
	carole := f.session("carole")
	rec = f.do(withSession(form("/users/bob/delete", url.Values{csrfField: {csrfToken(carole)}}), carole))
	if rec.Code != 303 {
		t.Fatalf("remove bob: %d\n%s", rec.Code, rec.Body)
	}
	f.lastRevision(6, "carole", "bob")
	f.keepsComments()
	if _, ok := packUser(f.pack, "bob"); ok || strings.Contains(string(f.liveRaw()), "login: bob") {
		t.Fatalf("bob is still in the pack:\n%s", f.liveRaw())
	}
	if _, err := f.db.Ticket(t.Context(), tk.ID); err != nil {
		t.Fatalf("bob's ticket went with him: %v", err)
	}
}

// Revisions: the list (who, when, why), a page per revision with its diff
// (lines added and removed, as classes), and going back to one, which is a
// new revision of that one's bytes.
func TestRevisionsDiffAndBack(t *testing.T) {
	f := newFixture(t, true)
	first := f.liveRaw()
	if rec := f.adminForm("/aliases/contact@cafe-anais.org", url.Values{"to": {"claire@example.org"}}); rec.Code != 303 {
		t.Fatalf("edit: %d\n%s", rec.Code, rec.Body)
	}
	tech := f.session("tech1")
	list := f.do(withSession(req("GET", "/revisions", nil), tech))
	body := list.Body.String()
	if list.Code != 200 || !strings.Contains(body, "alice") || !strings.Contains(body, "fixture") || !strings.Contains(body, "contact@cafe-anais.org") {
		t.Fatalf("the list: %d\n%s", list.Code, body)
	}
	page := f.do(withSession(req("GET", "/revisions/2", nil), tech))
	body = page.Body.String()
	for _, want := range []string{
		`<span class="del">-      to: [alice, bob@example.net] # alice : un identifiant du panneau</span>`,
		`<span class="add">&#43;      to: [claire@example.org] # alice : un identifiant du panneau</span>`,
		`<span class="ctx">     - address: contact@cafe-anais.org</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("revision 2's page lacks %s\n%s", want, body)
		}
	}
	if strings.Contains(body, "/restore") {
		t.Error("a technician is offered to go back")
	}
	if rec := f.do(withSession(req("POST", "/revisions/1/restore", nil), tech)); rec.Code != 403 {
		t.Errorf("a technician going back: %d", rec.Code)
	}
	if rec := f.adminGet("/revisions/1"); !strings.Contains(rec.Body.String(), `href="/revisions/1/restore"`) {
		t.Errorf("the admin is not offered to go back to revision 1:\n%s", rec.Body)
	}
	if rec := f.adminGet("/revisions/2"); strings.Contains(rec.Body.String(), "/restore") {
		t.Errorf("going back to the live revision is offered")
	}
	if rec := f.adminGet("/revisions/9"); rec.Code != 404 {
		t.Errorf("an unknown revision: %d", rec.Code)
	}

	rec := f.adminForm("/revisions/1/restore", url.Values{})
	if rec.Code != 303 || rec.Header().Get("Location") != "/revisions?rev=3" {
		t.Fatalf("going back: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	f.lastRevision(3, "alice", "retour à la révision 1")
	if !bytes.Equal(f.liveRaw(), first) {
		t.Fatal("going back to revision 1 did not bring its pack back")
	}
	if a, _ := findAlias(f.pack, "contact@cafe-anais.org"); strings.Join(a.To, ",") != "alice,bob@example.net" {
		t.Fatalf("the panel's pack after going back: %+v", a)
	}
	// Going back to what is already live adds nothing and says so.
	rec = f.adminForm("/revisions/1/restore", url.Values{})
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), "aucune révision") || len(f.revisions()) != 3 {
		t.Fatalf("going back to the live pack: %d\n%s", rec.Code, rec.Body)
	}
	// The API lists them newest first.
	api := f.do(withSession(req("GET", "/api/revisions", nil), tech))
	var out struct{ Revisions []provision.Revision }
	if err := json.Unmarshal(api.Body.Bytes(), &out); err != nil || len(out.Revisions) != 3 || out.Revisions[0].Number != 3 {
		t.Fatalf("API: %v %s", err, api.Body)
	}
}
