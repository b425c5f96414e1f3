package sites

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"
	"gopkg.in/yaml.v3"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// loadPack decodes a test pack strictly. It does not validate: these tests
// are about rendering, and provision's own tests cover validation.
func loadPack(t *testing.T, file string) *provision.Pack {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var p provision.Pack
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &p
}

func render(t *testing.T, p *provision.Pack) *provision.Desired {
	t.Helper()
	out := &provision.Desired{MoveAside: map[string]string{}}
	if err := (Renderer{}).Render(&provision.RenderInput{Pack: p, Root: "/"}, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRenderGolden renders each test pack and compares every file with its
// golden copy under testdata/golden/<pack>/, plus an index (files.txt) of
// the files' modes, groups and services and of the folders moved aside.
// Run with -update to rewrite them, then read the diff.
func TestRenderGolden(t *testing.T) {
	for _, name := range []string{"pack", "pack-en"} {
		t.Run(name, func(t *testing.T) {
			out := render(t, loadPack(t, filepath.Join("testdata", name+".yaml")))
			dir := filepath.Join("testdata", "golden", name)

			var index strings.Builder
			want := map[string][]byte{}
			for _, f := range out.Files {
				fmt.Fprintf(&index, "%s %v group=%s service=%s\n", f.Path, f.Mode, f.Group, f.Service)
				want[f.Path] = f.Content
			}
			for _, g := range slices.Sorted(maps.Keys(out.MoveAside)) {
				fmt.Fprintf(&index, "move-aside %s -> %s\n", g, out.MoveAside[g])
			}
			want["files.txt"] = []byte(index.String())

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
		})
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
// makes a second apply write nothing.
func TestRenderIsPure(t *testing.T) {
	p := loadPack(t, "testdata/pack.yaml")
	a, b := render(t, p), render(t, p)
	if len(a.Files) != len(b.Files) {
		t.Fatalf("got %d then %d files", len(a.Files), len(b.Files))
	}
	for i := range a.Files {
		if a.Files[i].Path != b.Files[i].Path || !bytes.Equal(a.Files[i].Content, b.Files[i].Content) {
			t.Errorf("%s renders differently twice", a.Files[i].Path)
		}
	}
}

// TestRenderConcurrently: the engine runs renderers at the same time, and
// may render several packs at once (plan while the daemon applies); the
// shared Markdown converter, sanitiser and templates must allow it (run
// with -race).
func TestRenderConcurrently(t *testing.T) {
	p := loadPack(t, "testdata/pack.yaml")
	want := render(t, p)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			out := &provision.Desired{MoveAside: map[string]string{}}
			if err := (Renderer{}).Render(&provision.RenderInput{Pack: p, Root: "/"}, out); err != nil {
				t.Error(err)
				return
			}
			for i := range out.Files {
				if !bytes.Equal(out.Files[i].Content, want.Files[i].Content) {
					t.Errorf("%s differs when rendered concurrently", out.Files[i].Path)
				}
			}
		})
	}
	wg.Wait()
}

// TestRenderLayout checks what each page must carry, whatever the golden
// files say: <html lang>, the home page first in the navigation, the
// current page marked, the 404 page in the pack's language, no file in
// uploads.
func TestRenderLayout(t *testing.T) {
	out := render(t, loadPack(t, "testdata/pack.yaml"))
	files := map[string]string{}
	for _, f := range out.Files {
		files[f.Path] = string(f.Content)
		if strings.Contains(f.Path, "/uploads/") {
			t.Errorf("Ruche renders %s in an uploads folder", f.Path)
		}
	}
	checks := []struct{ file, want string }{
		{"var/lib/ruche/sites/vitrine/public/index.html", `<html lang="fr">`},
		{"var/lib/ruche/sites/vitrine/public/index.html", `<title>Café d&#39;ANAIS</title>`},
		{"var/lib/ruche/sites/vitrine/public/index.html", `<li><a href="/" aria-current="page">Accueil</a></li>
<li><a href="/contact">Nous trouver</a></li>`},
		{"var/lib/ruche/sites/vitrine/public/contact/index.html", `<title>Nous trouver · Café d&#39;ANAIS</title>`},
		{"var/lib/ruche/sites/vitrine/public/activites/atelier-velo/index.html", `<del>Fermé</del>`},
		{"var/lib/ruche/sites/vitrine/public/404.html", `<h1>Page introuvable</h1>`},
		{"var/lib/ruche/sites/fete-2026/public/index.html", `<time datetime="2026-06-21">21 juin 2026</time>`},
		{"var/lib/ruche/sites/fete-2026/public/index.html", `Place du marché`},
		{"var/lib/ruche/sites/fete-2026/public/index.html", `<h1>Fête de quartier</h1>`},
		{"var/lib/ruche/sites/vitrine/public/index.html", "Contact\u00a0: <a href=\"mailto:contact@cafe-anais.org\">"},
		{"var/lib/ruche/sites/journal/public/index.html", `<a href="/2026/assemblee">Assemblée générale 2026</a>`},
	}
	for _, c := range checks {
		got, ok := files[c.file]
		if !ok {
			t.Errorf("%s not rendered", c.file)
			continue
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: want %q in:\n%s", c.file, c.want, got)
		}
	}

	en := render(t, loadPack(t, "testdata/pack-en.yaml"))
	for _, f := range en.Files {
		if f.Path == "var/lib/ruche/sites/home/public/404.html" {
			for _, want := range []string{`<html lang="en">`, "<h1>Page not found</h1>", "Back to the home page"} {
				if !strings.Contains(string(f.Content), want) {
					t.Errorf("%s: want %q", f.Path, want)
				}
			}
		}
	}
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
	}
	// The detector itself must see what it looks for.
	for _, bad := range []string{`<p><img src=x onerror=alert(1)></p>`, `<script>1</script>`, `<a href=" JavaScript:x">`} {
		if active([]byte(bad)) == "" {
			t.Fatalf("active(%q) sees nothing", bad)
		}
	}
	for i, body := range bodies {
		p := &provision.Pack{
			Association: provision.Association{Name: `<script>alert("asso")</script>`, Contact: `x" onmouseover="alert(1)`},
			Sites: []provision.Site{{
				Name:   "s",
				Title:  `</title><script>alert("title")</script>`,
				Params: map[string]string{"date": `<script>alert(1)</script>`, "place": `"><img src=x onerror=alert(1)>`},
				Pages: []provision.Page{{
					Path:  "/",
					Title: `<img src=x onerror=alert(1)>`,
					Body:  body,
				}},
			}},
		}
		for _, tpl := range []string{"showcase", "event", "news"} {
			p.Sites[0].Template = tpl
			for _, f := range render(t, p).Files {
				if problem := active(f.Content); problem != "" {
					t.Errorf("body %d %q, template %s, %s: %s\n%s", i, body, tpl, f.Path, problem, f.Content)
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
			case "script", "iframe", "object", "embed", "base", "meta", "form", "input", "svg", "math", "frame", "applet":
				if tok.Data == "meta" && len(tok.Attr) > 0 && (tok.Attr[0].Key == "charset" || tok.Attr[0].Val == "viewport") {
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
		"/uploads", "/uploads/x", "/404.html", "/index.html", "/a/index.html"} {
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
