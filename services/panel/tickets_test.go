package panel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// recorder is a provision.Notifier that keeps what it was asked to send:
// the seam between the panel and the box's mail.
type recorder struct {
	mu     sync.Mutex
	alerts []provision.Alert
}

func (r *recorder) Notify(_ context.Context, a provision.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	return nil
}

// take returns the alerts sent so far and forgets them.
func (r *recorder) take() []provision.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.alerts
	r.alerts = nil
	return out
}

// ticketFixture is the panel fixture with carol (a second member), e-mail
// addresses for bob and tech1, a second technician and a recording
// notifier.
func ticketFixture(t *testing.T) (*fixture, *recorder) {
	t.Helper()
	f := newFixture(t, true)
	pk := *f.pack
	pk.Panel.Users = []provision.User{
		{Login: "alice", Name: "Alice Martin", Role: provision.RoleAdmin, Email: "alice@example.org"},
		{Login: "tech1", Role: provision.RoleTechnician, Email: "tech1@support.example"},
		{Login: "tech2", Role: provision.RoleTechnician},
		{Login: "bob", Name: "Bob Durand", Role: provision.RoleMember, Email: "bob@example.net"},
		{Login: "carol", Role: provision.RoleMember, Email: "carol@example.net"},
	}
	f.pack = &pk
	f.sync()
	rec := &recorder{}
	f.p.opts.Notifier = rec
	return f, rec
}

// api calls the API as login (a script: no Origin, no token) and decodes
// the answer into out when given.
func (f *fixture) api(login, method, target, body string, out any) *httpResult {
	f.t.Helper()
	var r *http.Request
	if body != "" {
		r = jsonReq(method, target, body)
	} else {
		r = req(method, target, nil)
	}
	if login != "" {
		withSession(r, f.session(login))
	}
	rec := f.do(r)
	f.p.waitMail(f.t.Context())
	if out != nil && rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			f.t.Fatalf("%s %s: %v\n%s", method, target, err, rec.Body)
		}
	}
	return &httpResult{rec.Code, rec.Body.String()}
}

type httpResult struct {
	code int
	body string
}

// post sends a page's form as login, with the session's CSRF token.
func (f *fixture) post(login, target string, fields url.Values) *httpResult {
	f.t.Helper()
	tok := f.session(login)
	fields.Set(csrfField, csrfToken(tok))
	r := withSession(form(target, fields), tok)
	r.Header.Set("Accept", "text/html")
	rec := f.do(r)
	f.p.waitMail(f.t.Context())
	return &httpResult{rec.Code, rec.Body.String()}
}

func (f *fixture) get(login, target string) *httpResult {
	f.t.Helper()
	r := req("GET", target, nil)
	r.Header.Set("Accept", "text/html")
	if login != "" {
		withSession(r, f.session(login))
	}
	rec := f.do(r)
	return &httpResult{rec.Code, rec.Body.String()}
}

func idPath(prefix string, id int64, suffix string) string {
	return prefix + strconv.FormatInt(id, 10) + suffix
}

