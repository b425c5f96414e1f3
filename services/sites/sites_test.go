package sites

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// loadPack reads a test pack as the box does: decoded strictly, validated
// (a test pack the validator refuses is a broken example), defaults
// applied.
func loadPack(t *testing.T, file string) *provision.Pack {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := provision.Load(file, raw)
	if err != nil {
		t.Fatalf("%s:\n%s", file, i18n.Localize(err, i18n.EN))
	}
	return p
}

func render(t *testing.T, p *provision.Pack) *provision.Desired {
	t.Helper()
	out := &provision.Desired{MoveAside: map[string]string{}}
	if err := (Renderer{}).Render(&provision.RenderInput{Pack: p, Root: "/"}, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// siteFiles maps "<site>/<path in its tree>" to the content of every file
// the render produced.
func siteFiles(out *provision.Desired) map[string][]byte {
	files := map[string][]byte{}
	for _, tr := range out.Trees {
		site := path.Base(path.Dir(tr.Link))
		for _, f := range tr.Files {
			files[site+"/"+f.Path] = f.Content
		}
	}
	return files
}

var testPacks = []string{"pack", "pack-en"}

// TestRenderGolden renders each test pack and compares every file of every
// tree with its golden copy under testdata/golden/<pack>/<site>/, plus an
// index (files.txt) of the trees' links, groups and services, their files'
// modes and the folders moved aside. Run with -update to rewrite them,
// then read the diff: the HTML, the .ics and the Atom feed are reviewed
// there.
func TestRenderGolden(t *testing.T) {
	for _, name := range testPacks {
		t.Run(name, func(t *testing.T) {
			out := render(t, loadPack(t, filepath.Join("testdata", name+".yaml")))
			if len(out.Files) != 0 {
				t.Errorf("the sites renderer wants %d loose files; every file belongs to a site's tree", len(out.Files))
			}
			dir := filepath.Join("testdata", "golden", name)

			var index strings.Builder
			for _, tr := range out.Trees {
				fmt.Fprintf(&index, "tree %s group=%s service=%s\n", tr.Link, tr.Group, tr.Service)
				for _, f := range tr.Files {
					fmt.Fprintf(&index, "  %s %v %d bytes\n", f.Path, f.Mode, len(f.Content))
				}
			}
			for _, g := range slices.Sorted(maps.Keys(out.MoveAside)) {
				fmt.Fprintf(&index, "move-aside %s -> %s\n", g, out.MoveAside[g])
			}
			want := siteFiles(out)
			want["files.txt"] = []byte(index.String())
			compareGolden(t, dir, want)
		})
	}
}

// compareGolden checks that dir holds exactly the files of want, or
// rewrites it under -update.
func compareGolden(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for p, content := range want {
			file := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	got := map[string]bool{}
	err := filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, file)
		rel = filepath.ToSlash(rel)
		got[rel] = true
		golden, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		content, ok := want[rel]
		if !ok {
			t.Errorf("golden %s is no longer rendered (run go test -update)", rel)
		} else if !bytes.Equal(content, golden) {
			t.Errorf("%s differs from its golden file (run go test -update and read the diff): %s", rel, firstDiff(content, golden))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		if !got[p] {
			t.Errorf("%s has no golden file (run go test -update)", p)
		}
	}
}

// firstDiff shows the first line where got and want part.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "same lines"
}

// TestRenderIsPure: the same pack renders the same bytes, which is what
// makes a second apply write nothing (and the tree's release hash stay).
func TestRenderIsPure(t *testing.T) {
	for _, name := range testPacks {
		p := loadPack(t, filepath.Join("testdata", name+".yaml"))
		a, b := siteFiles(render(t, p)), siteFiles(render(t, p))
		if !maps.EqualFunc(a, b, bytes.Equal) {
			t.Errorf("%s renders differently twice", name)
		}
	}
}

// TestRenderConcurrently: the engine runs renderers at the same time, and
// may render several packs at once (plan while the daemon applies); the
// shared Markdown converter, sanitiser and templates must allow it (run
// with -race).
func TestRenderConcurrently(t *testing.T) {
	p := loadPack(t, "testdata/pack.yaml")
	want := siteFiles(render(t, p))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			out := &provision.Desired{MoveAside: map[string]string{}}
			if err := (Renderer{}).Render(&provision.RenderInput{Pack: p, Root: "/"}, out); err != nil {
				t.Error(err)
				return
			}
			if got := siteFiles(out); !maps.EqualFunc(got, want, bytes.Equal) {
				t.Error("the render differs when run concurrently")
			}
		})
	}
	wg.Wait()
}

