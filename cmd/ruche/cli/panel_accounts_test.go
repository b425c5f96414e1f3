package cli_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/wiki"
)

// The account lifecycle through the real binary, its real mail and, when
// the machine has it, its real wiki: a member who forgot their password
// asks for a link, the mail reaches the relay, the link sets a new
// password that logs in; an admin disables a member from the panel (a
// pack revision), whose login is then refused by the panel and the wiki.
func TestPanelAccountsUp(t *testing.T) {
	withWiki := true
	for _, f := range []string{wiki.PHPFPM, wiki.CodeDir + "/doku.php", "/etc/dokuwiki/dokuwiki.php"} {
		if _, err := os.Stat(f); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (apt-get install dokuwiki php8.2-fpm): %v", f, err)
			}
			t.Logf("%s is missing: the wiki part is left out", f)
			withWiki = false
		}
	}
	top := ""
	if withWiki {
		top = "wiki: {enabled: true, title: Wiki du Jardin, public_read: true, editors: [admin, member]}\n"
	}
	b := startMailBox(t, top)
	_, port, _ := strings.Cut(b.http, ":")
	base := "http://panel.localhost:" + port

	// dave, a member no alias names (bob is in the bureau alias, and a
	// disabled login may not stay in an alias), joins through the live
	// pack; the daemon's watcher applies it.
	live := filepath.Join(b.root, provision.PackPath)
	raw, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	bobLine := "    - {login: bob, role: member, email: bob@members.test}\n"
	if !strings.Contains(string(raw), bobLine) {
		t.Fatalf("the mail pack changed; no %q in:\n%s", bobLine, raw)
	}
	edited := strings.Replace(string(raw), bobLine, bobLine+"    - {login: dave, role: member, email: dave@members.test}\n", 1)
	if err := os.WriteFile(live+".tmp", []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(live+".tmp", live); err != nil {
		t.Fatal(err)
	}
	passwd := func(login, password string) error {
		cmd := exec.Command(rucheBin, "user", "passwd", login, "--lang", "en", "--root", b.root)
		cmd.Stdin = strings.NewReader(password + "\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("user passwd %s: %v\n%s", login, err, out)
		}
		return err
	}
	const alicePW, bobPW, davePW = "alice's password here", "bob's old password", "dave's password here"
	for login, pw := range map[string]string{"alice": alicePW, "bob": bobPW} {
		if err := passwd(login, pw); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "dave never became a user of the box", func() bool {
		return passwd("dave", davePW) == nil
	})

	do := func(c *http.Client, method, target string, form url.Values) (int, http.Header, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, base+target, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			// What a browser sends with a form of the panel.
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(data)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	// submit GETs page, then posts its form's fields with the page's CSRF
	// token to action.
	submit := func(c *http.Client, page, action string, fields url.Values) (int, http.Header, string) {
		t.Helper()
		code, _, body := do(c, "GET", page, nil)
		m := csrfRE.FindStringSubmatch(body)
		if code != 200 || m == nil {
			t.Fatalf("GET %s: %d, no form\n%.1500s", page, code, body)
		}
		fields.Set("csrf", html.UnescapeString(m[1]))
		return do(c, "POST", action, fields)
	}
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		c := boxClient(b.http, nil, true)
		c.Jar = jar
		return c
	}
	apiLogin := func(who, password string) int {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"login": who, "password": password})
		req, _ := http.NewRequest("POST", base+"/api/session", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := boxClient(b.http, nil, false).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// Bob forgot his password.
	bob := browser()
	if code, _, body := do(bob, "GET", "/login", nil); code != 200 || !strings.Contains(body, `href="/reset"`) {
		t.Errorf("the login page has no reset link: %d", code)
	}
	code, h, _ := submit(bob, "/reset", "/reset", url.Values{"who": {"bob"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/reset?sent=1" {
		t.Fatalf("POST /reset: %d %q", code, h.Get("Location"))
	}
	subject := "[Ruche jardin] Password reset for bob"
	waitDelivered(t, b.relay, subject, []string{"bob@members.test"})
	mail := mailBody(t, b.relay.Messages(), subject)
	m := regexp.MustCompile(`http://panel\.localhost:` + port + `(/reset/[A-Za-z0-9_-]+)`).FindStringSubmatch(mail)
	if m == nil {
		t.Fatalf("no reset link in the mail:\n%s", mail)
	}
	link := m[1]
	if strings.Contains(b.out.String(), link) {
		t.Error("the reset token is in ruche up's output")
	}
	const bobNewPW = "bob's brand new password"
	code, h, body := submit(bob, link, link, url.Values{"password": {bobNewPW}, "confirm": {bobNewPW}})
	if code != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("POST %s: %d %q\n%.1500s", link, code, h.Get("Location"), body)
	}
	if code := apiLogin("bob", bobNewPW); code != 200 {
		t.Errorf("bob logs in with the new password: %d", code)
	}
	if code := apiLogin("bob", bobPW); code == 200 {
		t.Error("bob's old password still logs in")
	}
	if code, _, _ := do(browser(), "GET", link, nil); code != http.StatusNotFound {
		t.Errorf("the reset link used twice: %d, want 404", code)
	}

	// dave can log in, to the panel and the wiki.
	if code := apiLogin("dave", davePW); code != 200 {
		t.Fatalf("dave logs in before being disabled: %d", code)
	}
	authFile := filepath.Join(b.root, wiki.ConfDir, "users.auth.php")
	if withWiki {
		eventually(t, 20*time.Second, "dave never reached the wiki's users", func() bool {
			raw, _ := os.ReadFile(authFile)
			return strings.Contains(string(raw), "\ndave:$2")
		})
		anon := wikiClient(t, b.http)
		eventually(t, 60*time.Second, "the wiki never answered", func() bool {
			code, page := wikiFetch(t, anon, http.MethodGet, "/", nil)
			return code == 200 && strings.Contains(page, "Wiki du Jardin")
		})
		login(t, wikiClient(t, b.http), "dave", davePW)
	}

	// alice disables dave from his page in the panel.
	admin := browser()
	code, h, _ = submit(admin, "/login", "/login", url.Values{"login": {"alice"}, "password": {alicePW}})
	if code != http.StatusSeeOther {
		t.Fatalf("alice logs in: %d", code)
	}
	code, h, body = submit(admin, "/users/dave/disable", "/users/dave/disable", url.Values{})
	if code != http.StatusSeeOther {
		t.Fatalf("POST /users/dave/disable: %d %q\n%.2000s", code, h.Get("Location"), body)
	}
	raw, _ = os.ReadFile(live)
	pk, err := provision.Load(live, raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range pk.Panel.Users {
		if u.Login == "dave" && !u.Disabled {
			t.Errorf("the live pack does not disable dave:\n%s", raw)
		}
	}
	if code := apiLogin("dave", davePW); code == 200 {
		t.Error("disabled dave logs in to the panel")
	}
	// No reset link for him either: the same answer, no mail. Bob asks
	// again right after; once his second mail is in, dave's would be too.
	if code, _, _ := submit(browser(), "/reset", "/reset", url.Values{"who": {"dave"}}); code != http.StatusSeeOther {
		t.Errorf("POST /reset for dave: %d, want the same 303 as for anyone", code)
	}
	submit(browser(), "/reset", "/reset", url.Values{"who": {"bob"}})
	waitDelivered(t, b.relay, subject, []string{"bob@members.test", "bob@members.test"})
	if withWiki {
		eventually(t, 20*time.Second, "disabled dave is still among the wiki's users", func() bool {
			raw, _ := os.ReadFile(authFile)
			return !strings.Contains(string(raw), "\ndave:") && strings.Contains(string(raw), "\nbob:$2")
		})
		c := wikiClient(t, b.http)
		_, page := wikiFetch(t, c, http.MethodGet, "/doku.php?do=login", nil)
		wikiFetch(t, c, http.MethodPost, "/doku.php", url.Values{
			"do": {"login"}, "id": {"accueil"}, "u": {"dave"}, "p": {davePW}, "sectok": {formValue(page, "sectok")},
		})
		if _, page := wikiFetch(t, c, http.MethodGet, "/accueil", nil); strings.Contains(page, "do=logout") {
			t.Error("disabled dave logs in to the wiki")
		}
	}
	for _, msg := range b.relay.Messages() {
		for _, to := range msg.To {
			if strings.Contains(to, "dave@") {
				t.Errorf("disabled dave got a mail: %q", msg.Data)
			}
		}
	}
}