// A member never reads nor answers another member's ticket: 404, the
// same answer as for a ticket that does not exist, by page and by API.
func TestTicketsPrivate(t *testing.T) {
	f, _ := ticketFixture(t)
	var carols store.Ticket
	if r := f.api("carol", "POST", "/api/tickets", `{"title":"Mon ordinateur ne démarre plus","body":"Écran noir."}`, &carols); r.code != 201 {
		t.Fatalf("carol opens a ticket: %d %s", r.code, r.body)
	}
	var bobs store.Ticket
	f.api("bob", "POST", "/api/tickets", `{"title":"Le site est vide"}`, &bobs)
	missing := carols.ID + 100

	for _, c := range []struct {
		method, path, body string
	}{
		{"GET", idPath("/api/tickets/", carols.ID, ""), ""},
		{"POST", idPath("/api/tickets/", carols.ID, "/comments"), `{"body":"je lis ton ticket"}`},
	} {
		got := f.api("bob", c.method, c.path, c.body, nil)
		none := f.api("bob", c.method, strings.Replace(c.path, strconv.FormatInt(carols.ID, 10), strconv.FormatInt(missing, 10), 1), c.body, nil)
		if got.code != 404 || got.body != none.body || strings.Contains(got.body, "Écran") {
			t.Errorf("bob %s %s: %d %s; a missing ticket: %d %s", c.method, c.path, got.code, got.body, none.code, none.body)
		}
	}
	if r := f.get("bob", idPath("/tickets/", carols.ID, "")); r.code != 404 || strings.Contains(r.body, "démarre") {
		t.Errorf("bob GET carol's ticket page: %d", r.code)
	}
	if r := f.post("bob", idPath("/tickets/", carols.ID, "/comments"), url.Values{"body": {"coucou"}}); r.code != 404 {
		t.Errorf("bob comments carol's ticket by form: %d", r.code)
	}
	for _, bad := range []string{"abc", "0", "-1", "01", "9999999999999999999999"} {
		if r := f.api("bob", "GET", "/api/tickets/"+bad, "", nil); r.code != 404 {
			t.Errorf("GET /api/tickets/%s: %d, want 404", bad, r.code)
		}
	}
	if thread, _ := f.db.Comments(t.Context(), carols.ID); len(thread) != 0 {
		t.Errorf("bob's comments reached carol's ticket: %+v", thread)
	}

	// Lists: one's own for a member, all for staff.
	var list struct{ Tickets []store.Ticket }
	f.api("bob", "GET", "/api/tickets", "", &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != bobs.ID {
		t.Errorf("bob's list: %+v", list.Tickets)
	}
	f.api("tech1", "GET", "/api/tickets", "", &list)
	if len(list.Tickets) != 2 {
		t.Errorf("tech1's list: %d tickets, want 2", len(list.Tickets))
	}
	if r := f.get("bob", "/tickets"); r.code != 200 || !strings.Contains(r.body, "Le site est vide") || strings.Contains(r.body, "démarre") {
		t.Errorf("bob's list page: %d", r.code)
	}
	if r := f.get("tech1", idPath("/tickets/", carols.ID, "")); r.code != 200 || !strings.Contains(r.body, "Écran noir.") {
		t.Errorf("tech1 reads carol's ticket: %d", r.code)
	}
	// The member sees no diagnostic, staff do.
	var asBob, asTech map[string]any
	f.api("bob", "GET", idPath("/api/tickets/", bobs.ID, ""), "", &asBob)
	f.api("tech1", "GET", idPath("/api/tickets/", bobs.ID, ""), "", &asTech)
	if _, ok := asBob["diagnostic"]; ok {
		t.Error("a member sees the diagnostic")
	}
	if _, ok := asTech["diagnostic"]; !ok {
		t.Error("a technician does not see the diagnostic taken when the ticket was opened")
	}
	if r := f.get("bob", idPath("/tickets/", bobs.ID, "")); strings.Contains(r.body, "Diagnostic") || strings.Contains(r.body, `action="/tickets/`+strconv.FormatInt(bobs.ID, 10)+`"`) {
		t.Error("the member's ticket page shows the diagnostic or the staff form")
	}
}

// A ticket's life: opened by a member, assigned, answered with time spent,
// answered back, resolved; who is told at each step, and what the audit
// log keeps.
func TestTicketFlow(t *testing.T) {
	f, mail := ticketFixture(t)
	var tk store.Ticket
	r := f.api("bob", "POST", "/api/tickets", `{"title":"Plus de courriel","body":"Rien n'arrive depuis hier.","category":"mail","urgency":"high"}`, &tk)
	if r.code != 201 || tk.ID == 0 || tk.Status != "new" || tk.Category != "mail" || tk.Urgency != "high" || tk.Author != "bob" {
		t.Fatalf("open: %d %s", r.code, r.body)
	}
	id := strconv.FormatInt(tk.ID, 10)
	sent := mail.take()
	if len(sent) != 1 || sent[0].Kind != provision.AlertTicketOpened || sent[0].Key != id || len(sent[0].To) != 0 {
		t.Fatalf("on open: %+v, want one ticket-opened to the staff", sent)
	}
	for _, lang := range []i18n.Lang{i18n.FR, i18n.EN} {
		body := sent[0].Body.String(lang)
		if !strings.Contains(body, "http://panel.localhost/tickets/"+id) || !strings.Contains(body, "Rien n'arrive") {
			t.Errorf("opened mail (%s) lacks the link or the text:\n%s", lang, body)
		}
	}
	if s := sent[0].Subject.String(i18n.FR); s != "Ticket n°"+id+" ouvert par Bob Durand : Plus de courriel" {
		t.Errorf("subject (fr): %q", s)
	}
	if s := sent[0].Subject.String(i18n.EN); s != "Ticket #"+id+" opened by Bob Durand: Plus de courriel" {
		t.Errorf("subject (en): %q", s)
	}

	// Bad input.
	for _, body := range []string{`{"title":""}`, `{"title":"x","category":"printer"}`, `{"title":"x","urgency":"now"}`} {
		if r := f.api("bob", "POST", "/api/tickets", body, nil); r.code != 400 {
			t.Errorf("POST %s: %d, want 400", body, r.code)
		}
	}
	if r := f.api("bob", "POST", "/api/tickets/"+id+"/comments", `{"body":"j'ai passé 10 min","minutes":10}`, nil); r.code != 403 {
		t.Errorf("a member records time: %d, want 403", r.code)
	}

	// Assignment: to a technician only.
	if r := f.api("alice", "PATCH", "/api/tickets/"+id, `{"assignee":"bob"}`, nil); r.code != 400 {
		t.Errorf("assign to a member: %d, want 400", r.code)
	}
	var got store.Ticket
	if r := f.api("alice", "PATCH", "/api/tickets/"+id, `{"assignee":"tech1","status":"in_progress"}`, &got); r.code != 200 || got.Assignee != "tech1" || got.Status != "in_progress" {
		t.Fatalf("assign: %d %s", r.code, r.body)
	}

	// The technician answers with the time spent: bob is told.
	if r := f.api("tech1", "POST", "/api/tickets/"+id+"/comments", `{"body":"Le relais refusait le mot de passe, corrigé.","minutes":25}`, nil); r.code != 201 {
		t.Fatalf("tech1 answers: %d %s", r.code, r.body)
	}
	sent = mail.take()
	if len(sent) != 1 || sent[0].Kind != provision.AlertTicketAnswered || !slices.Equal(sent[0].To, []string{"bob@example.net"}) {
		t.Fatalf("on tech1's answer: %+v, want one ticket-answered to bob@example.net", sent)
	}
	if !strings.Contains(sent[0].Body.String(i18n.FR), "Le relais refusait") || !strings.Contains(sent[0].Body.String(i18n.EN), "http://panel.localhost/tickets/"+id) {
		t.Errorf("answered mail: %s", sent[0].Body.String(i18n.FR))
	}

	// Waiting for bob; bob's answer puts it back in progress, and tells
	// the assignee.
	f.api("tech1", "PATCH", "/api/tickets/"+id, `{"status":"waiting"}`, nil)
	if r := f.post("bob", "/tickets/"+id+"/comments", url.Values{"body": {"Ça remarche, merci !"}}); r.code != 303 {
		t.Fatalf("bob answers by form: %d %s", r.code, r.body)
	}
	sent = mail.take()
	if len(sent) != 1 || !slices.Equal(sent[0].To, []string{"tech1@support.example"}) {
		t.Fatalf("on bob's answer: %+v, want one to tech1", sent)
	}
	f.api("bob", "GET", "/api/tickets/"+id, "", &got)
	if got.Status != "in_progress" {
		t.Errorf("after the author's answer: status %s, want in_progress", got.Status)
	}

	// Time spent by the staff form, then resolved.
	if r := f.post("tech1", "/tickets/"+id, url.Values{"status": {"resolved"}, "assignee": {"tech1"}, "minutes": {"35"}}); r.code != 303 {
		t.Fatalf("staff form: %d %s", r.code, r.body)
	}
	var full struct {
		store.Ticket
		Comments []store.Comment
	}
	f.api("bob", "GET", "/api/tickets/"+id, "", &full)
	if full.Status != "resolved" || full.MinutesSpent != 60 || len(full.Comments) != 3 {
		t.Errorf("resolved: status %s, %d min, %d comments; want resolved, 60 min, 3", full.Status, full.MinutesSpent, len(full.Comments))
	}

	// Transitions refused: back to new, resolved to waiting; an unknown
	// status.
	for body, want := range map[string]int{`{"status":"new"}`: 409, `{"status":"waiting"}`: 409, `{"status":"closed"}`: 400, `{}`: 400} {
		if r := f.api("tech1", "PATCH", "/api/tickets/"+id, body, nil); r.code != want {
			t.Errorf("PATCH %s on a resolved ticket: %d, want %d (%s)", body, r.code, want, r.body)
		}
	}
	// Reopened.
	if r := f.api("tech1", "PATCH", "/api/tickets/"+id, `{"status":"in_progress"}`, nil); r.code != 200 {
		t.Errorf("reopen: %d", r.code)
	}
	// Refreshed diagnostic.
	if r := f.api("tech1", "POST", "/api/tickets/"+id+"/diagnostic", `{}`, nil); r.code != 201 || !strings.Contains(r.body, `"services"`) {
		t.Errorf("refresh diagnostic: %d %s", r.code, r.body)
	}

	// The audit log: every staff action, none of bob's.
	var audit struct{ Entries []store.AuditEntry }
	if r := f.api("tech1", "GET", "/api/audit", "", &audit); r.code != 200 {
		t.Fatalf("GET /api/audit: %d", r.code)
	}
	var lines []string
	for _, e := range audit.Entries {
		lines = append(lines, e.Actor+" "+e.Action+" "+e.Detail)
	}
	slices.Reverse(lines)
	want := []string{
		"alice status new → in_progress",
		"alice assign — → tech1",
		"tech1 comment 25 min",
		"tech1 status in_progress → waiting",
		"bob status waiting → in_progress", // the author's answer moved it
		"tech1 time 35 min",
		"tech1 status in_progress → resolved",
		"tech1 status resolved → in_progress",
		"tech1 diagnostic ",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("audit log:\n got %q\nwant %q", lines, want)
	}
	if r := f.get("alice", "/audit"); r.code != 200 || !strings.Contains(r.body, "attribution") || !strings.Contains(r.body, "in_progress → resolved") {
		t.Errorf("audit page: %d", r.code)
	}
	if r := f.api("bob", "GET", "/api/audit", "", nil); r.code != 403 {
		t.Errorf("a member reads the audit log: %d", r.code)
	}

	// Without a notifier nobody is told, and nothing fails.
	f.p.opts.Notifier = nil
	if r := f.api("carol", "POST", "/api/tickets", `{"title":"Sans courriel"}`, nil); r.code != 201 {
		t.Errorf("open without a notifier: %d", r.code)
	}
}

// The staff comment to a member without an e-mail address tells nobody;
// the author's comment on an unassigned ticket tells the staff.
func TestTicketNotifyFallbacks(t *testing.T) {
	f, mail := ticketFixture(t)
	pk := *f.pack
	pk.Panel.Users = slices.Clone(pk.Panel.Users)
	pk.Panel.Users[3].Email = "" // bob
	f.pack = &pk
	var tk store.Ticket
	f.api("bob", "POST", "/api/tickets", `{"title":"Question"}`, &tk)
	mail.take()
	id := strconv.FormatInt(tk.ID, 10)
	f.api("bob", "POST", "/api/tickets/"+id+"/comments", `{"body":"Précision"}`, nil)
	if sent := mail.take(); len(sent) != 1 || len(sent[0].To) != 0 {
		t.Errorf("author's comment, nobody assigned: %+v, want one to the staff", sent)
	}
	f.api("tech2", "POST", "/api/tickets/"+id+"/comments", `{"body":"Réponse"}`, nil)
	if sent := mail.take(); len(sent) != 0 {
		t.Errorf("answer to an author without e-mail: %+v, want none", sent)
	}
}

// The diagnostic keeps the tail of each service's log with secrets
// masked: a line holding a secret file's value, and password=... shapes.
func TestDiagnosticRedactsSecrets(t *testing.T) {
	f, _ := ticketFixture(t)
	pk := *f.pack
	pk.Backup.PasswordSecret = "restic"
	f.pack = &pk
	secrets := filepath.Join(f.root, provision.SecretsDir)
	os.MkdirAll(secrets, 0o700)
	os.WriteFile(filepath.Join(secrets, "restic"), []byte("correct horse battery staple\n"), 0o600)
	os.WriteFile(filepath.Join(secrets, "old-relay"), []byte("relay-s3cret\n"), 0o600)
	logs := filepath.Join(f.root, provision.LogDir)
	os.MkdirAll(logs, 0o755)
	var lines []string
	for i := range 30 {
		lines = append(lines, "line "+strconv.Itoa(i))
	}
	lines = append(lines,
		"restic: repository opened with correct horse battery staple",
		"auth failed for relay-s3cret@smtp",
		"connecting with password=hunter2 user=box",
		`config {"smtp_pass": "swordfish"} pass: opensesame`,
		"fatal: cannot bind :25",
	)
	os.WriteFile(filepath.Join(logs, "postfix.log"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)

	var tk store.Ticket
	f.api("bob", "POST", "/api/tickets", `{"title":"Le courriel ne part plus"}`, &tk)
	id := strconv.FormatInt(tk.ID, 10)
	var got struct{ Diagnostic Diagnostic }
	f.api("tech1", "GET", "/api/tickets/"+id, "", &got)
	raw := f.api("tech1", "GET", "/api/tickets/"+id, "", nil).body
	page := f.get("tech1", "/tickets/"+id).body
	for _, secret := range []string{"correct horse", "battery staple", "relay-s3cret", "hunter2", "swordfish", "opensesame"} {
		if strings.Contains(raw, secret) || strings.Contains(page, secret) {
			t.Errorf("the diagnostic shows %q", secret)
		}
	}
	var postfix *ServiceDiag
	for i := range got.Diagnostic.Services {
		if got.Diagnostic.Services[i].Name == "postfix" {
			postfix = &got.Diagnostic.Services[i]
		}
	}
	if postfix == nil {
		t.Fatalf("no postfix in the diagnostic: %+v", got.Diagnostic.Services)
	}
	if len(postfix.Log) != logTailLines || postfix.Log[len(postfix.Log)-1] != "fatal: cannot bind :25" || postfix.Log[0] != "line 15" {
		t.Errorf("postfix's log tail: %q", postfix.Log)
	}
	tail := strings.Join(postfix.Log, "\n")
	for _, want := range []string{masked, "password=*** user=box", `"smtp_pass": ***`, "pass: ***"} {
		if !strings.Contains(tail, want) {
			t.Errorf("log tail lacks %q:\n%s", want, tail)
		}
	}
	if got.Diagnostic.Clock == nil || len(got.Diagnostic.Disks) == 0 || len(got.Diagnostic.Backups) != 2 {
		t.Errorf("diagnostic lacks clock, disk or backups: %+v", got.Diagnostic)
	}
	if !strings.Contains(page, "fatal: cannot bind :25") || !strings.Contains(page, "Diagnostic de la box") {
		t.Errorf("the ticket page does not show the diagnostic")
	}
}

// The ticket pages render in both languages, with the checks of
// TestPagesRender (no script, every input labelled, no missing text).
func TestTicketPagesRender(t *testing.T) {
	f, _ := ticketFixture(t)
	writeBackupState(t, f.root)
	writeRevision(t, f.root)
	var tk store.Ticket
	f.api("bob", "POST", "/api/tickets", `{"title":"Imprimante <b>","body":"ligne 1\nligne 2"}`, &tk)
	id := strconv.FormatInt(tk.ID, 10)
	f.api("tech1", "POST", "/api/tickets/"+id+"/comments", `{"body":"Je regarde.","minutes":10}`, nil)
	f.api("tech1", "PATCH", "/api/tickets/"+id, `{"minutes":5}`, nil)
	for _, lang := range []string{"fr", "en"} {
		for _, c := range []struct{ name, login, path string }{
			{"list (member)", "bob", "/tickets"},
			{"list (staff)", "tech1", "/tickets?status=new"},
			{"new", "bob", "/tickets/new"},
			{"ticket (member)", "bob", "/tickets/" + id},
			{"ticket (staff)", "tech1", "/tickets/" + id},
			{"audit", "alice", "/audit"},
		} {
			r := req("GET", c.path, nil)
			r.AddCookie(&http.Cookie{Name: langCookie, Value: lang})
			r.Header.Set("Accept", "text/html")
			withSession(r, f.session(c.login))
			rec := f.do(r)
			body := rec.Body.String()
			if rec.Code != 200 {
				t.Errorf("%s/%s: %d\n%.500s", lang, c.name, rec.Code, body)
				continue
			}
			if i := strings.Index(body, "!"); i >= 0 {
				for _, m := range []string{"!tickets.", "!ticket.", "!status.", "!category.", "!urgency.", "!audit.", "!nav.", "!dash.", "!state.", "!level.", "!backup."} {
					if strings.Contains(body, m) {
						t.Errorf("%s/%s: missing text %s…", lang, c.name, m)
					}
				}
			}
			for _, bad := range []string{"<script", " style=", "<style", "javascript:", "<b>"} {
				if strings.Contains(body, bad) {
					t.Errorf("%s/%s: contains %q", lang, c.name, bad)
				}
			}
			for _, field := range []string{`<input id="`, `<select id="`, `<textarea id="`} {
				for _, part := range strings.Split(body, field)[1:] {
					name := part[:strings.Index(part, `"`)]
					if !strings.Contains(body, `<label for="`+name+`">`) {
						t.Errorf("%s/%s: %s%s\" has no label", lang, c.name, field, name)
					}
				}
			}
			if strings.Contains(body, "<form") && strings.Contains(body, `method="post"`) && !strings.Contains(body, `name="csrf" value="`) {
				t.Errorf("%s/%s: a form without its token", lang, c.name)
			}
		}
	}
	if body := f.get("tech1", "/tickets/"+id).body; !strings.Contains(body, "15 min") || !strings.Contains(body, "Imprimante &lt;b&gt;") {
		t.Errorf("ticket page lacks the total time or the escaped title")
	}
	// The new ticket form, sent: to the ticket's page.
	tok := f.session("bob")
	rec := f.do(withSession(form("/tickets", url.Values{csrfField: {csrfToken(tok)}, "title": {"Par le formulaire"}, "category": {"sites"}, "urgency": {"low"}}), tok))
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/tickets/") {
		t.Errorf("new ticket form: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = f.do(withSession(form("/tickets", url.Values{csrfField: {csrfToken(tok)}, "title": {""}}), tok))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "titre") {
		t.Errorf("new ticket form without a title: %d", rec.Code)
	}
	// Without the token: refused.
	rec = f.do(withSession(form("/tickets", url.Values{"title": {"x"}}), tok))
	if rec.Code != 403 {
		t.Errorf("new ticket form without its token: %d, want 403", rec.Code)
	}
}

// The ticket list pages by 50, newest first; a member's pages count only
// their own tickets; a bad page number is refused in words.
func TestTicketListPages(t *testing.T) {
	f, _ := ticketFixture(t)
	for i := range 62 {
		who := "bob"
		if i%4 == 0 {
			who = "carol"
		}
		if _, err := f.db.CreateTicket(t.Context(), store.NewTicket{Title: fmt.Sprintf("Ticket n°%d", i), Author: who}, f.clock, false); err != nil {
			t.Fatal(err)
		}
	}
	rows := func(body string) int { return strings.Count(body, `<th scope="row">`) }
	first := f.get("tech1", "/tickets")
	if first.code != 200 || rows(first.body) != ticketsPerPage || !strings.Contains(first.body, "Ticket n°61") || strings.Contains(first.body, "Ticket n°11<") {
		t.Fatalf("first page: %d, %d rows\n%.500s", first.code, rows(first.body), first.body)
	}
	if !strings.Contains(first.body, "Page 1 sur 2 (62 tickets)") || !strings.Contains(first.body, `href="/tickets?page=2"`) || strings.Contains(first.body, `rel="prev"`) {
		t.Errorf("first page's pager:\n%s", first.body[strings.Index(first.body, "</table>"):])
	}
	second := f.get("tech1", "/tickets?page=2")
	if second.code != 200 || rows(second.body) != 12 || !strings.Contains(second.body, "Ticket n°0<") || !strings.Contains(second.body, `href="/tickets?page=1"`) || strings.Contains(second.body, `rel="next"`) {
		t.Errorf("second page: %d, %d rows", second.code, rows(second.body))
	}
	// carol wrote 16 of them: one page, no pager.
	mine := f.get("carol", "/tickets")
	if rows(mine.body) != 16 || strings.Contains(mine.body, "Ticket n°1<") || strings.Contains(mine.body, `class="pager"`) {
		t.Errorf("carol's list: %d rows", rows(mine.body))
	}
	for _, bad := range []string{"0", "-1", "deux"} {
		if r := f.get("tech1", "/tickets?page="+bad); r.code != 400 || !strings.Contains(r.body, "page") {
			t.Errorf("page=%s: %d", bad, r.code)
		}
	}
	var out struct {
		Tickets []store.Ticket
		Total   int
	}
	if r := f.api("tech1", "GET", "/api/tickets?limit=5&offset=60", "", &out); r.code != 200 || len(out.Tickets) != 2 || out.Total != 62 {
		t.Errorf("API page: %d, %d tickets of %d", r.code, len(out.Tickets), out.Total)
	}
	if r := f.api("tech1", "GET", "/api/tickets?limit=x", "", nil); r.code != 400 {
		t.Errorf("API limit=x: %d", r.code)
	}
}