// TestRenderTrees: one tree per site, its link the public folder the web
// server serves, its uploads moved aside with it, and the URL layout of
// the site: /path/ is path/index.html, the 404 page, the feed and the
// calendar at the root.
func TestRenderTrees(t *testing.T) {
	out := render(t, loadPack(t, "testdata/pack.yaml"))
	var links []string
	for _, tr := range out.Trees {
		links = append(links, tr.Link)
		name := path.Base(path.Dir(tr.Link))
		if tr.Link != "var/lib/ruche/sites/"+name+"/public" || tr.Group != "site:"+name || tr.Service != "web" {
			t.Errorf("tree %+v", tr)
		}
		if got := out.MoveAside[tr.Group]; got != "var/lib/ruche/sites/"+name+"/uploads" {
			t.Errorf("%s: uploads moved aside from %q", name, got)
		}
		for _, f := range tr.Files {
			if f.Mode != 0o644 || strings.HasPrefix(f.Path, "/") || strings.HasPrefix(f.Path, "uploads/") || path.Clean(f.Path) != f.Path {
				t.Errorf("%s: file %s mode %v", name, f.Path, f.Mode)
			}
		}
	}
	if want := []string{"var/lib/ruche/sites/vitrine/public", "var/lib/ruche/sites/fete-2026/public",
		"var/lib/ruche/sites/brocante/public", "var/lib/ruche/sites/journal/public"}; !slices.Equal(links, want) {
		t.Errorf("trees %q, want %q", links, want)
	}
	files := siteFiles(out)
	for _, want := range []string{"vitrine/index.html", "vitrine/contact/index.html", "vitrine/activites/atelier-velo/index.html",
		"vitrine/404.html", "fete-2026/event.ics", "fete-2026/benevoles/index.html", "brocante/event.ics",
		"journal/feed.atom", "journal/2026/assemblee/index.html", "journal/404.html"} {
		if files[want] == nil {
			t.Errorf("%s not rendered", want)
		}
	}
	for _, unwanted := range []string{"vitrine/feed.atom", "vitrine/event.ics", "journal/event.ics", "fete-2026/feed.atom"} {
		if files[unwanted] != nil {
			t.Errorf("%s rendered", unwanted)
		}
	}
}

