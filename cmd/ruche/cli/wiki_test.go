package cli_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/services/wiki"
)

// needWiki skips without DokuWiki and php-fpm, except in CI where a
// missing component fails the test.
func needWiki(t *testing.T) {
	t.Helper()
	for _, f := range []string{wiki.PHPFPM, wiki.CodeDir + "/doku.php", "/etc/dokuwiki/dokuwiki.php"} {
		if _, err := os.Stat(f); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (apt-get install dokuwiki php8.2-fpm): %v", f, err)
			}
			t.Skipf("%s is missing (apt-get install dokuwiki php8.2-fpm)", f)
		}
	}
}

// wikiClient talks to the wiki on addr whatever the URL's host, and keeps
// DokuWiki's session cookie.
func wikiClient(t *testing.T, addr string) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Timeout: 10 * time.Second,
		Jar:     jar,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	}
}

func wikiFetch(t *testing.T, c *http.Client, method, path string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "http://wiki.localhost"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// formValue reads the value of the hidden input name in a DokuWiki form.
func formValue(page, name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// login goes through DokuWiki's own login form.
func login(t *testing.T, c *http.Client, user, password string) {
	t.Helper()
	code, page := wikiFetch(t, c, http.MethodGet, "/doku.php?do=login", nil)
	if code != 200 || !strings.Contains(page, `name="u"`) {
		t.Fatalf("login form: %d", code)
	}
	wikiFetch(t, c, http.MethodPost, "/doku.php", url.Values{
		"do": {"login"}, "id": {"accueil"}, "u": {user}, "p": {password}, "sectok": {formValue(page, "sectok")},
	})
	if _, page := wikiFetch(t, c, http.MethodGet, "/accueil", nil); !strings.Contains(page, "do=logout") {
		t.Fatalf("%s is not logged in after the login form", user)
	}
}

// phpFPMMaster finds the pid of php-fpm's master process for root.
func phpFPMMaster(root string) int {
	conf := filepath.Join(root, wiki.ConfDir, "php-fpm.conf")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(d + "/cmdline")
		if err != nil {
			continue
		}
		if strings.Contains(string(cmdline), "php-fpm: master process") && strings.Contains(string(cmdline), conf) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	return 0
}

func TestWiki(t *testing.T) {
	needWiki(t)
	root := t.TempDir()
	// php-fpm's workers run as www-data: they must traverse the test's
	// temporary folders (0700 by default).
	traversable(root)
	withSecrets(t, root)
	raw, err := os.ReadFile(filepath.Join(examples, "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pack := writePack(t, t.TempDir(), "pack.yaml", string(raw))
	addr := freePort(t)
	cmd := exec.Command(rucheBin, "up", "--lang", "en", "--root", root, "--http", addr, "--https", freePort(t), pack)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		if t.Failed() {
			t.Logf("ruche up stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	}()

	anon := wikiClient(t, addr)
	eventually(t, 60*time.Second, "the wiki's start page never answered 200", func() bool {
		code, page := wikiFetch(t, anon, http.MethodGet, "/", nil)
		return code == 200 && strings.Contains(page, "Wiki du Café")
	})
	// public_read: anonymous reading; the skeleton pages are there.
	if code, page := wikiFetch(t, anon, http.MethodGet, "/livre_d_accueil", nil); code != 200 || !strings.Contains(page, "Qui fait quoi") {
		t.Errorf("welcome book: %d", code)
	}
	for _, p := range []string{"/data/", "/conf/", "/conf/local.php", "/inc/init.php", "/bin/", "/vendor/"} {
		if code, _ := wikiFetch(t, anon, http.MethodGet, p, nil); code != 403 {
			t.Errorf("%s: %d, want 403", p, code)
		}
	}
	pages := filepath.Join(root, wiki.DataDir, "pages")

	// Anonymous editing is refused.
	_, page := wikiFetch(t, anon, http.MethodGet, "/anonyme?do=edit", nil)
	if strings.Contains(page, `name="wikitext"`) {
		t.Error("anonymous visitors get the edit form")
	}
	wikiFetch(t, anon, http.MethodPost, "/doku.php", url.Values{"id": {"anonyme"}, "do[save]": {"1"}, "wikitext": {"spam"}, "sectok": {formValue(page, "sectok")}})
	if _, err := os.Stat(filepath.Join(pages, "anonyme.txt")); err == nil {
		t.Error("an anonymous visitor saved a page")
	}

	// A member logs in with the password `ruche user passwd` set, and
	// creates a page.
	passwd := exec.Command(rucheBin, "user", "passwd", "bob", "--lang", "en", "--root", root)
	passwd.Stdin = strings.NewReader("bob-wiki-password\n")
	if out, err := passwd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	bob := wikiClient(t, addr)
	eventually(t, 10*time.Second, "bob's account never reached the wiki", func() bool {
		b, _ := os.ReadFile(filepath.Join(root, wiki.ConfDir, "users.auth.php"))
		return strings.Contains(string(b), "\nbob:$2")
	})
	login(t, bob, "bob", "bob-wiki-password")
	code, form := wikiFetch(t, bob, http.MethodGet, "/reunions?do=edit", nil)
	if code != 200 || !strings.Contains(form, `name="wikitext"`) {
		t.Fatalf("bob's edit form: %d", code)
	}
	wikiFetch(t, bob, http.MethodPost, "/doku.php", url.Values{
		"id": {"reunions"}, "do[save]": {"1"}, "wikitext": {"Réunion du mardi"}, "summary": {"test"},
		"sectok": {formValue(form, "sectok")}, "changecheck": {formValue(form, "changecheck")},
		"date": {formValue(form, "date")}, "prefix": {formValue(form, "prefix")}, "suffix": {formValue(form, "suffix")},
		"target": {formValue(form, "target")},
	})
	if b, err := os.ReadFile(filepath.Join(pages, "reunions.txt")); err != nil || !strings.Contains(string(b), "Réunion du mardi") {
		t.Errorf("bob's page on disk: %q, %v", b, err)
	}
	if code, page := wikiFetch(t, anon, http.MethodGet, "/reunions", nil); code != 200 || !strings.Contains(page, "Réunion du mardi") {
		t.Errorf("bob's page: %d", code)
	}
	// A member is no DokuWiki admin.
	if _, page := wikiFetch(t, bob, http.MethodGet, "/accueil?do=admin", nil); strings.Contains(page, "do=admin&amp;page=usermanager") {
		t.Error("a member reaches DokuWiki's admin page")
	}

	// A panel admin is DokuWiki's superuser.
	passwd = exec.Command(rucheBin, "user", "passwd", "alice", "--lang", "en", "--root", root)
	passwd.Stdin = strings.NewReader("alice-wiki-password\n")
	if out, err := passwd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	alice := wikiClient(t, addr)
	login(t, alice, "alice", "alice-wiki-password")
	if code, page := wikiFetch(t, alice, http.MethodGet, "/accueil?do=admin", nil); code != 200 || !strings.Contains(page, "page=usermanager") {
		t.Errorf("alice's admin page: %d", code)
	}

	// Killing php-fpm: the supervisor restarts it and the wiki answers again.
	pid := phpFPMMaster(root)
	if pid == 0 {
		t.Fatal("no php-fpm master process found")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	eventually(t, 30*time.Second, "the wiki did not answer again after php-fpm was killed", func() bool {
		code, _ := wikiFetch(t, anon, http.MethodGet, "/accueil", nil)
		return code == 200 && phpFPMMaster(root) != pid
	})
	t.Logf("the wiki answered again %v after php-fpm was killed", time.Since(killed).Round(time.Millisecond))
}
