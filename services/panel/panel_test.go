package panel

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// fixture is a panel on a real database under a temporary root, with the
// pack's users alice (admin), tech1 (technician) and bob (member), their
// passwords set, and a clock the test moves.
type fixture struct {
	t      *testing.T
	p      *Panel
	db     *store.DB
	pack   *provision.Pack
	root   string
	clock  time.Time
	health Health
	lang   i18n.Lang
	// passwordChanged counts the calls of Options.PasswordChanged.
	passwordChanged int
	// engine applies the live pack (edit_test.go): Options.ApplyPack
	// is a real provision.Engine on root, without services.
	engine *provision.Engine
	// actions are the dashboard's actions' daemon side (actions_test.go).
	actions fakeActions
}

// Logins of the fixture by role, and their passwords.
var (
	loginOf  = map[string]string{provision.RoleAdmin: "alice", provision.RoleTechnician: "tech1", provision.RoleMember: "bob"}
	password = map[string]string{"alice": "alice's password", "tech1": "tech1's password", "bob": "bob's password"}
)

func testPack() *provision.Pack {
	return &provision.Pack{
		Association: provision.Association{Name: "Café d'ANAIS <&>", Slug: "cafe-anais", Locale: "fr"},
		Box:         provision.Box{Hostname: "cafe-anais", TLS: "internal"},
		Wiki:        provision.Wiki{Enabled: true, Title: "Wiki du Café", Domain: "wiki.cafe-anais.org"},
		Sites: []provision.Site{
			{Name: "vitrine", Title: "Café d'ANAIS", Domains: []string{"cafe-anais.org"}},
			{Name: "fete-2026", Title: "Fête de quartier"},
		},
		Backup: provision.Backup{Targets: []provision.BackupTarget{{Name: "usb", Removable: true}, {Name: "support"}}},
		Panel: provision.Panel{Users: []provision.User{
			{Login: "alice", Name: "Alice Martin", Role: provision.RoleAdmin, Email: "alice@example.org"},
			{Login: "tech1", Role: provision.RoleTechnician},
			{Login: "bob", Name: "Bob Durand", Role: provision.RoleMember},
		}},
	}
}

func newFixture(t *testing.T, withPasswords bool) *fixture {
	t.Helper()
	root := t.TempDir()
	db, err := store.Open(t.Context(), store.Path(root))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The clock starts a minute ahead of the real one: passwords are
	// stamped by the database's real clock, and a session opened before
	// its password was set would be ended.
	f := &fixture{t: t, db: db, pack: testPack(), root: root, lang: i18n.FR,
		clock: time.Now().UTC().Truncate(time.Second).Add(time.Minute)}
	f.startEngine()
	f.sync()
	if withPasswords {
		for login, pw := range password {
			if err := db.SetPassword(t.Context(), login, []byte(pw)); err != nil {
				t.Fatal(err)
			}
		}
	}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ruche_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	f.p = New(Options{
		Lang:       func() i18n.Lang { return f.lang },
		Health:     func() Health { return f.health },
		Gatherer:   reg,
		Version:    "v0.1.0-test",
		DB:         db,
		Pack:       func() *provision.Pack { return f.pack },
		Root:       root,
		CACertPath: filepath.Join(root, "ca", "root.crt"),
		Services: func() []provision.ServiceStatus {
			return []provision.ServiceStatus{
				{Name: "postfix", State: provision.StateRunning, PID: 42, Since: f.clock.Add(-time.Hour)},
				{Name: "php-fpm", State: provision.StateBackoff, Restarts: 3, LastExit: "exit status 255"},
			}
		},
		Listen:          []string{"127.0.0.1:8080", "127.0.0.1:8443"},
		PasswordChanged: func(ctx context.Context) { f.passwordChanged++ },
		ApplyPack:       f.applyPack,
		Log:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		RestartService:  f.actions.restart,
		BackupNow:       f.actions.backupNow,
		DrillNow:        f.actions.drillNow,
	})
	f.p.now = func() time.Time { return f.clock }
	return f
}

// sync mirrors the fixture's pack users into the database, as apply does.
func (f *fixture) sync() {
	f.t.Helper()
	if _, err := f.db.SyncUsers(f.t.Context(), f.pack.Panel.Users); err != nil {
		f.t.Fatal(err)
	}
}