// TestRenderLayout checks what pages must carry, whatever the golden
// files say.
func TestRenderLayout(t *testing.T) {
	files := siteFiles(render(t, loadPack(t, "testdata/pack.yaml")))
	checks := []struct{ file, want string }{
		{"vitrine/index.html", `<html lang="fr">`},
		{"vitrine/index.html", `<title>Café d&#39;ANAIS</title>`},
		{"vitrine/index.html", `<li><a href="/" aria-current="page">Accueil</a></li>
<li><a href="/contact">Nous trouver</a></li>`},
		{"vitrine/contact/index.html", `<title>Nous trouver · Café d&#39;ANAIS</title>`},
		{"vitrine/contact/index.html", `<a href="/contact" aria-current="page">`},
		{"vitrine/activites/atelier-velo/index.html", `<del>Fermé</del>`},
		{"vitrine/404.html", `<h1>Page introuvable</h1>`},
		{"vitrine/index.html", "Contact\u00a0: <a href=\"mailto:contact@cafe-anais.org\">"},
		// The contact block, on every page of a showcase.
		{"vitrine/contact/index.html", `<p>12 rue des Lilas<br>69007 Lyon</p>`},
		{"vitrine/contact/index.html", `<a href="tel:0472000000">04 72 00 00 00</a>`},
		{"vitrine/contact/index.html", `<a href="mailto:bonjour@cafe-anais.org">bonjour@cafe-anais.org</a>`},
		{"vitrine/contact/index.html", "<li>Samedi : 10\u00a0h – 18\u00a0h</li>"},
		{"vitrine/contact/index.html", `<li><a href="/uploads/statuts.pdf">Statuts (PDF)</a></li>`},
		{"vitrine/index.html", `<p class="tagline">Café associatif, atelier vélo et repair café à Lyon 7e</p>`},
		// Images always have an alt text, empty when the page gave none.
		{"vitrine/index.html", `<img src="/uploads/salle.jpg" alt="La salle du café un soir de jeux" loading="lazy">`},
		{"vitrine/activites/atelier-velo/index.html", `<img src="/uploads/velo.jpg" alt="" loading="lazy">`},
		// The event: when, where, registration, calendar.
		{"fete-2026/index.html", "<dd>dimanche 21 juin 2026, de 18\u00a0h à 1\u00a0h\u00a030 le lendemain</dd>"},
		{"fete-2026/index.html", `<dd>Place du marché<br>69007 Lyon</dd>`},
		{"fete-2026/index.html", `<a class="button" href="https://inscriptions.example.org/fete-2026">S&#39;inscrire</a>`},
		{"fete-2026/index.html", `<a class="button alt" href="/event.ics" type="text/calendar" download>Ajouter à mon agenda</a>`},
		{"fete-2026/index.html", `<h1>La fête</h1>`},
		{"brocante/index.html", `<dd>du samedi 12 septembre 2026 au dimanche 13 septembre 2026</dd>`},
		// News: posts newest first (same day: pack order), dated, in the
		// feed; undated pages in the navigation, posts not.
		{"journal/index.html", `<link rel="alternate" type="application/atom+xml" title="Le journal du café" href="/feed.atom">`},
		{"journal/index.html", `<li><a href="/a-propos">À propos</a></li>`},
		{"journal/index.html", `<h3><a href="/2026/repair-cafe">Repair café : 30 objets réparés</a></h3>
<time datetime="2026-05-02">2 mai 2026</time>`},
		{"journal/2026/assemblee/index.html", `<p class="meta">Publié le <time datetime="2026-03-14">14 mars 2026</time></p>`},
		{"journal/2026/assemblee/index.html", `<li><a href="/">Le journal</a></li>`},
	}
	for _, c := range checks {
		got, ok := files[c.file]
		if !ok {
			t.Errorf("%s not rendered", c.file)
			continue
		}
		if !strings.Contains(string(got), c.want) {
			t.Errorf("%s: want %q in:\n%s", c.file, c.want, got)
		}
	}
	index := string(files["journal/index.html"])
	if a, b, c := strings.Index(index, "/2026/repair-cafe"), strings.Index(index, "/2026/fete"), strings.Index(index, "/2026/assemblee\""); !(a < b && b < c) {
		t.Errorf("journal: posts not newest first (%d, %d, %d)", a, b, c)
	}
	if strings.Contains(index, `<li><a href="/2026/`) {
		t.Error("journal: a post is in the navigation")
	}

	en := siteFiles(render(t, loadPack(t, "testdata/pack-en.yaml")))
	for file, wants := range map[string][]string{
		"home/404.html":       {`<html lang="en">`, "<h1>Page not found</h1>", "Back to the home page"},
		"open-day/index.html": {"<dd>Saturday 1 August 2026, 10:00</dd>", `<h1>Open day</h1>`, "Add to my calendar"},
		"news/index.html":     {`<time datetime="2026-01-05">5 January 2026</time>`, "Hello, &lt;world&gt; &amp; friends"},
	} {
		for _, want := range wants {
			if !strings.Contains(string(en[file]), want) {
				t.Errorf("%s: want %q in:\n%s", file, want, en[file])
			}
		}
	}
	if strings.Contains(string(en["home/index.html"]), "<aside") {
		t.Error("a showcase with no contact details has a side column")
	}
}

