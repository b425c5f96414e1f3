package cli_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/services/wiki"
)

// The panel through the real binary: `ruche up` on the demo pack prints a
// one-time setup link for the first admin; the link sets alice's password
// and logs her in; the JSON API logs in with POST /api/session and reads
// GET /api/status, as an admin and as a member.
func TestPanelUp(t *testing.T) {
	root := boxRoot(t)
	withSecrets(t, root)
	raw, err := os.ReadFile(filepath.Join(examples, "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	u := startUp(t, root, writePack(t, t.TempDir(), "pack.yaml", string(raw)))
	_, port, _ := strings.Cut(u.http, ":")
	base := "http://panel.localhost:" + port

	// The setup link is on the terminal, once per start, and in no log.
	var link string
	eventually(t, 10*time.Second, "ruche up printed no setup link", func() bool {
		m := regexp.MustCompile(`sets the password of alice: (http://panel\.localhost:` + port + `/setup/[A-Za-z0-9_-]{43})  https://`).
			FindStringSubmatch(u.stdout.String())
		if m != nil {
			link = m[1]
		}
		return m != nil
	})
	token := link[strings.LastIndex(link, "/")+1:]
	if strings.Contains(u.stderr.String(), token) {
		t.Error("the setup token is in ruche up's log (stderr)")
	}

	jar, _ := cookiejar.New(nil)
	browser := boxClient(u.http, nil, true)
	browser.Jar = jar
	do := func(c *http.Client, method, target string, body io.Reader, header map[string]string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	// What a browser sends with a form of the panel.
	formHeader := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": base, "Sec-Fetch-Site": "same-origin"}

	// Without a session the panel sends to the login page, which names
	// the association.
	if code, h, _ := do(browser, "GET", base+"/", nil, nil); code != http.StatusFound || h.Get("Location") != "/login" {
		t.Errorf("GET / without a session: %d %q, want 302 to /login", code, h.Get("Location"))
	}
	if code, _, body := do(browser, "GET", base+"/login", nil, nil); code != 200 || !strings.Contains(body, "Café d&#39;ANAIS") {
		t.Errorf("login page: %d", code)
	}
	// As TestUp fetches it, following the redirect.
	if code, body, _ := get(u.http, "panel.localhost", "/"); code != 200 || !strings.Contains(body, "Café d&#39;ANAIS") {
		t.Errorf("GET / followed to the login page: %d", code)
	}

	// First admin setup through the link.
	code, _, body := do(browser, "GET", link, nil, nil)
	if code != 200 || !strings.Contains(body, `value="alice"`) {
		t.Fatalf("setup page: %d\n%s", code, body)
	}
	csrf := html.UnescapeString(regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)[1])
	const alicePassword = "the café's first password"
	setup := url.Values{"password": {alicePassword}, "confirm": {alicePassword}, "csrf": {csrf}}
	code, h, _ := do(browser, "POST", link, strings.NewReader(setup.Encode()), formHeader)
	if code != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("setup: %d %q, want 303 to /", code, h.Get("Location"))
	}
	if sc := h.Get("Set-Cookie"); !strings.Contains(sc, "ruche_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("session cookie: %q", sc)
	}
	if code, _, body := do(browser, "GET", base+"/", nil, nil); code != 200 || !strings.Contains(body, "<h1>Dashboard</h1>") || !strings.Contains(body, "php-fpm") {
		t.Errorf("dashboard after setup: %d\n%.2000s", code, body)
	}
	// The password reached the wiki: the panel asked the daemon to apply.
	eventually(t, 20*time.Second, "alice's password never reached the wiki's users", func() bool {
		b, _ := os.ReadFile(filepath.Join(root, wiki.ConfDir, "users.auth.php"))
		return strings.Contains(string(b), "\nalice:$2")
	})
	// The link works once.
	if code, _, _ := do(boxClient(u.http, nil, false), "GET", link, nil, nil); code != http.StatusNotFound {
		t.Errorf("setup link used twice: %d, want 404", code)
	}

	// The JSON API, as a script: no cookie jar, the cookie by hand.
	api := boxClient(u.http, nil, false)
	login := func(who, password string, header map[string]string) (int, string, string) {
		t.Helper()
		h := map[string]string{"Content-Type": "application/json"}
		for k, v := range header {
			h[k] = v
		}
		body, _ := json.Marshal(map[string]string{"login": who, "password": password})
		code, hdr, out := do(api, "POST", base+"/api/session", strings.NewReader(string(body)), h)
		cookie := ""
		if m := regexp.MustCompile(`ruche_session=([^;]+)`).FindStringSubmatch(hdr.Get("Set-Cookie")); m != nil {
			cookie = "ruche_session=" + m[1]
		}
		return code, out, cookie
	}
	code, out, aliceCookie := login("alice", alicePassword, nil)
	var sess struct {
		Login, Role string
		CSRFToken   string `json:"csrf_token"`
	}
	if err := json.Unmarshal([]byte(out), &sess); code != 200 || err != nil || sess.Role != "admin" || sess.CSRFToken == "" || aliceCookie == "" {
		t.Fatalf("POST /api/session as alice: %d %s (%v)", code, out, err)
	}
	code, _, out = do(api, "GET", base+"/api/status", nil, map[string]string{"Cookie": aliceCookie})
	var st struct {
		Association string `json:"association"`
		Healthy     bool   `json:"healthy"`
		Apply       struct{ OK bool }
		Revision    *struct{ Number int }
		Services    []struct{ Name, State string }
		Disks       []struct {
			Path       string `json:"path"`
			TotalBytes uint64 `json:"total_bytes"`
		}
		Backups []struct{ Target string }
	}
	if err := json.Unmarshal([]byte(out), &st); code != 200 || err != nil {
		t.Fatalf("GET /api/status as alice: %d %s (%v)", code, out, err)
	}
	var services []string
	for _, s := range st.Services {
		services = append(services, s.Name+"="+s.State)
	}
	if st.Association != "Café d'ANAIS" || !st.Apply.OK || st.Revision == nil || st.Revision.Number != 1 ||
		len(st.Disks) == 0 || st.Disks[0].TotalBytes == 0 || len(st.Backups) != 2 || st.Backups[0].Target != "local" || st.Backups[1].Target != "usb" ||
		!strings.Contains(strings.Join(services, " "), "php-fpm=running") {
		t.Errorf("GET /api/status: %+v, services %v\n%s", st, services, out)
	}

	// Refusals, in the language of the box (--lang en).
	if code, out, cookie := login("alice", "not her password", nil); code != 401 || cookie != "" || !strings.Contains(out, `"error": "wrong login or password"`) {
		t.Errorf("wrong password: %d %s", code, out)
	}
	if code, _, _ := login("alice", alicePassword, map[string]string{"Origin": "http://evil.example"}); code != 403 {
		t.Errorf("cross-site login: %d, want 403", code)
	}
	if code, _, out := do(api, "GET", base+"/api/status", nil, nil); code != 401 || !strings.Contains(out, `"error"`) {
		t.Errorf("GET /api/status without a session: %d %s", code, out)
	}
	setPassword(t, root, "bob", "bob's own password")
	code, _, bobCookie := login("bob", "bob's own password", nil)
	if code != 200 {
		t.Fatalf("POST /api/session as bob: %d", code)
	}
	if code, _, out := do(api, "GET", base+"/api/status", nil, map[string]string{"Cookie": bobCookie}); code != 403 || !strings.Contains(out, `"error"`) {
		t.Errorf("GET /api/status as bob (member): %d %s, want 403", code, out)
	}

	// The box's IP address is the panel too; another name is not.
	if code, _, _ := do(api, "GET", "http://"+u.http+"/api/status", nil, map[string]string{"Cookie": aliceCookie}); code != 200 {
		t.Errorf("GET /api/status on %s: %d", u.http, code)
	}
	if code, _, _ := get(u.http, "evil.example", "/api/status"); code != 404 {
		t.Errorf("GET /api/status under a foreign name: %d, want 404", code)
	}

	// Logout ends the session.
	if code, _, _ := do(api, "DELETE", base+"/api/session", nil, map[string]string{"Cookie": aliceCookie}); code != http.StatusNoContent {
		t.Errorf("DELETE /api/session: %d", code)
	}
	if code, _, _ := do(api, "GET", base+"/api/status", nil, map[string]string{"Cookie": aliceCookie}); code != 401 {
		t.Errorf("GET /api/status after logout: %d, want 401", code)
	}

	// What the other tests rely on still answers.
	if code, _, _ := get(u.http, "panel.localhost", "/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, body, _ := get(u.http, "panel.localhost", "/metrics"); code != 200 || !strings.Contains(body, "ruche_apply_last_success_timestamp_seconds") {
		t.Errorf("/metrics: %d", code)
	}
}