// session opens a session for login directly in the database (no bcrypt)
// and returns its token.
func (f *fixture) session(login string) string {
	f.t.Helper()
	tok, err := f.db.NewSession(f.t.Context(), login, f.clock)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// req is a request to the panel as a browser on the LAN sends it: Host
// panel.localhost, from 192.168.1.20.
func req(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Host = "panel.localhost"
	r.RemoteAddr = "192.168.1.20:50000"
	return r
}

// form is a form POST with its fields (and its CSRF token among them).
func form(target string, fields url.Values) *http.Request {
	r := req("POST", target, strings.NewReader(fields.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// jsonReq is an API request with a JSON body.
func jsonReq(method, target, body string) *http.Request {
	r := req(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// withSession adds a session cookie to r.
func withSession(r *http.Request, token string) *http.Request {
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	return r
}

func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.p.ServeHTTP(rec, r)
	return rec
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not {\"error\": ...}: %v\n%s", err, rec.Body)
	}
	return body["error"]
}

// cookie returns the Set-Cookie of name in rec, nil when none.
func cookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// anonToken gets the anonymous CSRF token of the login page.
func (f *fixture) anonToken() string {
	f.t.Helper()
	rec := f.do(req("GET", "/login", nil))
	c := cookie(rec, anonCookie)
	if c == nil {
		f.t.Fatalf("GET /login set no %s cookie", anonCookie)
	}
	if !strings.Contains(rec.Body.String(), `name="csrf" value="`+c.Value+`"`) {
		f.t.Fatalf("the login form does not carry the cookie's token")
	}
	return c.Value
}

// withAnon adds the anonymous CSRF cookie to r.
func withAnon(r *http.Request, token string) *http.Request {
	r.AddCookie(&http.Cookie{Name: anonCookie, Value: token})
	return r
}

// setupToken adds a new admin without a password to the pack and returns
// a setup token for them.
func (f *fixture) setupToken(login string) string {
	f.t.Helper()
	pk := *f.pack
	pk.Panel.Users = append(append([]provision.User(nil), f.pack.Panel.Users...), provision.User{Login: login, Role: provision.RoleAdmin})
	f.pack = &pk
	f.sync()
	tok, err := f.db.NewSetupToken(f.t.Context(), login, f.clock, f.clock.Add(SetupLinkTTL))
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

var roles = []string{"anonymous", provision.RoleMember, provision.RoleTechnician, provision.RoleAdmin}

// TestRoleMatrix calls every route of the router's table as every role and
// anonymous, with a well-formed request (CSRF token included), and checks
// the status. A route without a line here fails the test: a new route
// cannot be added without saying who may call it.
func TestRoleMatrix(t *testing.T) {
	f := newFixture(t, true)
	f.enableSites() // sites_test.go: templates, preview, uploads folder
	f.enableMatrixUploads()
	type cell struct {
		anon, member, tech, admin int
	}
	want := map[string]cell{
		"GET /":               {302, 200, 200, 200},
		"GET /login":          {200, 302, 302, 302},
		"POST /login":         {303, 303, 303, 303},
		"POST /logout":        {303, 303, 303, 303},
		"GET /setup/{token}":  {200, 200, 200, 200},
		"POST /setup/{token}": {303, 303, 303, 303},
		"GET /account":        {302, 200, 200, 200},
		"POST /lang":          {303, 303, 303, 303},
		"GET /assets/{file}":  {200, 200, 200, 200},
		"GET /healthz":        {200, 200, 200, 200},
		"GET /metrics":        {200, 200, 200, 200},
		"GET /ca":             {200, 200, 200, 200},
		"GET /ca.crt":         {200, 200, 200, 200},
		"POST /api/session":   {200, 200, 200, 200},
		"GET /api/session":    {401, 200, 200, 200},
		"DELETE /api/session": {401, 204, 204, 204},
		"GET /api/status":     {401, 403, 200, 200},
		"GET /history":        {302, 403, 200, 200},
		"GET /api/usage":      {401, 403, 200, 200},

		// The dashboard's actions (actions_test.go).
		"POST /services/{name}/restart":     {303, 403, 303, 303},
		"POST /api/services/{name}/restart": {401, 403, 204, 204},
		"POST /backups":                     {303, 403, 303, 303},
		"POST /api/backups":                 {401, 403, 202, 202},
		"POST /backups/drill":               {303, 403, 303, 303},
		"POST /api/backups/drill":           {401, 403, 202, 202},

		// Tickets: {id} is a ticket of bob, the member (the matrix's own
		// ticket); TestTicketsPrivate checks another member's.
		"GET /tickets":                      {302, 200, 200, 200},
		"POST /tickets":                     {303, 303, 303, 303},
		"GET /tickets/new":                  {302, 200, 200, 200},
		"GET /tickets/{id}":                 {302, 200, 200, 200},
		"POST /tickets/{id}":                {303, 403, 303, 303},
		"POST /tickets/{id}/comments":       {303, 303, 303, 303},
		"POST /tickets/{id}/diagnostic":     {303, 403, 303, 303},
		"GET /audit":                        {302, 403, 200, 200},
		"GET /api/tickets":                  {401, 200, 200, 200},
		"POST /api/tickets":                 {401, 201, 201, 201},
		"GET /api/tickets/{id}":             {401, 200, 200, 200},
		"PATCH /api/tickets/{id}":           {401, 403, 200, 200},
		"POST /api/tickets/{id}/comments":   {401, 201, 201, 201},
		"POST /api/tickets/{id}/diagnostic": {401, 403, 201, 201},
		"GET /api/audit":                    {401, 403, 200, 200},

		// Panel edits (edit_test.go: editMatrixTarget names the alias,
		// user and revision): aliases and users for admins, revisions
		// read by staff and gone back to by admins.
		"GET /aliases":                   {302, 403, 403, 200},
		"POST /aliases":                  {303, 403, 403, 303},
		"GET /aliases/{address}":         {302, 403, 403, 200},
		"POST /aliases/{address}":        {303, 403, 403, 303},
		"GET /api/aliases":               {401, 403, 403, 200},
		"POST /api/aliases":              {401, 403, 403, 201},
		"GET /api/aliases/{address}":     {401, 403, 403, 200},
		"PUT /api/aliases/{address}":     {401, 403, 403, 200},
		"GET /aliases/{address}/delete":  {302, 403, 403, 200},
		"POST /aliases/{address}/delete": {303, 403, 403, 303},
		"DELETE /api/aliases/{address}":  {401, 403, 403, 200},
		"GET /users":                     {302, 403, 403, 200},
		"POST /users":                    {303, 403, 403, 303},
		"GET /api/users":                 {401, 403, 403, 200},
		"GET /users/{login}":             {302, 403, 403, 200},
		"POST /users/{login}":            {303, 403, 403, 303},
		"POST /users/{login}/setup-link": {303, 403, 403, 200},
		"GET /users/{login}/delete":      {302, 403, 403, 200},
		"POST /users/{login}/delete":     {303, 403, 403, 303},
		"GET /revisions":                 {302, 403, 200, 200},
		"GET /api/revisions":             {401, 403, 200, 200},
		"GET /revisions/{n}":             {302, 403, 200, 200},
		"GET /revisions/{n}/restore":     {302, 403, 403, 200},
		"POST /revisions/{n}/restore":    {303, 403, 403, 303},

		// Sites (sites_test.go): {site} is vitrine, except what removes
		// a site, a page or a file (the matrix's own: siteMatrixTarget).
		// The uploads routes get no file from the matrix (400, 415):
		// TestSiteUploads sends them.
		"GET /sites":                        {302, 403, 200, 200},
		"POST /sites":                       {303, 403, 403, 303},
		"GET /sites/{site}":                 {302, 403, 403, 200},
		"POST /sites/{site}":                {303, 403, 403, 303},
		"GET /sites/{site}/remove":          {302, 403, 403, 200},
		"POST /sites/{site}/remove":         {303, 403, 403, 303},
		"GET /sites/{site}/page":            {302, 403, 403, 200},
		"POST /sites/{site}/page":           {303, 403, 403, 303},
		"GET /sites/{site}/page/delete":     {302, 403, 403, 200},
		"POST /sites/{site}/page/delete":    {303, 403, 403, 303},
		"POST /sites/{site}/uploads":        {303, 403, 403, 400},
		"GET /sites/{site}/uploads/delete":  {302, 403, 403, 200},
		"POST /sites/{site}/uploads/delete": {303, 403, 403, 303},
		"GET /sites/{site}/files/{file}":    {302, 403, 403, 200},
		"GET /api/sites":                    {401, 403, 200, 200},
		"POST /api/sites":                   {401, 403, 403, 201},
		"GET /api/site-templates":           {401, 403, 403, 200},
		"GET /api/sites/{site}":             {401, 403, 403, 200},
		"PATCH /api/sites/{site}":           {401, 403, 403, 200},
		"DELETE /api/sites/{site}":          {401, 403, 403, 200},
		"POST /api/sites/{site}/pages":      {401, 403, 403, 201},
		"DELETE /api/sites/{site}/pages":    {401, 403, 403, 200},
		"POST /api/sites/{site}/preview":    {401, 403, 403, 200},
		"GET /api/sites/{site}/uploads":     {401, 403, 403, 200},
		"POST /api/sites/{site}/uploads":    {401, 403, 403, 415},
		"DELETE /api/sites/{site}/uploads":  {401, 403, 403, 200},

		// Account lifecycle (lifecycle_test.go): reset links and exports.
		"GET /reset":                     {200, 200, 200, 200},
		"POST /reset":                    {303, 303, 303, 303},
		"GET /reset/{token}":             {200, 200, 200, 200},
		"POST /reset/{token}":            {303, 303, 303, 303},
		"GET /account/export":            {302, 200, 200, 200},
		"POST /users/{login}/reset-link": {303, 403, 403, 200},
		"GET /users/{login}/export":      {302, 403, 403, 200},
		"GET /users/{login}/enable":      {302, 403, 403, 200},
		"POST /users/{login}/enable":     {303, 403, 403, 303},
		"GET /users/{login}/disable":     {302, 403, 403, 200},
		"POST /users/{login}/disable":    {303, 403, 403, 303},
		"GET /users/{login}/erase":       {302, 403, 403, 200},
		"POST /users/{login}/erase":      {303, 403, 403, 200},
	}
	// A well-formed body for each state-changing ticket route.
	jsonBodies := map[string]string{
		"POST /api/tickets":                 `{"title":"Le wiki est lent","body":"Depuis ce matin.","category":"wiki","urgency":"high"}`,
		"PATCH /api/tickets/{id}":           `{"status":"in_progress","assignee":"tech1"}`,
		"POST /api/tickets/{id}/comments":   `{"body":"Une précision."}`,
		"POST /api/tickets/{id}/diagnostic": `{}`,
		"POST /api/sites":                   `{"name":"matrice-api","title":"Matrice","template":"showcase"}`,
		"PATCH /api/sites/{site}":           `{"title":"Le Café d'ANAIS","params":{"phone":"04 72 00 00 00"}}`,
		"POST /api/sites/{site}/pages":      `{"path":"/matrice-api","title":"Matrice","body":"Une *page*."}`,
		"POST /api/sites/{site}/preview":    `{"body":"Une *page*."}`,
	}
	formFields := map[string]url.Values{
		"POST /tickets":                     {"title": {"L'imprimante"}, "body": {"Elle clignote."}, "category": {"computer"}, "urgency": {"normal"}},
		"POST /tickets/{id}":                {"status": {"in_progress"}, "assignee": {"tech1"}, "minutes": {"5"}},
		"POST /tickets/{id}/comments":       {"body": {"Merci."}},
		"POST /sites":                       {"name": {"matrice"}, "title": {"Matrice"}, "template": {"showcase"}},
		"POST /sites/{site}":                {"title": {"Café d'ANAIS (matrice)"}},
		"POST /sites/{site}/page":           {"path": {"/matrice"}, "title": {"Matrice"}, "body": {"Une **page**."}, "action": {"save"}},
		"POST /sites/{site}/page/delete":    {"path": {"/matrice"}},
		"POST /sites/{site}/uploads/delete": {"file": {"matrice.png"}},
	}
	writeTestCA(t, f.p.opts.CACertPath)
	bobs, err := f.db.CreateTicket(t.Context(), store.NewTicket{Title: "Ticket de la matrice", Author: "bob"}, f.clock, false)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	n := 0
	for _, rt := range f.p.routes {
		key := rt.method + " " + rt.pattern
		if seen[key] {
			t.Errorf("route %s declared twice", key)
		}
		seen[key] = true
		exp, ok := want[key]
		if !ok {
			t.Errorf("route %s (%s) has no line in the role matrix", key, rt.access)
			continue
		}
		for i, role := range roles {
			n++
			wantCode := []int{exp.anon, exp.member, exp.tech, exp.admin}[i]
			login := loginOf[role]
			// A well-formed request for the route, as this role.
			target := strings.NewReplacer("{token}", "", "{file}", "panel.css", "{id}", strconv.FormatInt(bobs.ID, 10)).Replace(rt.pattern)
			target = editMatrixTarget(key, target)
			if strings.Contains(rt.pattern, "{token}") && !strings.HasPrefix(rt.pattern, "/reset/") {
				target += f.setupToken(strings.ReplaceAll(role, "anonymous", "anon") + "-" + strings.ToLower(rt.method))
			}
			if strings.HasPrefix(rt.pattern, "/reset/") { // lifecycle_test.go
				target = "/reset/" + f.resetToken("reset-"+strings.ReplaceAll(role, "anonymous", "anon")+"-"+strings.ToLower(rt.method))
			}
			if key == "POST /users/{login}/reset-link" && f.p.opts.Notifier == nil {
				f.p.opts.Notifier = &recorder{} // the link goes by mail (tickets_test.go)
			}
			target = siteMatrixTarget(key, target) // sites_test.go
			// actions_test.go: a service the fixture supervises.
			target = strings.ReplaceAll(target, "{name}", "postfix")
			fields := url.Values{}
			var r *http.Request
			switch {
			case rt.pattern == "/api/session" && rt.method == "POST":
				who := login
				if who == "" {
					who = "bob"
				}
				r = jsonReq("POST", target, `{"login":"`+who+`","password":"`+password[who]+`"}`)
			case jsonBodies[key] != "":
				r = jsonReq(rt.method, target, jsonBodies[key])
			case editMatrixJSON[key] != "":
				r = jsonReq(rt.method, target, editMatrixJSON[key])
			case rt.method == "POST":
				for k, v := range formFields[key] {
					fields[k] = v
				}
				for k, v := range editMatrixForms[key] {
					fields[k] = v
				}
				switch rt.pattern {
				case "/login":
					who := login
					if who == "" {
						who = "tech1"
					}
					fields.Set("login", who)
					fields.Set("password", password[who])
				case "/lang":
					fields.Set("lang", "en")
					fields.Set("next", "/account")
				case "/reset":
					fields.Set("who", cmp.Or(login, "nobody"))
				case "/setup/{token}", "/reset/{token}":
					fields.Set("password", "a long enough password")
					fields.Set("confirm", "a long enough password")
				}
				r = form(target, fields)
			default:
				r = req(rt.method, target, nil)
			}
			if rt.pattern == "/metrics" {
				r.RemoteAddr = "127.0.0.1:40000"
			}
			var token string
			if login != "" {
				token = f.session(login)
				withSession(r, token)
			}
			if rt.method != "GET" {
				if login != "" {
					if rt.pattern == "/api/session" {
						r.Header.Set(csrfHeader, csrfToken(token))
					} else {
						fields.Set(csrfField, csrfToken(token))
					}
				} else {
					fields.Set(csrfField, "anon-token-0123456789-0123456789-0123456789")
					withAnon(r, fields.Get(csrfField))
				}
				if r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
					body := fields.Encode()
					r.Body = io.NopCloser(strings.NewReader(body))
					r.ContentLength = int64(len(body))
				}
			}
			rec := f.do(r)
			if rec.Code != wantCode {
				t.Errorf("%s as %s: %d, want %d\n%.300s", key, role, rec.Code, wantCode, rec.Body)
			}
			switch {
			case rec.Code == 401 || rec.Code == 403:
				if errorOf(t, rec) == "" {
					t.Errorf("%s as %s: %d without an error message", key, role, rec.Code)
				}
			case rec.Code == 302 && wantCode == 302 && login == "":
				if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/login") {
					t.Errorf("%s as anonymous: redirected to %q, want the login page", key, loc)
				}
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("the role matrix names %s, which the router does not have", key)
		}
	}
	t.Logf("%d routes × %d roles = %d requests", len(f.p.routes), len(roles), n)
}

// Every route is declared with who may call it, and with a handler.
func TestRouteTable(t *testing.T) {
	p := New(Options{})
	for _, rt := range p.routes {
		if rt.handle == nil {
			t.Errorf("%s %s: no handler", rt.method, rt.pattern)
		}
		if !rt.access.public && len(rt.access.roles) == 0 {
			t.Errorf("%s %s: no role may call it", rt.method, rt.pattern)
		}
		if rt.noToken && (safeMethod(rt.method) || !rt.access.public) {
			t.Errorf("%s %s: noToken is for public state-changing routes only", rt.method, rt.pattern)
		}
		t.Logf("%-6s %-20s %s", rt.method, rt.pattern, rt.access)
	}
}

func TestCrossSiteRefused(t *testing.T) {
	f := newFixture(t, true)
	tok := f.session("alice")
	csrf := csrfToken(tok)
	logout := func() *http.Request {
		return withSession(form("/logout", url.Values{csrfField: {csrf}}), tok)
	}
	for _, c := range []struct {
		name   string
		header map[string]string
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"Sec-Fetch-Site same-site (a site of the farm)", map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"foreign Origin", map[string]string{"Origin": "http://evil.example"}},
		{"Origin of a site of the box", map[string]string{"Origin": "http://vitrine.localhost"}},
		{"Origin with another port", map[string]string{"Origin": "http://panel.localhost:9999"}},
		{"null Origin", map[string]string{"Origin": "null"}},
	} {
		for _, r := range []*http.Request{
			logout(),
			withAnon(form("/login", url.Values{"login": {"alice"}, "password": {password["alice"]}, csrfField: {"t"}}), "t"),
			jsonReq("POST", "/api/session", `{"login":"alice","password":"alice's password"}`),
			withSession(req("DELETE", "/api/session", nil), tok),
		} {
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			if r.Method == "DELETE" {
				r.Header.Set(csrfHeader, csrf)
			}
			rec := f.do(r)
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s: %s %s = %d, want 403", c.name, r.Method, r.URL.Path, rec.Code)
			}
			if cookie(rec, sessionCookie) != nil && rec.Code == 403 {
				t.Errorf("%s: a refused request set a session cookie", c.name)
			}
		}
	}
	// Nothing was done: alice's session is alive.
	if rec := f.do(withSession(req("GET", "/api/session", nil), tok)); rec.Code != 200 {
		t.Fatalf("alice's session after the refused requests: %d", rec.Code)
	}
	// Same origin passes.
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "same-origin"},
		{"Origin": "http://panel.localhost"},
		{}, // an old browser sending neither, with the token
	} {
		tok := f.session("alice")
		r := withSession(form("/logout", url.Values{csrfField: {csrfToken(tok)}}), tok)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		if rec := f.do(r); rec.Code != http.StatusSeeOther {
			t.Errorf("same-origin logout %v: %d, want 303", h, rec.Code)
		}
	}
}