// TestPages checks every HTML page of every test pack as a browser and a
// screen reader would meet it: under 100 KB, a language, one title, one
// <main>, one <h1>, a skip link to the main content, landmarks, and no
// script at all.
func TestPages(t *testing.T) {
	for _, name := range testPacks {
		for file, content := range siteFiles(render(t, loadPack(t, filepath.Join("testdata", name+".yaml")))) {
			if !strings.HasSuffix(file, ".html") {
				continue
			}
			if len(content) >= 100_000 {
				t.Errorf("%s %s: %d bytes, want under 100 KB", name, file, len(content))
			}
			doc, err := html.Parse(bytes.NewReader(content))
			if err != nil {
				t.Fatalf("%s %s: %v", name, file, err)
			}
			count := map[string]int{}
			var lang, title, skip string
			var walk func(n *html.Node)
			walk = func(n *html.Node) {
				if n.Type == html.ElementNode {
					count[n.Data]++
					switch n.Data {
					case "html":
						lang = attr(n, "lang")
					case "title":
						if n.FirstChild != nil {
							title = n.FirstChild.Data
						}
					case "a":
						if skip == "" {
							skip = attr(n, "href")
						}
					case "img":
						if !hasAttr(n, "alt") {
							t.Errorf("%s %s: an image without alt", name, file)
						}
					}
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
			}
			walk(doc)
			switch {
			case lang != "fr" && lang != "en":
				t.Errorf("%s %s: lang %q", name, file, lang)
			case strings.TrimSpace(title) == "" || count["title"] != 1:
				t.Errorf("%s %s: title %q", name, file, title)
			case count["main"] != 1 || count["h1"] != 1 || count["header"] != 1 || count["footer"] != 1:
				t.Errorf("%s %s: %d main, %d h1, %d header, %d footer; want one each", name, file, count["main"], count["h1"], count["header"], count["footer"])
			case count["script"] != 0:
				t.Errorf("%s %s: a <script>", name, file)
			case skip != "#main":
				t.Errorf("%s %s: first link %q, want the skip link to #main", name, file, skip)
			case count["nav"] > 0 && !bytes.Contains(content, []byte(`aria-current="page"`)) && !strings.HasSuffix(file, "404.html") && !isPost(file):
				t.Errorf("%s %s: no aria-current in the navigation", name, file)
			}
		}
	}
}

// TestLongNews: years of posts keep a news index under 100 KB (older
// posts without their summary) and the feed to the newest ones.
func TestLongNews(t *testing.T) {
	s := provision.Site{Name: "n", Template: "news", Title: "N"}
	body := strings.Repeat("Une longue nouvelle, avec beaucoup de mots pour remplir le résumé. ", 10)
	for i := range 400 {
		day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i*3)
		s.Pages = append(s.Pages, provision.Page{Path: fmt.Sprintf("/post-%d", i), Title: fmt.Sprintf("Nouvelle numéro %d du journal", i),
			Date: day.Format(time.DateOnly), Body: body})
	}
	p := &provision.Pack{Association: provision.Association{Slug: "a"}, Box: provision.Box{Hostname: "b"}, Sites: []provision.Site{s}}
	files := siteFiles(render(t, p))
	if n := len(files["n/index.html"]); n >= 100_000 {
		t.Errorf("index of 400 posts: %d bytes, want under 100 KB", n)
	}
	if n := strings.Count(string(files["n/feed.atom"]), "<entry>"); n != maxListed {
		t.Errorf("feed has %d entries, want the %d newest", n, maxListed)
	}
	if feed := string(files["n/feed.atom"]); !strings.Contains(feed, `/post-399"`) || !strings.Contains(feed, `/post-380"`) || strings.Contains(feed, `/post-379"`) {
		t.Error("the feed does not hold the newest posts")
	}
}

