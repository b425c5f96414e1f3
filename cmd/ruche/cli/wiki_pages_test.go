package cli_test

import (
	"crypto/sha256"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/services/wiki"
)

// wikiRoot is a box root php-fpm's workers (www-data) can traverse: the
// test's temporary folders are 0700 by default.
func wikiRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	traversable(root)
	return root
}

// setPassword sets a panel user's password through `ruche user passwd`
// (which goes through the running daemon) and waits for DokuWiki's users
// file to have it.
func setPassword(t *testing.T, root, login, password string) {
	t.Helper()
	cmd := exec.Command(rucheBin, "user", "passwd", login, "--lang", "en", "--root", root)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user passwd %s: %v\n%s", login, err, out)
	}
	eventually(t, 10*time.Second, login+"'s account never reached the wiki", func() bool {
		b, _ := os.ReadFile(filepath.Join(root, wiki.ConfDir, "users.auth.php"))
		return strings.Contains(string(b), "\n"+login+":$2")
	})
}

// editPage saves text as the page at the friendly path (as typed in the
// address bar, escaped) through DokuWiki's own edit form, and returns the
// page id DokuWiki gave it.
func editPage(t *testing.T, c *http.Client, path, text string) string {
	t.Helper()
	code, form := wikiFetch(t, c, http.MethodGet, path+"?do=edit", nil)
	if code != 200 || !strings.Contains(form, `name="wikitext"`) {
		t.Fatalf("edit form of %s: %d", path, code)
	}
	id := html.UnescapeString(formValue(form, "id"))
	wikiFetch(t, c, http.MethodPost, "/doku.php", url.Values{
		"id": {id}, "do[save]": {"1"}, "wikitext": {text}, "summary": {"test"},
		"sectok": {formValue(form, "sectok")}, "changecheck": {formValue(form, "changecheck")},
		"date": {formValue(form, "date")}, "prefix": {formValue(form, "prefix")}, "suffix": {formValue(form, "suffix")},
		"target": {formValue(form, "target")},
	})
	return id
}

// pageID is the id DokuWiki shows a page under (its JSINFO).
var pageIDRE = regexp.MustCompile(`"id":"((?:[^"\\]|\\.)*)"`)

func pageID(page string) string {
	m := pageIDRE.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	var id string
	fmt.Sscanf(`"`+m[1]+`"`, "%q", &id)
	return id
}

// TestWikiPageIDs: page names with characters that mean something in a
// URL (& # + % ? and spaces) or are not ASCII reach their page through the
// friendly URL (Caddy rewrites /NAME to doku.php?id=NAME, and must escape
// NAME into the query), and DokuWiki's own links to them work.
func TestWikiPageIDs(t *testing.T) {
	needWiki(t)
	root := wikiRoot(t)
	pack := writePack(t, t.TempDir(), "pack.yaml", strings.Replace(wikiPack, "%s", "true", 1))
	u := startUp(t, root, pack)
	setPassword(t, root, "alice", "alice-wiki-password")
	alice := wikiClient(t, u.http)
	login(t, alice, "alice", "alice-wiki-password")
	anon := wikiClient(t, u.http)

	for _, tc := range []struct {
		name string // as a person types it
		id   string // as DokuWiki cleans it (lower case, no accents, specials to _)
		file string // under the savedir's pages/
	}{
		{"Réunion & budget #2 + 50% ?", "reunion_budget_2_50", "reunion_budget_2_50.txt"},
		{"a+b=c&d", "a_b_c_d", "a_b_c_d.txt"},
		{"Projets/Fête d'été", "projets:fete_d_ete", "projets/fete_d_ete.txt"},
		{"Ωmega café", "ωmega_cafe", "%CF%89mega_cafe.txt"},
		{"100%", "100", "100.txt"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			// The friendly URL of the name, escaped as a browser does.
			path := "/" + strings.ReplaceAll(url.PathEscape(tc.name), "%2F", "/")
			text := "Page " + tc.id + " écrite par le test."
			if got := editPage(t, alice, path, text); got != tc.id {
				t.Fatalf("%s: DokuWiki's edit form is for id %q, want %q (the name lost characters on its way)", path, got, tc.id)
			}
			if b, err := os.ReadFile(filepath.Join(root, wiki.DataDir, "pages", tc.file)); err != nil || !strings.Contains(string(b), text) {
				t.Fatalf("page file %s: %q, %v", tc.file, b, err)
			}
			code, page := wikiFetch(t, anon, http.MethodGet, path, nil)
			if code != 200 || pageID(page) != tc.id || !strings.Contains(page, html.EscapeString(text)) {
				t.Errorf("friendly URL %s: %d, id %q, want 200 and the page %s", path, code, pageID(page), tc.id)
			}
			// Every character escaped, as some clients send it.
			escaped := "/" + strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(tc.name), "+", "%20"), "%2F", "/")
			if code, page := wikiFetch(t, anon, http.MethodGet, escaped, nil); code != 200 || pageID(page) != tc.id {
				t.Errorf("friendly URL %s: %d, id %q, want %s", escaped, code, pageID(page), tc.id)
			}
			// The same through doku.php?id= with the name in the query.
			if code, page := wikiFetch(t, anon, http.MethodGet, "/doku.php?id="+url.QueryEscape(tc.name), nil); code != 200 || pageID(page) != tc.id {
				t.Errorf("doku.php?id=%s: %d, id %q", url.QueryEscape(tc.name), code, pageID(page))
			}
		})
	}

	// DokuWiki's own links: a page linking to the others by their names;
	// every link DokuWiki renders to them, followed, reaches its page.
	var links strings.Builder
	for _, name := range []string{"Réunion & budget 2 + 50%", "a+b=c&d", "Projets:Fête d'été", "Ωmega café", "100%"} {
		fmt.Fprintf(&links, "  * [[%s]]\n", name)
	}
	editPage(t, alice, "/liens", links.String())
	code, page := wikiFetch(t, anon, http.MethodGet, "/liens", nil)
	if code != 200 {
		t.Fatalf("/liens: %d", code)
	}
	hrefs := regexp.MustCompile(`<a href="([^"]+)"[^>]*class="wikilink1"`).FindAllStringSubmatch(page, -1)
	if len(hrefs) != 5 {
		t.Fatalf("/liens has %d links to existing pages, want 5 (a link to a missing page is wikilink2):\n%s", len(hrefs), page)
	}
	for _, h := range hrefs {
		href := html.UnescapeString(h[1])
		code, target := wikiFetch(t, anon, http.MethodGet, href, nil)
		if code != 200 || !strings.Contains(target, "écrite par le test") {
			t.Errorf("DokuWiki's link %s: %d, id %q", href, code, pageID(target))
		}
	}
	// And the index DokuWiki lists them in.
	_, index := wikiFetch(t, anon, http.MethodGet, "/projets?do=index", nil)
	if !strings.Contains(index, `href="/projets/fete_d_ete"`) {
		t.Errorf("the index does not link /projets/fete_d_ete")
	}
}