func TestCSRFTokens(t *testing.T) {
	f := newFixture(t, true)
	tok := f.session("alice")
	anon := f.anonToken()
	for _, c := range []struct {
		name string
		r    *http.Request
		want int
	}{
		{"logout without token", withSession(form("/logout", nil), tok), 403},
		{"logout with a wrong token", withSession(form("/logout", url.Values{csrfField: {"x" + csrfToken(tok)[1:]}}), tok), 403},
		{"logout with another session's token", withSession(form("/logout", url.Values{csrfField: {csrfToken(f.session("bob"))}}), tok), 403},
		{"logout with the anonymous token", withAnon(withSession(form("/logout", url.Values{csrfField: {anon}}), tok), anon), 403},
		{"logout with the token in the query", withSession(form("/logout?csrf="+csrfToken(tok), nil), tok), 403},
		{"login without token", form("/login", url.Values{"login": {"alice"}, "password": {password["alice"]}}), 403},
		{"login with a token but no cookie", form("/login", url.Values{"login": {"alice"}, "password": {password["alice"]}, csrfField: {anon}}), 403},
		{"login with a token not the cookie's", withAnon(form("/login", url.Values{"login": {"alice"}, "password": {password["alice"]}, csrfField: {anon}}), "other"), 403},
		{"lang without token", form("/lang", url.Values{"lang": {"en"}}), 403},
		{"login with the anonymous token", withAnon(form("/login", url.Values{"login": {"alice"}, "password": {password["alice"]}, csrfField: {anon}}), anon), 303},
		{"lang with the session's token", withSession(form("/lang", url.Values{"lang": {"en"}, csrfField: {csrfToken(tok)}}), tok), 303},
	} {
		if rec := f.do(c.r); rec.Code != c.want {
			t.Errorf("%s: %d, want %d\n%.200s", c.name, rec.Code, c.want, rec.Body)
		} else if c.want == 403 && errorOf(t, rec) != msgBadToken.In(i18n.FR) {
			t.Errorf("%s: error %q", c.name, errorOf(t, rec))
		}
	}

	// The API: a browser (Origin or Sec-Fetch-Site sent) must carry the
	// header; a script sending neither passes on its cookie (DESIGN.md).
	del := func(h map[string]string) int {
		tok := f.session("tech1")
		r := withSession(req("DELETE", "/api/session", nil), tok)
		for k, v := range h {
			if v == "TOKEN" {
				v = csrfToken(tok)
			}
			r.Header.Set(k, v)
		}
		return f.do(r).Code
	}
	for _, c := range []struct {
		h    map[string]string
		want int
	}{
		{map[string]string{"Sec-Fetch-Site": "same-origin"}, 403},
		{map[string]string{"Origin": "http://panel.localhost"}, 403},
		{map[string]string{"Sec-Fetch-Site": "same-origin", csrfHeader: "TOKEN"}, 204},
		{map[string]string{csrfHeader: "wrong"}, 403},
		{map[string]string{csrfHeader: "TOKEN"}, 204},
		{map[string]string{}, 204},
	} {
		if got := del(c.h); got != c.want {
			t.Errorf("DELETE /api/session %v: %d, want %d", c.h, got, c.want)
		}
	}

	// The API takes JSON only: a cross-site form of an old browser
	// (text/plain, urlencoded) cannot log anyone in.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		r := req("POST", "/api/session", strings.NewReader(`{"login":"alice","password":"alice's password"}`))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		if rec := f.do(r); rec.Code != http.StatusUnsupportedMediaType || cookie(rec, sessionCookie) != nil {
			t.Errorf("POST /api/session as %q: %d, want 415 and no session", ct, rec.Code)
		}
	}
}

