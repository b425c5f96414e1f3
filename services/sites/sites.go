// Package sites renders the site farm: every site of the pack becomes a
// folder of static HTML files that services/web serves.
//
// For a site NAME, Ruche owns var/lib/ruche/sites/NAME/public (rendered
// pages, one index.html per page path, and 404.html) and never writes in
// var/lib/ruche/sites/NAME/uploads, where users' files live: when the site
// leaves the pack its pages are removed and its uploads moved aside.
package sites

import (
	"bytes"
	"html/template"
	"path"
	"runtime"
	"strings"
	"sync"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/templates"
)

// Where a site lives, relative to the root. services/web serves these
// folders; its integration test renders with this package to keep the two
// in step.
const (
	sitesDir = "var/lib/ruche/sites"
	// NotFoundFile is the page served for any missing path of a site.
	NotFoundFile = "404.html"
	// UploadsURL is the URL prefix of a site's uploads; no page may use it.
	UploadsURL = "/uploads"
	// DefaultTemplate is used when a site names none.
	DefaultTemplate = "showcase"
	// Service is the service that serves the rendered files.
	Service = "web"
)

// Dir is the folder of site name, relative to the root.
func Dir(name string) string { return sitesDir + "/" + name }

// PublicDir holds what Ruche renders for site name.
func PublicDir(name string) string { return Dir(name) + "/public" }

// UploadsDir holds what users upload for site name; Ruche never writes
// there.
func UploadsDir(name string) string { return Dir(name) + "/uploads" }

// Group is the group of the files of site name, for the engine's removal
// of a site that left the pack.
func Group(name string) string { return "site:" + name }

// Renderer renders every site of the pack. It implements provision.Renderer.
type Renderer struct{}

var _ provision.Renderer = Renderer{}

// Name is "sites".
func (Renderer) Name() string { return "sites" }

// Render appends the files of every site to out.
func (Renderer) Render(in *provision.RenderInput, out *provision.Desired) error {
	if out.MoveAside == nil {
		out.MoveAside = map[string]string{}
	}
	lang := i18n.Parse(in.Pack.Locale())
	// Sites are independent: render them on every core, then collect them
	// in pack order so the output stays the same byte for byte.
	sites := in.Pack.Sites
	files := make([][]provision.File, len(sites))
	errs := make([]error, len(sites))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(sites)) {
		wg.Go(func() {
			for i := range next {
				files[i], errs[i] = renderSite(in.Pack, &sites[i], lang)
			}
		})
	}
	for i := range sites {
		next <- i
	}
	close(next)
	wg.Wait()
	for i := range sites {
		if errs[i] != nil {
			return i18n.Wrap(errs[i], msgSite, sites[i].Name)
		}
		out.Files = append(out.Files, files[i]...)
		out.MoveAside[Group(sites[i].Name)] = UploadsDir(sites[i].Name)
	}
	return nil
}

var (
	msgSite      = i18n.M{FR: "site %s", EN: "site %s"}
	msgPagePath  = i18n.M{FR: "page %q : chemin invalide (un chemin commence par / et ne contient ni .., ni %%, ?, #, \\)", EN: "page %q: invalid path (a path starts with / and holds no .., %%, ?, #, \\)"}
	msgReserved  = i18n.M{FR: "page %q : le chemin %s est réservé", EN: "page %q: the path %s is reserved"}
	msgDuplicate = i18n.M{FR: "page %q : deux pages ont ce chemin", EN: "page %q: two pages have this path"}
)

// page is one page to render, its path cleaned.
type page struct {
	url     string // "/", "/contact"
	title   string // in the navigation
	heading string // the page's <h1>, when it differs from title
	body    string // Markdown
}

func renderSite(p *provision.Pack, s *provision.Site, lang i18n.Lang) ([]provision.File, error) {
	tpl := s.Template
	if tpl == "" {
		tpl = DefaultTemplate
	}
	if !templates.Known(tpl) {
		return nil, i18n.Errorf(msgUnknownTemplate, tpl, strings.Join(templates.Names(), ", "))
	}

	title := firstNonEmpty(s.Title, p.Association.Name, s.Name)
	pages, err := sitePages(s, title, lang)
	if err != nil {
		return nil, err
	}
	nav := make([]templates.Link, len(pages))
	for i, pg := range pages {
		nav[i] = templates.Link{Title: pg.title, Path: pg.url}
	}
	base := templates.SitePage{
		Lang:        lang,
		Association: p.Association.Name,
		Contact:     p.Association.Contact,
		SiteName:    s.Name,
		SiteTitle:   title,
		Params:      s.Params,
	}

	files := make([]provision.File, 0, len(pages)+1)
	for i, pg := range pages {
		data := base
		data.Nav = withCurrent(nav, i)
		data.Title, data.Path, data.Home = firstNonEmpty(pg.heading, pg.title), pg.url, pg.url == "/"
		data.Body, err = Markdown(pg.body)
		if err != nil {
			return nil, err
		}
		content, err := execute(tpl, &data)
		if err != nil {
			return nil, err
		}
		files = append(files, siteFile(s.Name, pagePath(pg.url), content))
	}

	notFound := base
	notFound.Nav = nav
	notFound.Title = templates.NotFoundTitle(lang)
	notFound.NotFound = true
	content, err := execute(tpl, &notFound)
	if err != nil {
		return nil, err
	}
	files = append(files, siteFile(s.Name, NotFoundFile, content))
	return files, nil
}