// isPost reports whether file is a news post, which the navigation does
// not list.
func isPost(file string) bool {
	return strings.HasPrefix(file, "journal/2026/") || file == "news/first/index.html"
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

// TestXSS: whatever a page body holds, no script reaches a browser. The
// rendered HTML is parsed, as a browser would, and searched for anything
// that runs: <script>, <iframe>, <object>, <embed>, on* attributes,
// javascript:/vbscript:/data: URLs, <style> and style= outside the layout's own.
func TestXSS(t *testing.T) {
	bodies := []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(1)>`,
		`<img src="x" onerror="alert(1)">`,
		`[click](javascript:alert(1))`,
		`[click](JaVaScRiPt:alert(1))`,
		`[click](  javascript:alert(1))`,
		`<a href="javascript:alert(1)">click</a>`,
		`<a href="jav&#x09;ascript:alert(1)">click</a>`,
		`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">click</a>`,
		`![x](javascript:alert(1))`,
		`<svg onload=alert(1)><circle r=1 /></svg>`,
		`<iframe src="https://evil.example/"></iframe>`,
		`<object data="x.swf"></object><embed src="x.swf">`,
		`<a href="vbscript:msgbox(1)">x</a>`,
		`<a href="data:text/html,<script>alert(1)</script>">x</a>`,
		`<div style="background:url(javascript:alert(1))">x</div>`,
		`<style>body{display:none}</style>`,
		`<form action="https://evil.example/"><input name=a></form>`,
		`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
		`<details open ontoggle=alert(1)>x</details>`,
		"```html\n<script>alert(1)</script>\n```",
		`<scr<script>ipt>alert(1)</script>`,
		`<base href="https://evil.example/">`,
		`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
		`<svg><script>alert(1)</script></svg>`,
		`<svg><a xlink:href="javascript:alert(1)"><text y="20">x</text></a></svg>`,
		`![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)`,
		`<img src="data:image/svg+xml,<svg onload=alert(1)>">`,
		`[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
		`<p style="width:expression(alert(1))">x</p>`,
		`<div style="behavior:url(x.htc)">x</div>`,
		`<link rel="stylesheet" href="javascript:alert(1)">`,
		`<a href="  &#x6A;avascript:alert(1)">x</a>`,
		"<a href=\"java\nscript:alert(1)\">x</a>",
		`<img src=x alt="" onerror=alert(1)>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
		`<a href="/ok" target="_blank" onclick="alert(1)">x</a>`,
	}
	// The detector itself must see what it looks for.
	for _, bad := range []string{`<p><img src=x onerror=alert(1)></p>`, `<script>1</script>`, `<a href=" JavaScript:x">`, `<link rel="stylesheet" href="x">`, `<img src="data:image/png,x">`} {
		if active([]byte(bad)) == "" {
			t.Fatalf("active(%q) sees nothing", bad)
		}
	}
	// Every param a template prints, hostile too: validation would refuse
	// most of these, but the renderer must not depend on it.
	params := map[string]string{
		"tagline":      `</title><script>alert("tagline")</script>`,
		"address":      "<script>alert(1)</script>\n\"><img src=x onerror=alert(1)>",
		"phone":        `"><script>alert(1)</script>`,
		"email":        `x" onmouseover="alert(1)`,
		"hours":        `<img src=x onerror=alert(1)>`,
		"links":        "Click|javascript:alert(1)\nData|data:text/html,<script>alert(1)</script>\n<b onclick=x>|https://ok.example/\\\"onclick=\"x",
		"date":         "2026-06-21",
		"time":         `"><script>alert(1)</script>`,
		"place":        "\"><img src=x onerror=alert(1)>\r\nBEGIN:VALARM",
		"registration": "javascript:alert(1)",
	}
	for i, body := range bodies {
		p := &provision.Pack{
			Association: provision.Association{Name: `<script>alert("asso")</script>`, Slug: "x", Contact: `x" onmouseover="alert(1)`},
			Box:         provision.Box{Hostname: "box"},
			Sites: []provision.Site{{
				Name:   "s",
				Title:  `</title><script>alert("title")</script>`,
				Params: params,
				Pages: []provision.Page{{
					Path:  "/",
					Title: `<img src=x onerror=alert(1)>`,
					Body:  body,
				}, {
					Path:  "/post",
					Title: `<script>alert("post")</script>`,
					Date:  "2026-06-01",
					Body:  body,
				}},
			}},
		}
		for _, tpl := range []string{"showcase", "event", "news"} {
			p.Sites[0].Template = tpl
			for file, content := range siteFiles(render(t, p)) {
				switch path.Ext(file) {
				case ".html":
					if problem := active(content); problem != "" {
						t.Errorf("body %d %q, template %s, %s: %s\n%s", i, body, tpl, file, problem, content)
					}
				case ".atom":
					// A feed reader renders an entry's content as HTML once
					// it has unescaped it: it must be as inert as a page.
					var feed struct {
						Entries []struct {
							Content string `xml:"content"`
						} `xml:"entry"`
					}
					if err := xml.Unmarshal(content, &feed); err != nil {
						t.Fatalf("%s: %v", file, err)
					}
					for _, e := range feed.Entries {
						if problem := active([]byte(e.Content)); problem != "" {
							t.Errorf("body %d %q, %s: %s\n%s", i, body, file, problem, e.Content)
						}
					}
				case ".ics":
					// A line break in a value must not start a component.
					for _, line := range strings.Split(string(content), "\r\n") {
						if strings.HasPrefix(line, "BEGIN:VALARM") {
							t.Errorf("%s: a param's line break reached the calendar:\n%s", file, content)
						}
					}
				}
			}
		}
	}
}