func TestHostChecked(t *testing.T) {
	f := newFixture(t, true)
	for _, host := range []string{
		"panel.localhost", "panel.localhost:8080", "panel.localhost:8443", "PANEL.localhost.",
		"cafe-anais.local", "Cafe-Anais.Local:8080",
		"127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8443", "127.0.0.2",
	} {
		r := req("GET", "/healthz", nil)
		r.Host = host
		if rec := f.do(r); rec.Code != 200 {
			t.Errorf("Host %q: %d, want 200", host, rec.Code)
		}
	}
	for _, host := range []string{
		"evil.example", "evil.example:8080", "panel.localhost.evil.example", "cafe-anais.local.evil.example",
		"wiki-cafe-anais.local", "vitrine.localhost", "other.local", "localhost", "cafe-anais.org",
		"panel.localhost:9999", "cafe-anais.local:80:80", "8.8.8.8", "192.0.2.77:8080", "[2001:db8::1]", "",
	} {
		for _, path := range []string{"/healthz", "/login", "/api/status", "/metrics"} {
			r := req("GET", path, nil)
			r.Host = host
			r.RemoteAddr = "127.0.0.1:1"
			rec := f.do(r)
			if rec.Code != http.StatusMisdirectedRequest {
				t.Errorf("Host %q %s: %d, want 421", host, path, rec.Code)
				continue
			}
			if got := errorOf(t, rec); got != msgBadHost.In(i18n.FR) {
				t.Errorf("Host %q: error %q", host, got)
			}
		}
	}
	// POST /api/session under a rebinding attacker's name: no password is
	// even looked at.
	r := jsonReq("POST", "/api/session", `{"login":"alice","password":"alice's password"}`)
	r.Host = "evil.example"
	if rec := f.do(r); rec.Code != http.StatusMisdirectedRequest || cookie(rec, sessionCookie) != nil {
		t.Errorf("login under a foreign Host: %d", rec.Code)
	}
}