var msgUnknownTemplate = i18n.M{
	FR: "modèle %q inconnu (modèles : %s)",
	EN: "unknown template %q (templates: %s)",
}

// sitePages checks the pack's pages and puts the home page first. A site
// with no "/" page still gets a home page (the event template, for one,
// shows its params there), titled with the site's title.
func sitePages(s *provision.Site, title string, lang i18n.Lang) ([]page, error) {
	pages := make([]page, 0, len(s.Pages)+1)
	seen := make(map[string]bool, len(s.Pages))
	home := -1
	for _, pg := range s.Pages {
		u, err := cleanPath(pg.Path)
		if err != nil {
			return nil, err
		}
		if seen[u] {
			return nil, i18n.Errorf(msgDuplicate, pg.Path)
		}
		seen[u] = true
		if u == "/" {
			home = len(pages)
		}
		pages = append(pages, page{url: u, title: firstNonEmpty(pg.Title, u), body: pg.Body})
	}
	switch {
	case home < 0:
		pages = append([]page{{url: "/", title: templates.HomeTitle(lang), heading: title}}, pages...)
	case home > 0:
		h := pages[home]
		copy(pages[1:home+1], pages[:home])
		pages[0] = h
	}
	return pages, nil
}

// cleanPath turns a pack page path into the URL path it is served at. It
// refuses rather than repairs: a path that would escape public/, clash with
// uploads or the 404 page, or that a browser would not send back as
// written (%, ?, #) is the pack's mistake, to be told, not guessed.
func cleanPath(p string) (string, error) {
	if p == "/" {
		return "/", nil
	}
	trimmed := strings.TrimSuffix(p, "/")
	if len(trimmed) < 2 || trimmed[0] != '/' || path.Clean(trimmed) != trimmed ||
		strings.ContainsAny(trimmed, `%?#\`) || strings.IndexFunc(trimmed, unicode.IsControl) >= 0 {
		return "", i18n.Errorf(msgPagePath, p)
	}
	segments := strings.Split(trimmed[1:], "/")
	switch "/" + segments[0] {
	case UploadsURL, "/" + NotFoundFile:
		return "", i18n.Errorf(msgReserved, p, "/"+segments[0])
	}
	// A folder named index.html would clash with its parent page's file.
	for _, seg := range segments {
		if seg == "index.html" {
			return "", i18n.Errorf(msgReserved, p, "index.html")
		}
	}
	return trimmed, nil
}

// pagePath is the file of a page under public/: every page is a folder
// with an index.html, so that its URL has no extension.
func pagePath(url string) string {
	if url == "/" {
		return "index.html"
	}
	return url[1:] + "/index.html"
}

func siteFile(site, rel string, content []byte) provision.File {
	return provision.File{
		Path:    PublicDir(site) + "/" + rel,
		Content: content,
		Mode:    0o644,
		Service: Service,
		Group:   Group(site),
	}
}

func withCurrent(nav []templates.Link, current int) []templates.Link {
	out := append([]templates.Link(nil), nav...)
	out[current].Current = true
	return out
}

func execute(tpl string, data *templates.SitePage) ([]byte, error) {
	var buf bytes.Buffer
	if err := templates.Site(&buf, tpl, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// markdown converts page bodies, with GitHub's tables, strikethrough and
// autolinks but not its task lists, whose checkboxes the sanitiser would
// drop (a literal "[x]" says more than nothing). Raw HTML is let through goldmark on
// purpose (a <details> or <sup> in a page is legitimate) because every
// output is sanitised afterwards: the sanitiser, not the Markdown
// converter, is the one place that decides what reaches a browser.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

// policy is bluemonday's policy for user-generated content: no script, no
// event handler, no style, only http, https and mailto URLs. Pages are the
// association's own text, so its links do not get rel="nofollow", which
// would hide the association's own pages from search engines.
var policy = bluemonday.UGCPolicy().RequireNoFollowOnLinks(false)

// Markdown renders a page body to sanitised HTML, safe to print unescaped.
func Markdown(src string) (template.HTML, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return "", err
	}
	return template.HTML(policy.SanitizeBytes(buf.Bytes())), nil
}