// active parses a page as a browser would and returns what in it could run
// script, or "".
func active(page []byte) string {
	z := html.NewTokenizer(bytes.NewReader(page))
	styles := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "link":
				// The layout's own feed link is the one <link> a page has.
				if len(tok.Attr) != 4 || tok.Attr[0].Val != "alternate" || tok.Attr[1].Val != "application/atom+xml" {
					return "element <link>"
				}
			case "script", "iframe", "object", "embed", "base", "meta", "form", "input", "svg", "math", "frame", "applet":
				// The layout's own: charset, viewport and description.
				if tok.Data == "meta" && (len(tok.Attr) == 1 && tok.Attr[0].Key == "charset" ||
					len(tok.Attr) == 2 && tok.Attr[0].Key == "name" && (tok.Attr[0].Val == "viewport" || tok.Attr[0].Val == "description") && tok.Attr[1].Key == "content") {
					continue
				}
				return "element <" + tok.Data + ">"
			case "style":
				if styles++; styles > 1 {
					return "a second <style>"
				}
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
				switch {
				case strings.HasPrefix(a.Key, "on"):
					return "attribute " + a.Key
				case a.Key == "style":
					return "attribute style"
				case (a.Key == "href" || a.Key == "src" || a.Key == "action" || a.Key == "cite" || a.Key == "formaction") &&
					(strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:") || strings.HasPrefix(v, "data:")):
					return a.Key + "=" + a.Val
				}
			}
		}
	}
}

func TestPagePaths(t *testing.T) {
	ok := map[string]string{
		"/":                "/",
		"/contact":         "/contact",
		"/contact/":        "/contact",
		"/a/b/c":           "/a/b/c",
		"/fête":            "/fête",
		"/mon projet":      "/mon projet",
		"/uploads-archive": "/uploads-archive",
	}
	for in, want := range ok {
		got, err := cleanPath(in)
		if err != nil || got != want {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "contact", "//", "/a//b", "/a/../b", "/..", "/./a", "/a%20b", "/a?b", "/a#b", `/a\b`, "/a\nb",
		"/uploads", "/uploads/x", "/404.html", "/index.html", "/a/index.html", "/feed.atom", "/event.ics/x"} {
		if got, err := cleanPath(bad); err == nil {
			t.Errorf("cleanPath(%q) = %q, want an error", bad, got)
		}
	}
	if got, want := pagePath("/"), "index.html"; got != want {
		t.Errorf("pagePath(/) = %q, want %q", got, want)
	}
	if got, want := pagePath("/a/b"), "a/b/index.html"; got != want {
		t.Errorf("pagePath(/a/b) = %q, want %q", got, want)
	}
}

func TestRenderErrors(t *testing.T) {
	cases := []struct {
		name string
		site provision.Site
		want string
	}{
		{"unknown template", provision.Site{Name: "s", Template: "blog"}, `site s: unknown template "blog" (templates: event, news, showcase)`},
		{"duplicate page", provision.Site{Name: "s", Pages: []provision.Page{{Path: "/a"}, {Path: "/a/"}}}, `site s: page "/a/": two pages have this path`},
		{"reserved path", provision.Site{Name: "s", Pages: []provision.Page{{Path: "/uploads/x"}}}, `site s: page "/uploads/x": the path /uploads is reserved`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &provision.Pack{Sites: []provision.Site{c.site}}
			err := (Renderer{}).Render(&provision.RenderInput{Pack: p, Root: "/"}, &provision.Desired{})
			if err == nil {
				t.Fatal("got no error")
			}
			if got := i18n.Localize(err, i18n.EN); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestDocsExamples: every "sites:" example of docs/sites.md is a valid
// pack once given a header, and renders. A technician copies them.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/sites.md")
	if err != nil {
		t.Fatal(err)
	}
	const header = "apiVersion: ruche/v1\nkind: Pack\nassociation: {name: A, slug: asso, contact: contact@example.org}\nbox: {hostname: box, timezone: Europe/Paris}\n"
	n := 0
	for _, block := range strings.Split(string(doc), "```yaml\n")[1:] {
		example, _, _ := strings.Cut(block, "```")
		if !strings.HasPrefix(example, "sites:") {
			continue
		}
		n++
		p, err := provision.Load("docs/sites.md", []byte(header+example))
		if err != nil {
			t.Errorf("example %d:\n%s\n%s", n, i18n.Localize(err, i18n.EN), example)
			continue
		}
		render(t, p)
	}
	if n != 6 {
		t.Errorf("found %d examples in docs/sites.md, want 6", n)
	}
}