// The box's own address, as the connection's local address, is accepted;
// another IP is not.
func TestHostBoxAddress(t *testing.T) {
	f := newFixture(t, false)
	srv := httptest.NewServer(f.p)
	defer srv.Close()
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	for host, want := range map[string]int{
		"127.0.0.1:" + port: 200,
		"panel.localhost":   200,
		"10.9.8.7:" + port:  421,
		"127.0.0.1:1":       421, // neither the connection's port nor a listened one
	} {
		r, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
		r.Host = host
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

func TestLoginThrottled(t *testing.T) {
	f := newFixture(t, true)
	login := func(who, pw, remote string) *httptest.ResponseRecorder {
		r := jsonReq("POST", "/api/session", `{"login":"`+who+`","password":"`+pw+`"}`)
		r.RemoteAddr = remote
		return f.do(r)
	}
	const me = "192.168.1.20:1"
	for i := range loginFreeFailures {
		if rec := login("alice", "wrong", me); rec.Code != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, rec.Code)
		}
	}
	// Now each attempt waits: 1 s, then 2 s, then 4 s...
	for _, wait := range []int{1, 2, 4, 8} {
		for _, pw := range []string{"wrong", password["alice"]} {
			rec := login("alice", pw, me)
			if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != itoa(wait) {
				t.Fatalf("throttled (%s): %d Retry-After %q, want 429 and %d", pw, rec.Code, rec.Header().Get("Retry-After"), wait)
			}
			if !strings.Contains(errorOf(t, rec), "trop d'essais") {
				t.Errorf("429 error: %q", errorOf(t, rec))
			}
		}
		// The same login from another address waits too: the login is
		// throttled, not only the address.
		if rec := login("ALICE ", "wrong", "192.168.1.99:1"); rec.Code != http.StatusTooManyRequests {
			t.Errorf("alice from elsewhere: %d, want 429", rec.Code)
		}
		f.clock = f.clock.Add(time.Duration(wait) * time.Second)
		if rec := login("alice", "wrong", me); rec.Code != 401 {
			t.Fatalf("after waiting %d s: %d, want 401", wait, rec.Code)
		}
	}
	// The delay stops growing at 15 minutes.
	for range 20 {
		f.clock = f.clock.Add(throttleMax)
		login("alice", "wrong", me)
	}
	if w := f.p.byLogin.wait("alice", f.clock); w != throttleMax {
		t.Errorf("longest wait: %v, want %v", w, throttleMax)
	}
	// Once the wait is over, the right password works and clears the
	// login's count.
	f.clock = f.clock.Add(throttleMax)
	if rec := login("alice", password["alice"], me); rec.Code != 200 {
		t.Fatalf("right password after the wait: %d\n%s", rec.Code, rec.Body)
	}
	// (From another address: this one still has its own failures.)
	if rec := login("alice", "wrong", "192.168.1.21:1"); rec.Code != 401 {
		t.Errorf("after a success the login's count starts again: %d, want 401", rec.Code)
	}
	if rec := login("alice", "wrong", me); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the address's count is not cleared by a success: %d, want 429", rec.Code)
	}

	// Per address: one machine trying many logins.
	const scanner = "192.168.1.66:1"
	for i := range addrFreeFailures {
		if rec := login("user"+itoa(i), "wrong", scanner); rec.Code != 401 {
			t.Fatalf("address failure %d: %d, want 401", i+1, rec.Code)
		}
	}
	if rec := login("bob", password["bob"], scanner); rec.Code != http.StatusTooManyRequests {
		t.Errorf("address over its failures: %d, want 429", rec.Code)
	}
	if rec := login("bob", password["bob"], "192.168.1.67:1"); rec.Code != 200 {
		t.Errorf("another address: %d, want 200", rec.Code)
	}
	// IPv6: the /64 is one client.
	for i := range addrFreeFailures {
		login("user"+itoa(i), "wrong", "[2001:db8:1:2::"+itoa(i+1)+"]:1")
	}
	if rec := login("bob", password["bob"], "[2001:db8:1:2::ffff]:1"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("another address of the same /64: %d, want 429", rec.Code)
	}

	// The login form is throttled the same way.
	anon := f.anonToken()
	r := withAnon(form("/login", url.Values{"login": {"bob"}, "password": {password["bob"]}, csrfField: {anon}}), anon)
	r.RemoteAddr = scanner
	if rec := f.do(r); rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "trop d&#39;essais") {
		t.Errorf("login form while throttled: %d", rec.Code)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestThrottleBounded(t *testing.T) {
	th := newThrottle(1)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range throttleEntries + 500 {
		th.fail("k"+itoa(i), now.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(th.m); n > throttleEntries {
		t.Errorf("%d entries, want at most %d", n, throttleEntries)
	}
	// The newest keys are kept, the oldest went.
	if th.wait("k"+itoa(throttleEntries+499), now.Add(time.Hour/2)) != 0 && th.m["k0"] != nil {
		t.Error("the oldest key was kept")
	}
	// Stale keys are forgotten.
	if w := th.wait("k10499", now.Add(2*throttleForget)); w != 0 {
		t.Errorf("after %v: wait %v", 2*throttleForget, w)
	}
	// The delays: 1 s after the free failures, doubling, at most 15 min
	// (2^10 s is past it).
	th = newThrottle(5)
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, 0}, {4, 0}, {5, time.Second}, {6, 2 * time.Second}, {10, 32 * time.Second}, {14, 512 * time.Second}, {15, throttleMax}, {400, throttleMax}} {
		if got := th.delayAfter(c.n); got != c.want {
			t.Errorf("delay after %d failures: %v, want %v", c.n, got, c.want)
		}
	}
}

// TestSetupLink: the link `ruche up` prints sets the first admin's
// password once, logs them in, and expires.
func TestSetupLink(t *testing.T) {
	f := newFixture(t, false)
	var out strings.Builder
	if err := PrintSetupLink(t.Context(), &out, i18n.EN, f.db, f.pack, []string{"http://panel.localhost:8080/", "https://panel.localhost:8443/"}); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`sets the password of alice: http://panel\.localhost:8080/setup/([A-Za-z0-9_-]{43})  https://panel\.localhost:8443/setup/([A-Za-z0-9_-]{43})\n$`).FindStringSubmatch(out.String())
	if m == nil || m[1] != m[2] {
		t.Fatalf("setup link line: %q", out.String())
	}
	token := m[1]
	path := "/setup/" + token

	rec := f.do(req("GET", path, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `value="alice"`) || !strings.Contains(rec.Body.String(), `autocomplete="new-password"`) {
		t.Fatalf("GET setup page: %d\n%s", rec.Code, rec.Body)
	}
	anon := cookie(rec, anonCookie).Value
	post := func(pw, confirm string) *httptest.ResponseRecorder {
		return f.do(withAnon(form(path, url.Values{"password": {pw}, "confirm": {confirm}, csrfField: {anon}}), anon))
	}
	if rec := post("short", "short"); rec.Code != 400 || !strings.Contains(rec.Body.String(), "trop court : 5 caractères, il en faut au moins 10") {
		t.Errorf("short password: %d\n%s", rec.Code, rec.Body)
	}
	if rec := post("nine char", "nine char"); rec.Code != 400 {
		t.Errorf("9 characters: %d, want 400", rec.Code)
	}
	if rec := post("a long enough password", "a long enough passwort"); rec.Code != 400 || !strings.Contains(rec.Body.String(), "diffèrent") {
		t.Errorf("different confirmation: %d", rec.Code)
	}
	if rec := post(strings.Repeat("é", 40), strings.Repeat("é", 40)); rec.Code != 400 || !strings.Contains(rec.Body.String(), "trop long") {
		t.Errorf("password past bcrypt's 72 bytes: %d", rec.Code)
	}
	rec = post("dix caractères", "dix caractères")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("setup: %d %q, want 303 to /\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	sc := cookie(rec, sessionCookie)
	if sc == nil {
		t.Fatal("setup did not log the admin in")
	}
	if f.passwordChanged != 1 {
		t.Errorf("PasswordChanged called %d times, want 1", f.passwordChanged)
	}
	if rec := f.do(withSession(req("GET", "/", nil), sc.Value)); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Tableau de bord") {
		t.Errorf("dashboard after setup: %d", rec.Code)
	}
	if _, err := f.db.CheckPassword(t.Context(), "alice", []byte("dix caractères")); err != nil {
		t.Errorf("password not set: %v", err)
	}
	// Used once.
	if rec := f.do(req("GET", path, nil)); rec.Code != 404 {
		t.Errorf("GET a used link: %d, want 404", rec.Code)
	}
	if rec := post("another password!", "another password!"); rec.Code != 404 {
		t.Errorf("POST a used link: %d, want 404", rec.Code)
	}
	// An admin has a password now: no link is printed any more.
	out.Reset()
	if err := PrintSetupLink(t.Context(), &out, i18n.FR, f.db, f.pack, []string{"http://x/"}); err != nil || out.Len() != 0 {
		t.Errorf("with an admin's password set: %q, %v; want nothing", out.String(), err)
	}

	// Expiry: an hour.
	f2 := newFixture(t, false)
	out.Reset()
	PrintSetupLink(t.Context(), &out, i18n.FR, f2.db, f2.pack, []string{"http://panel.localhost/"})
	m = regexp.MustCompile(`définit celui de alice : http://panel\.localhost/setup/(\S+)\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("French setup line: %q", out.String())
	}
	f2.clock = time.Now().Add(SetupLinkTTL - time.Minute)
	if rec := f2.do(req("GET", "/setup/"+m[1], nil)); rec.Code != 200 {
		t.Errorf("59 minutes later: %d, want 200", rec.Code)
	}
	f2.clock = time.Now().Add(SetupLinkTTL + time.Second)
	if rec := f2.do(req("GET", "/setup/"+m[1], nil)); rec.Code != 404 {
		t.Errorf("an hour later: %d, want 404", rec.Code)
	}
	for _, bad := range []string{"nope", strings.Repeat("A", 43), token} {
		if rec := f2.do(req("GET", "/setup/"+bad, nil)); rec.Code != 404 {
			t.Errorf("GET /setup/%s: %d, want 404", bad, rec.Code)
		}
	}
}

// The setup link never goes to the systemd journal.
func TestSetupLinkNotInJournal(t *testing.T) {
	f := newFixture(t, false)
	file, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	fi, _ := file.Stat()
	st := fi.Sys().(*syscall.Stat_t)
	t.Setenv("JOURNAL_STREAM", itoa(int(st.Dev))+":"+itoa(int(st.Ino)))
	if err := PrintSetupLink(t.Context(), file, i18n.EN, f.db, f.pack, []string{"http://panel.localhost/"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file.Name())
	if strings.Contains(string(data), "/setup/") || !strings.Contains(string(data), `ruche user passwd alice`) {
		t.Errorf("journal got %q", data)
	}
}

func TestSessionCookie(t *testing.T) {
	f := newFixture(t, true)
	for _, overTLS := range []bool{false, true} {
		r := jsonReq("POST", "/api/session", `{"login":"bob","password":"bob's password"}`)
		name := sessionCookie
		if overTLS {
			r.TLS = &tls.ConnectionState{}
			name = "__Host-" + sessionCookie
		}
		rec := f.do(r)
		if rec.Code != 200 {
			t.Fatalf("login (TLS %v): %d", overTLS, rec.Code)
		}
		c := cookie(rec, name)
		if c == nil {
			t.Fatalf("TLS %v: no %s cookie in %v", overTLS, name, rec.Header()["Set-Cookie"])
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure != overTLS {
			t.Errorf("TLS %v: cookie %+v: want HttpOnly, SameSite=Lax, Path=/, no Domain, Secure only under TLS", overTLS, c)
		}
		if c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("TLS %v: cookie has Max-Age %d / Expires %v: want a browser-session cookie", overTLS, c.MaxAge, c.Expires)
		}
		if len(c.Value) != 43 {
			t.Errorf("session token %q: want 256 bits in base64url", c.Value)
		}
		// The database has the hash only.
		s, err := f.db.LookupSession(t.Context(), c.Value)
		if err != nil || s.ID != store.TokenID(c.Value) || s.ID == c.Value {
			t.Errorf("session row: %+v, %v", s, err)
		}
		// The other scheme's cookie name is not read: an HTTP cookie does
		// not open an HTTPS session.
		r2 := req("GET", "/api/session", nil)
		r2.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.Value})
		if !overTLS {
			r2.TLS = &tls.ConnectionState{}
		}
		if rec := f.do(r2); overTLS && rec.Code != 200 || !overTLS && rec.Code != 401 {
			t.Errorf("TLS %v: cookie read under the other scheme's name: %d", overTLS, rec.Code)
		}
	}
}

func TestSessionLifetime(t *testing.T) {
	f := newFixture(t, true)
	get := func(tok string) int { return f.do(withSession(req("GET", "/api/session", nil), tok)).Code }

	// Idle: two hours without use end it.
	tok := f.session("bob")
	f.clock = f.clock.Add(DefaultIdleTimeout - time.Second)
	if got := get(tok); got != 200 {
		t.Fatalf("used just before the idle timeout: %d", got)
	}
	f.clock = f.clock.Add(DefaultIdleTimeout - time.Second)
	if got := get(tok); got != 200 {
		t.Fatalf("use restarts the idle timeout: %d", got)
	}
	f.clock = f.clock.Add(DefaultIdleTimeout)
	rec := f.do(withSession(req("GET", "/account", nil), tok))
	if rec.Code != 302 || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Errorf("idle session: %d, want a redirect to the login page", rec.Code)
	}
	if c := cookie(rec, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("an ended session's cookie is not cleared: %+v", c)
	}
	if _, err := f.db.LookupSession(t.Context(), tok); err == nil {
		t.Error("the idle session is still in the database")
	}

	// Absolute: twelve hours, however used.
	tok = f.session("bob")
	start := f.clock
	for f.clock.Sub(start) < DefaultMaxSessionAge-time.Hour {
		f.clock = f.clock.Add(time.Hour)
		if got := get(tok); got != 200 {
			t.Fatalf("%v into the session: %d", f.clock.Sub(start), got)
		}
	}
	f.clock = start.Add(DefaultMaxSessionAge)
	if got := get(tok); got != 401 {
		t.Errorf("after %v: %d, want 401", DefaultMaxSessionAge, got)
	}
}

// The role is the live pack's at every request; a user the pack drops, or
// whose password changed, loses their sessions.
func TestSessionFollowsPack(t *testing.T) {
	f := newFixture(t, true)
	status := func(tok string) int { return f.do(withSession(req("GET", "/api/status", nil), tok)).Code }
	bob := f.session("bob")
	if got := status(bob); got != 403 {
		t.Fatalf("bob (member) on /api/status: %d", got)
	}
	pk := testPack()
	pk.Panel.Users[2].Role = provision.RoleTechnician
	f.pack = pk
	if got := status(bob); got != 200 {
		t.Errorf("bob made technician in the pack: %d, want 200 with the same session", got)
	}
	pk = testPack()
	pk.Panel.Users[0].Role = provision.RoleMember
	f.pack = pk
	alice := f.session("alice")
	if got := status(alice); got != 403 {
		t.Errorf("alice made member: %d, want 403", got)
	}

	// Removed from the pack: the session ends at once, before any apply.
	pk = testPack()
	pk.Panel.Users = pk.Panel.Users[:2]
	f.pack = pk
	if got := status(bob); got != 401 {
		t.Errorf("bob removed from the pack: %d, want 401", got)
	}
	if _, err := f.db.LookupSession(t.Context(), bob); err == nil {
		t.Error("the removed user's session is still in the database")
	}

	// A new password (ruche user passwd) ends the sessions opened before.
	f.pack = testPack()
	f.clock = time.Now().Add(-time.Hour)
	tech := f.session("tech1")
	if err := f.db.SetPassword(t.Context(), "tech1", []byte("a new password")); err != nil {
		t.Fatal(err)
	}
	// SetPassword stamps with the real clock: move the panel's past it.
	f.clock = time.Now().Add(time.Minute)
	if got := status(tech); got != 401 {
		t.Errorf("session older than the password: %d, want 401", got)
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t, true)
	tok := f.session("alice")
	rec := f.do(withSession(form("/logout", url.Values{csrfField: {csrfToken(tok)}}), tok))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if c := cookie(rec, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", c)
	}
	if _, err := f.db.LookupSession(t.Context(), tok); err == nil {
		t.Error("logout left the session in the database")
	}
	if rec := f.do(withSession(req("GET", "/api/status", nil), tok)); rec.Code != 401 {
		t.Errorf("the old cookie after logout: %d, want 401", rec.Code)
	}
	// The API's logout.
	tok = f.session("alice")
	if rec := f.do(withSession(req("DELETE", "/api/session", nil), tok)); rec.Code != 204 {
		t.Errorf("DELETE /api/session: %d", rec.Code)
	}
	if rec := f.do(withSession(req("GET", "/api/session", nil), tok)); rec.Code != 401 {
		t.Errorf("after DELETE /api/session: %d, want 401", rec.Code)
	}
}

func TestAPISession(t *testing.T) {
	f := newFixture(t, true)
	rec := f.do(jsonReq("POST", "/api/session", `{"login":"alice","password":"alice's password"}`))
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var s sessionJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	tok := cookie(rec, sessionCookie).Value
	if s.Login != "alice" || s.Role != "admin" || s.Name != "Alice Martin" || s.CSRFToken != csrfToken(tok) {
		t.Errorf("POST /api/session: %+v", s)
	}
	if strings.Contains(rec.Body.String(), tok) {
		t.Error("the session token is in the body: it belongs in the HttpOnly cookie only")
	}
	rec = f.do(withSession(req("GET", "/api/session", nil), tok))
	if !strings.Contains(rec.Body.String(), `"csrf_token": "`+s.CSRFToken+`"`) {
		t.Errorf("GET /api/session: %s", rec.Body)
	}

	for _, c := range []struct {
		body, accept string
		code         int
		msg          string
	}{
		{`{"login":"alice","password":"wrong"}`, "", 401, "identifiant ou mot de passe incorrect"},
		{`{"login":"nobody","password":"wrong"}`, "", 401, "identifiant ou mot de passe incorrect"},
		{`{"login":"alice","password":"wrong"}`, "en-GB,en;q=0.9", 401, "wrong login or password"},
		{`{"login":"alice"}`, "", 400, "identifiant et mot de passe sont nécessaires"},
		{`{"login":`, "en", 400, "unreadable JSON: unexpected EOF"},
		{``, "", 400, "JSON illisible : unexpected EOF"},
	} {
		r := jsonReq("POST", "/api/session", c.body)
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		rec := f.do(r)
		if rec.Code != c.code || errorOf(t, rec) != c.msg || cookie(rec, sessionCookie) != nil {
			t.Errorf("POST /api/session %s: %d %q, want %d %q", c.body, rec.Code, errorOf(t, rec), c.code, c.msg)
		}
	}
	// Without a session, in the language asked for.
	r := req("GET", "/api/status", nil)
	r.Header.Set("Accept-Language", "en")
	if rec := f.do(r); rec.Code != 401 || errorOf(t, rec) != "login required" {
		t.Errorf("GET /api/status without session: %d %s", rec.Code, rec.Body)
	}
}

func TestAPIStatus(t *testing.T) {
	f := newFixture(t, true)
	f.health = Health{Checks: map[string]Check{"apply": {OK: false, Message: "sites[0]: boom"}, "service:postfix": {OK: true}}}
	writeRevision(t, f.root)
	writeBackupState(t, f.root)
	rec := f.do(withSession(req("GET", "/api/status", nil), f.session("tech1")))
	if rec.Code != 200 {
		t.Fatalf("GET /api/status: %d %s", rec.Code, rec.Body)
	}
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Healthy || st.Apply.OK || st.Apply.Error != "sites[0]: boom" {
		t.Errorf("health and apply: %+v %+v", st.Healthy, st.Apply)
	}
	if len(st.Services) != 2 || st.Services[0].Name != "php-fpm" || st.Services[0].State != provision.StateBackoff || st.Services[1].PID != 42 {
		t.Errorf("services: %+v", st.Services)
	}
	if len(st.Disks) == 0 || st.Disks[0].Path != f.root || st.Disks[0].TotalBytes == 0 || st.Disks[0].Level == "" {
		t.Errorf("disks: %+v", st.Disks)
	}
	if st.Revision == nil || st.Revision.Number != 3 || st.Revision.Author != "alice" {
		t.Errorf("revision: %+v", st.Revision)
	}
	if len(st.Backups) != 2 || st.Backups[0].Target != "usb" || st.Backups[0].LastStatus != "ok" || st.Backups[0].LastSnapshot != "abcd1234" ||
		st.Backups[1].Target != "support" || st.Backups[1].LastStatus != "failed" || st.Backups[1].Error != "dépôt injoignable" {
		t.Errorf("backups: %+v", st.Backups)
	}
	for _, secret := range []string{"password", "hash", "alice@example.org", "sftp:"} {
		if strings.Contains(rec.Body.String(), secret) {
			t.Errorf("/api/status shows %q", secret)
		}
	}
}

// writeRevision writes revision 3 of the pack, as apply records it.
func writeRevision(t *testing.T, root string) {
	t.Helper()
	dir := filepath.Join(root, provision.RevisionsDir)
	os.MkdirAll(dir, 0o755)
	meta := `{"number":3,"time":"2026-02-28T18:30:00Z","author":"alice","sha256":"x"}`
	if err := os.WriteFile(filepath.Join(dir, "000003.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "000003.yaml"), []byte("apiVersion: ruche/v1\n"), 0o644)
}

// writeBackupState writes the backups' state file: usb succeeded, support
// failed.
func writeBackupState(t *testing.T, root string) {
	t.Helper()
	path := filepath.Join(root, "var/lib/ruche/backup/state.json")
	os.MkdirAll(filepath.Dir(path), 0o700)
	state := `{"targets":{
		"usb":{"repository":"/media/usb","last_attempt":"2026-03-01T02:30:00Z","last_status":"ok","last_success":"2026-03-01T02:31:00Z","last_snapshot":"abcd1234"},
		"support":{"repository":"sftp:ruche@backup.example.org:/srv","last_attempt":"2026-03-01T02:32:00Z","last_status":"failed","last_error":{"fr":"dépôt injoignable","en":"repository unreachable"}}}}`
	if err := os.WriteFile(path, []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDashboardAndHome(t *testing.T) {
	f := newFixture(t, true)
	writeRevision(t, f.root)
	writeBackupState(t, f.root)
	rec := f.do(withSession(req("GET", "/", nil), f.session("alice")))
	body := rec.Body.String()
	for _, want := range []string{
		"<h1>Tableau de bord</h1>", "php-fpm", "redémarre après une panne", "exit status 255", "postfix", "en marche",
		"Révision 3, du ", "par alice", "Dernière application réussie.",
		"usb", "support", "échouée", "dépôt injoignable", "utilisés",
		`href="http://wiki.localhost/"`, `href="http://vitrine.localhost/"`, `href="http://cafe-anais.org/"`,
		"Connecté·e : alice", `action="/logout"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(body, "sftp:") {
		t.Error("the dashboard shows a repository address")
	}
	// A member sees links, not the box's internals.
	r := withSession(req("GET", "/", nil), f.session("bob"))
	r.Host = "cafe-anais.local:8080"
	body = f.do(r).Body.String()
	for _, want := range []string{"Bonjour Bob Durand", `href="http://wiki-cafe-anais.local:8080/"`, "Wiki du Café",
		`href="http://vitrine-cafe-anais.local:8080/"`, `href="http://fete-2026-cafe-anais.local:8080/"`, `href="/account"`} {
		if !strings.Contains(body, want) {
			t.Errorf("member home lacks %q", want)
		}
	}
	for _, not := range []string{"php-fpm", "Tableau de bord", "Sauvegardes"} {
		if strings.Contains(body, not) {
			t.Errorf("member home shows %q", not)
		}
	}
	// The profile.
	body = f.do(withSession(req("GET", "/account", nil), f.session("alice"))).Body.String()
	for _, want := range []string{"alice@example.org", "Alice Martin", "administrateur·rice", `aria-current="page"`} {
		if !strings.Contains(body, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
}

func TestLanguage(t *testing.T) {
	f := newFixture(t, true)
	page := func(mod func(*http.Request)) string {
		r := req("GET", "/login", nil)
		mod(r)
		return f.do(r).Body.String()
	}
	for _, c := range []struct {
		name string
		mod  func(*http.Request)
		want string
	}{
		{"default", func(*http.Request) {}, `<html lang="fr">`},
		{"Accept-Language en", func(r *http.Request) { r.Header.Set("Accept-Language", "en-US,en;q=0.9") }, `<html lang="en">`},
		{"Accept-Language de then en", func(r *http.Request) { r.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5,fr;q=0.4") }, `<html lang="en">`},
		{"cookie wins", func(r *http.Request) {
			r.Header.Set("Accept-Language", "en")
			r.AddCookie(&http.Cookie{Name: langCookie, Value: "fr"})
		}, `<html lang="fr">`},
		{"cookie en", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: langCookie, Value: "en"}) }, `<html lang="en">`},
	} {
		if body := page(c.mod); !strings.Contains(body, c.want) {
			t.Errorf("%s: want %s", c.name, c.want)
		}
	}
	f.lang = i18n.EN // the pack's locale
	if body := page(func(*http.Request) {}); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Log in") {
		t.Error("pack locale en: page not in English")
	}
	f.lang = i18n.FR

	// The switch.
	anon := f.anonToken()
	rec := f.do(withAnon(form("/lang", url.Values{"lang": {"en"}, "next": {"/setup/abc"}, csrfField: {anon}}), anon))
	c := cookie(rec, langCookie)
	if rec.Code != 303 || rec.Header().Get("Location") != "/setup/abc" || c == nil || c.Value != "en" || c.MaxAge < 30*24*3600 {
		t.Errorf("POST /lang: %d %q %+v", rec.Code, rec.Header().Get("Location"), c)
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "", "javascript:alert(1)", "/\r\nSet-Cookie: x"} {
		rec := f.do(withAnon(form("/lang", url.Values{"lang": {"en"}, "next": {next}, csrfField: {anon}}), anon))
		if loc := rec.Header().Get("Location"); loc != "/" {
			t.Errorf("POST /lang next=%q: Location %q, want /", next, loc)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	for h, want := range map[string]string{
		"":                        "",
		"de":                      "",
		"en":                      "en",
		"fr-FR,fr;q=0.9,en;q=0.8": "fr",
		"en;q=0.2, fr;q=0.8":      "fr",
		"fr;q=0, en":              "en",
		"EN-gb":                   "en",
		"*":                       "",
		"en;q=bogus, fr":          "fr",
	} {
		l, ok := acceptLanguage(h)
		if got := string(l); !ok && got != "" || ok && got != want || !ok && want != "" {
			t.Errorf("acceptLanguage(%q) = %q %v, want %q", h, got, ok, want)
		}
	}
}

func TestLoginForm(t *testing.T) {
	f := newFixture(t, true)
	// A page asked for without a session comes back after the login.
	rec := f.do(req("GET", "/account", nil))
	if rec.Code != 302 || rec.Header().Get("Location") != "/login?next=%2Faccount" {
		t.Fatalf("GET /account anonymous: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = f.do(req("GET", "/login?next=%2Faccount", nil))
	if !strings.Contains(rec.Body.String(), `name="next" value="/account"`) {
		t.Errorf("login page lost next:\n%s", rec.Body)
	}
	anon := cookie(rec, anonCookie).Value
	post := func(login, pw, next string) *httptest.ResponseRecorder {
		return f.do(withAnon(form("/login", url.Values{"login": {login}, "password": {pw}, "next": {next}, csrfField: {anon}}), anon))
	}
	rec = post("bob", "wrong", "/account")
	body := rec.Body.String()
	if rec.Code != 401 || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, "identifiant ou mot de passe incorrect") ||
		!strings.Contains(body, `value="bob"`) || strings.Contains(body, "wrong") || cookie(rec, sessionCookie) != nil {
		t.Errorf("wrong password: %d\n%s", rec.Code, body)
	}
	rec = post("bob", password["bob"], "/account")
	if rec.Code != 303 || rec.Header().Get("Location") != "/account" || cookie(rec, sessionCookie) == nil {
		t.Errorf("login: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec = post("bob", password["bob"], "//evil.example"); rec.Header().Get("Location") != "/" {
		t.Errorf("login next=//evil.example: Location %q, want /", rec.Header().Get("Location"))
	}
	// A new login ends the session the browser had (session fixation).
	old := f.session("bob")
	r := withAnon(form("/login", url.Values{"login": {"bob"}, "password": {password["bob"]}, csrfField: {anon}}), anon)
	withSession(r, old)
	if rec := f.do(r); rec.Code != 303 || cookie(rec, sessionCookie).Value == old {
		t.Errorf("login over an old session: %d", rec.Code)
	}
	if _, err := f.db.LookupSession(t.Context(), old); err == nil {
		t.Error("the session the browser had survived a new login")
	}
}

// Every page renders in both languages with no missing text, no inline
// script or style (the CSP would block them), and the landmarks and labels
// that make it usable with a screen reader.
func TestPagesRender(t *testing.T) {
	f := newFixture(t, true)
	writeBackupState(t, f.root)
	setup := f.setupToken("carol")
	writeTestCA(t, f.p.opts.CACertPath)
	for _, lang := range []string{"fr", "en"} {
		for _, c := range []struct {
			name  string
			r     *http.Request
			login string
		}{
			{"login", req("GET", "/login", nil), ""},
			{"setup", req("GET", "/setup/"+setup, nil), ""},
			{"dashboard", req("GET", "/", nil), "tech1"},
			{"home", req("GET", "/", nil), "bob"},
			{"account", req("GET", "/account", nil), "bob"},
			{"error", req("GET", "/nope", nil), ""},
			{"ca", req("GET", "/ca", nil), ""},
		} {
			c.r.AddCookie(&http.Cookie{Name: langCookie, Value: lang})
			c.r.Header.Set("Accept", "text/html,application/xhtml+xml")
			if c.login != "" {
				withSession(c.r, f.session(c.login))
			}
			rec := f.do(c.r)
			body := rec.Body.String()
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("%s/%s: Content-Type %q (%d)", lang, c.name, ct, rec.Code)
				continue
			}
			if m := regexp.MustCompile(`![a-z]+\.[a-z.]+`).FindString(body); m != "" {
				t.Errorf("%s/%s: missing text %s", lang, c.name, m)
			}
			for _, bad := range []string{"<script", " style=", "<style", "javascript:", " on" + "click=", "http://cdn", "https://cdn"} {
				if strings.Contains(body, bad) {
					t.Errorf("%s/%s: contains %q", lang, c.name, bad)
				}
			}
			for _, want := range []string{`<html lang="` + lang + `">`, `<meta name="viewport"`, `<main id="main"`, `<h1>`, `href="#main"`, `action="/lang"`} {
				if !strings.Contains(body, want) {
					t.Errorf("%s/%s: lacks %q", lang, c.name, want)
				}
			}
			// Every input has a label.
			for _, id := range regexp.MustCompile(`<input id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
				if !strings.Contains(body, `<label for="`+id[1]+`">`) {
					t.Errorf("%s/%s: input %s has no label", lang, c.name, id[1])
				}
			}
			if strings.Contains(regexp.MustCompile(`<input (type="hidden"|id=)`).ReplaceAllString(body, ""), "<input ") {
				t.Errorf("%s/%s: an input without an id (and so without a label)", lang, c.name)
			}
		}
	}
	for key, m := range texts {
		if m.FR == "" || m.EN == "" {
			t.Errorf("text %s lacks a language", key)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, true)
	tok := f.session("alice")
	for _, path := range []string{"/", "/login", "/healthz", "/metrics", "/nope", "/api/status", "/assets/panel.css"} {
		r := withSession(req("GET", path, nil), tok)
		r.RemoteAddr = "127.0.0.1:5000"
		rec := f.do(r)
		h := rec.Header()
		for name, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
			"Content-Security-Policy": csp,
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", path, name, got, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
		want := "no-store"
		if path == "/assets/panel.css" {
			want = "public, max-age=86400"
		}
		if got := h.Get("Cache-Control"); got != want {
			t.Errorf("%s: Cache-Control %q, want %q", path, got, want)
		}
	}
	rec := f.do(req("GET", "/assets/panel.css", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, bad := range []string{"/assets/nope.css", "/assets/..%2Fpanel.go", "/assets/"} {
		if rec := f.do(req("GET", bad, nil)); rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", bad, rec.Code)
		}
	}
}

func TestHealthz(t *testing.T) {
	type answer struct {
		Status  string           `json:"status"`
		Version string           `json:"version"`
		Checks  map[string]Check `json:"checks"`
	}
	cases := []struct {
		name   string
		health Health
		code   int
		status string
	}{
		{"no checks", Health{}, 200, "ok"},
		{"all ok", Health{Checks: map[string]Check{"web": {OK: true}, "php-fpm": {OK: true}}}, 200, "ok"},
		{"one failing", Health{Checks: map[string]Check{"web": {OK: true}, "postfix": {OK: false, Message: "exited: status 1"}}}, 503, "fail"},
	}
	f := newFixture(t, false)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.health = c.health
			rec := f.do(req("GET", "/healthz", nil))
			if rec.Code != c.code {
				t.Errorf("code = %d, want %d", rec.Code, c.code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got answer
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("%v in %s", err, rec.Body)
			}
			if got.Status != c.status || got.Version != "v0.1.0-test" || got.Checks == nil {
				t.Errorf("got %+v, want status %q", got, c.status)
			}
			for name, want := range c.health.Checks {
				if got.Checks[name] != want {
					t.Errorf("check %s = %+v, want %+v", name, got.Checks[name], want)
				}
			}
		})
	}
	f.health = Health{}
	if rec := f.do(req("HEAD", "/healthz", nil)); rec.Code != 200 {
		t.Errorf("HEAD /healthz = %d", rec.Code)
	}
	// No options at all: the public routes work, nobody logs in.
	p := New(Options{})
	r := req("GET", "/healthz", nil)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Errorf("zero Options: /healthz %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, jsonReq("POST", "/api/session", `{"login":"a","password":"b"}`))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("zero Options: login %d, want 503", rec.Code)
	}
}

func TestMetricsLANOnly(t *testing.T) {
	allowed := []string{
		"127.0.0.1:40000", "[::1]:40000", // loopback
		"10.1.2.3:1", "172.16.0.9:1", "172.31.255.255:1", "192.168.1.20:1", // RFC 1918
		"169.254.10.10:1", "[fe80::1%eth0]:1", // link-local
		"[fd12:3456::1]:1", "[fc00::1]:1", // IPv6 ULA
		"[::ffff:192.168.1.20]:1", // IPv4-mapped
	}
	refused := []string{
		"8.8.8.8:1", "172.32.0.1:1", "100.64.0.1:1", "192.169.0.1:1",
		"[2001:db8::1]:1", "[2a01:e0a::1]:1", "[::ffff:8.8.8.8]:1", "garbage", "",
	}
	f := newFixture(t, false)
	f.lang = i18n.EN
	for _, remote := range allowed {
		r := req("GET", "/metrics", nil)
		r.RemoteAddr = remote
		rec := f.do(r)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "ruche_test_total 3") {
			t.Errorf("%s: GET /metrics = %d, want 200 with ruche_test_total\n%s", remote, rec.Code, rec.Body)
		}
	}
	for _, remote := range refused {
		r := req("GET", "/metrics", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "192.168.1.2") // must not be believed
		rec := f.do(r)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%q: GET /metrics = %d, want 403", remote, rec.Code)
			continue
		}
		if got := errorOf(t, rec); got != "metrics are served to the local network only" {
			t.Errorf("%q: error %q", remote, got)
		}
		if strings.Contains(rec.Body.String(), "ruche_test_total") {
			t.Errorf("%q: metrics leaked", remote)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	f := newFixture(t, false)
	for _, path := range []string{"/nope", "/api/nope", "/healthz/", "/index.html", "//login", "/setup/", "/setup/a/b"} {
		rec := f.do(req("GET", path, nil))
		if rec.Code != http.StatusNotFound || errorOf(t, rec) != "page introuvable" {
			t.Errorf("GET %s = %d %s, want 404", path, rec.Code, rec.Body)
		}
	}
	for path, allow := range map[string]string{
		"/":            "GET, HEAD",
		"/healthz":     "GET, HEAD",
		"/metrics":     "GET, HEAD",
		"/api/status":  "GET, HEAD",
		"/login":       "GET, HEAD, POST",
		"/api/session": "POST, GET, HEAD, DELETE",
	} {
		rec := f.do(req("PUT", path, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != allow {
			t.Errorf("PUT %s = %d (Allow %q), want 405 with %q", path, rec.Code, rec.Header().Get("Allow"), allow)
		}
	}
	// A browser gets a page.
	r := req("GET", "/nope", nil)
	r.Header.Set("Accept", "text/html")
	if rec := f.do(r); rec.Code != 404 || !strings.Contains(rec.Body.String(), "<h1>Erreur 404</h1>") || !strings.Contains(rec.Body.String(), "page introuvable") {
		t.Errorf("404 page for a browser: %d\n%s", rec.Code, rec.Body)
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/account": "/account", "/setup/x?y=1": "/setup/x?y=1", "": "/", "account": "/",
		"//evil.example": "/", "/\\evil.example": "/", "https://evil.example/": "/", "/a\nb": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// A backup in progress (its progress file, written by whoever runs it)
// shows on the dashboard and in /api/status.
func TestDashboardShowsRunningBackup(t *testing.T) {
	f := newFixture(t, true)
	path := filepath.Join(f.root, backup.ProgressFile)
	os.MkdirAll(filepath.Dir(path), 0o755)
	data := fmt.Sprintf(`{"target":"usb","percent":42,"files_done":420,"files_total":1000,"eta_seconds":150,"updated":%q}`, time.Now().Format(time.RFC3339Nano))
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	body := f.do(withSession(req("GET", "/", nil), f.session("alice"))).Body.String()
	for _, want := range []string{"Sauvegarde en cours vers « usb » : 420 fichiers sur 1000", `<progress id="backup-progress" max="100" value="42">`, "encore environ 3 min"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	rec := f.do(withSession(req("GET", "/api/status", nil), f.session("alice")))
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.BackupRunning == nil || st.BackupRunning.Target != "usb" || st.BackupRunning.Percent != 42 {
		t.Errorf("/api/status: %v %s", err, rec.Body.String())
	}
}