// dataState is every file and folder under dir with its mode, owner,
// modification time and content hash: what "untouched" means.
func dataState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		s := fmt.Sprintf("%v %d:%d %d", info.Mode(), st.Uid, st.Gid, info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[strings.TrimPrefix(p, dir)] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWikiOffAndOn: a pack that turns the wiki off stops php-fpm, takes
// the wiki's names off the web server, removes Ruche's rendered wiki
// configuration and leaves the wiki's data exactly as it was; turning it
// back on serves the same pages.
func TestWikiOffAndOn(t *testing.T) {
	needWiki(t)
	root := wikiRoot(t)
	dir := t.TempDir()
	on := writePack(t, dir, "on.yaml", strings.Replace(wikiPack, "%s", "true", 1))
	off := writePack(t, dir, "off.yaml", strings.Replace(wikiPack, "%s", "false", 1))
	u := startUp(t, root, on)
	setPassword(t, root, "alice", "alice-wiki-password")
	alice := wikiClient(t, u.http)
	login(t, alice, "alice", "alice-wiki-password")
	editPage(t, alice, "/reunions", "Réunion du mardi, avant l'arrêt du wiki.")
	anon := wikiClient(t, u.http)
	if code, page := wikiFetch(t, anon, http.MethodGet, "/reunions", nil); code != 200 || !strings.Contains(page, "Réunion du mardi") {
		t.Fatalf("/reunions before: %d", code)
	}
	data := filepath.Join(root, wiki.DataDir)
	before := dataState(t, data)
	if pid := phpFPMMaster(root); pid == 0 {
		t.Fatal("no php-fpm before turning the wiki off")
	}

	apply := func(pack string) string {
		t.Helper()
		cmd := exec.Command(rucheBin, "apply", "--lang", "en", "--root", root, pack)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("apply %s: %v\n%s", filepath.Base(pack), err, out)
		}
		return string(out)
	}
	out := apply(off)
	t.Logf("apply off.yaml:\n%s", out)
	eventually(t, 30*time.Second, "php-fpm still runs after the wiki was turned off", func() bool {
		return phpFPMMaster(root) == 0
	})
	for _, host := range []string{"wiki.localhost", "wiki-amis.local"} {
		code, body, err := get(u.http, host, "/reunions")
		if err != nil || code != 404 || body != "Site inconnu / Unknown site\n" {
			t.Errorf("%s/reunions with the wiki off: %d %q %v, want 404 Site inconnu", host, code, body, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, wiki.ConfDir)); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(filepath.Join(root, wiki.ConfDir))
		t.Errorf("%s is still there with the wiki off (%d entries): %v", wiki.ConfDir, len(entries), err)
	}
	if _, err := os.Stat(filepath.Join(root, wiki.Socket)); !os.IsNotExist(err) {
		t.Errorf("php-fpm's socket is still there with the wiki off: %v", err)
	}
	after := dataState(t, data)
	for p, s := range before {
		if after[p] != s {
			t.Errorf("wiki data %s changed when the wiki was turned off:\n was %s\n now %s", p, s, after[p])
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("wiki data %s appeared when the wiki was turned off", p)
		}
	}
	// The panel is still served.
	if code, _, err := get(u.http, "panel.localhost", "/healthz"); err != nil || code != 200 {
		t.Errorf("/healthz with the wiki off: %d %v", code, err)
	}

	apply(on)
	eventually(t, 30*time.Second, "the wiki did not come back", func() bool {
		code, page := wikiFetch(t, anon, http.MethodGet, "/reunions", nil)
		return code == 200 && strings.Contains(page, "Réunion du mardi, avant l&#039;arrêt du wiki.")
	})
	if b, err := os.ReadFile(filepath.Join(root, wiki.ConfDir, "local.php")); err != nil || !strings.Contains(string(b), "Wiki des Amis") {
		t.Errorf("local.php after turning the wiki on again: %v", err)
	}
	// The same account still logs in and edits.
	alice = wikiClient(t, u.http)
	login(t, alice, "alice", "alice-wiki-password")
	editPage(t, alice, "/reunions", "Réunion du jeudi.")
	if code, page := wikiFetch(t, anon, http.MethodGet, "/reunions", nil); code != 200 || !strings.Contains(page, "Réunion du jeudi.") {
		t.Errorf("/reunions after an edit once back: %d", code)
	}
}
