// Package sites renders the site farm: every site of the pack becomes a
// tree of static files (HTML pages, and per template an Atom feed or an
// iCalendar file) that services/web serves.
//
// For a site NAME, Ruche owns var/lib/ruche/sites/NAME/public, a symlink
// the engine switches atomically to each new release of the tree, and
// never writes in var/lib/ruche/sites/NAME/uploads, where users' files
// live: when the site leaves the pack its pages are removed and its
// uploads moved aside.
package sites

import (
	"bytes"
	"cmp"
	"html/template"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
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
	// FeedFile is a news site's Atom feed, at the root of its tree.
	FeedFile = "feed.atom"
	// CalendarFile is an event site's iCalendar file, at the root of its
	// tree.
	CalendarFile = "event.ics"
	// UploadsURL is the URL prefix of a site's uploads; no page may use it.
	UploadsURL = "/uploads"
	// DefaultTemplate is used when a site names none.
	DefaultTemplate = "showcase"
	// Service is the service that serves the rendered files.
	Service = "web"
)

// Dir is the folder of site name, relative to the root.
func Dir(name string) string { return sitesDir + "/" + name }

// PublicDir is the symlink to the release of what Ruche renders for site
// name, the folder Caddy serves.
func PublicDir(name string) string { return Dir(name) + "/public" }

// UploadsDir holds what users upload for site name; Ruche never writes
// there.
func UploadsDir(name string) string { return Dir(name) + "/uploads" }

// Group is the group of the tree of site name, for the engine's removal
// of a site that left the pack.
func Group(name string) string { return "site:" + name }

// Renderer renders every site of the pack. It implements provision.Renderer.
type Renderer struct{}

var _ provision.Renderer = Renderer{}

// Name is "sites".
func (Renderer) Name() string { return "sites" }

// Render appends one tree per site to out.
func (Renderer) Render(in *provision.RenderInput, out *provision.Desired) error {
	if out.MoveAside == nil {
		out.MoveAside = map[string]string{}
	}
	lang := i18n.Parse(in.Pack.Locale())
	// Sites are independent: render them on every core, then collect them
	// in pack order so the output stays the same byte for byte.
	sites := in.Pack.Sites
	trees := make([]provision.Tree, len(sites))
	errs := make([]error, len(sites))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(sites)) {
		wg.Go(func() {
			for i := range next {
				trees[i], errs[i] = renderSite(in.Pack, &sites[i], lang)
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
		out.Trees = append(out.Trees, trees[i])
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
	date    string // YYYY-MM-DD, "" when the page has none (or a bad one)
}

// site is what every page of one site shares while it renders.
type site struct {
	pack  *provision.Pack
	spec  *provision.Site
	tpl   string
	lang  i18n.Lang
	title string
	base  string         // absolute URL of the site's home, without the final "/"
	loc   *time.Location // the box's time zone
}

func renderSite(p *provision.Pack, s *provision.Site, lang i18n.Lang) (provision.Tree, error) {
	tree := provision.Tree{Link: PublicDir(s.Name), Group: Group(s.Name), Service: Service}
	tpl := s.Template
	if tpl == "" {
		tpl = DefaultTemplate
	}
	if !templates.Known(tpl) {
		return tree, i18n.Errorf(msgUnknownTemplate, tpl, strings.Join(templates.Names(), ", "))
	}
	st := &site{pack: p, spec: s, tpl: tpl, lang: lang, title: firstNonEmpty(s.Title, p.Association.Name, s.Name),
		base: BaseURL(p, s), loc: location(p.Box.Timezone)}

	pages, err := sitePages(s, st.title, lang)
	if err != nil {
		return tree, err
	}
	bodies := make([]template.HTML, len(pages))
	for i, pg := range pages {
		if bodies[i], err = Markdown(pg.body); err != nil {
			return tree, err
		}
	}

	base := templates.SitePage{
		Lang:        lang,
		Template:    tpl,
		Association: p.Association.Name,
		Contact:     p.Association.Contact,
		SiteName:    s.Name,
		SiteTitle:   st.title,
		Tagline:     strings.TrimSpace(s.Params["tagline"]),
	}
	// What each template adds to its pages, and which pages the
	// navigation lists: a news site's posts are listed on its home page,
	// not in the navigation, which would grow with every post.
	var extra []provision.File
	inNav := func(pg page) bool { return true }
	var ev *templates.Event
	switch tpl {
	case "showcase":
		base.Showcase = showcaseOf(p, s.Params)
	case "event":
		ev = eventOf(s.Params)
		if ev.Date != "" {
			ev.Calendar = "/" + CalendarFile
			extra = append(extra, treeFile(CalendarFile, calendar(st, ev)))
		}
	case "news":
		inNav = func(pg page) bool { return pg.url == "/" || pg.date == "" }
		posts := newsPosts(pages, bodies)
		for i, post := range posts {
			if i >= maxListed {
				// Older posts are listed by title and date only, so
				// that years of news keep the index under 100 KB.
				post.Summary = ""
			}
			base.Posts = append(base.Posts, post.Post)
		}
		if len(posts) > 0 {
			base.Feed = "/" + FeedFile
			feed, err := renderFeed(st, posts[:min(len(posts), maxListed)])
			if err != nil {
				return tree, err
			}
			extra = append(extra, treeFile(FeedFile, feed))
		}
	}

	var nav []templates.Link
	navIndex := make([]int, len(pages)) // page -> its entry in nav, or -1
	for i, pg := range pages {
		navIndex[i] = -1
		if inNav(pg) {
			navIndex[i] = len(nav)
			nav = append(nav, templates.Link{Title: pg.title, Path: pg.url})
		}
	}

	tree.Files = make([]provision.File, 0, len(pages)+1+len(extra))
	for i, pg := range pages {
		data := base
		data.Nav = withCurrent(nav, navIndex[i])
		data.Title, data.Path, data.Home = firstNonEmpty(pg.heading, pg.title), pg.url, pg.url == "/"
		data.Body = bodies[i]
		if data.Home {
			data.Event = ev
		} else {
			// Only the home page lists the posts; a post shows its date.
			data.Posts = nil
			if tpl == "news" {
				data.Date = pg.date
			}
		}
		content, err := execute(tpl, &data)
		if err != nil {
			return tree, err
		}
		tree.Files = append(tree.Files, treeFile(pagePath(pg.url), content))
	}

	notFound := base
	notFound.Nav = nav
	notFound.Posts = nil
	notFound.Title = templates.NotFoundTitle(lang)
	notFound.NotFound = true
	content, err := execute(tpl, &notFound)
	if err != nil {
		return tree, err
	}
	tree.Files = append(tree.Files, treeFile(NotFoundFile, content))
	tree.Files = append(tree.Files, extra...)
	return tree, nil
}

// BaseURL is the absolute URL of a site's home page, without its final
// "/", for what must name the site from outside (the Atom feed, the
// calendar file): its first domain, or its LAN name when it has none;
// https unless the box serves plain HTTP (box.tls: off).
func BaseURL(p *provision.Pack, s *provision.Site) string {
	scheme := "https"
	if p.Box.TLS == "off" {
		scheme = "http"
	}
	host := s.Name + "-" + strings.ToLower(p.Box.Hostname) + ".local"
	if len(s.Domains) > 0 {
		if ascii, ok := provision.ASCIIDomain(s.Domains[0]); ok {
			host = ascii
		}
	}
	return scheme + "://" + host
}

// location is the box's time zone; validation accepted the name, so a
// failure here means no zone was given, which is UTC. Zones are cached:
// loading one parses its file, and a pack has one zone for all its sites.
func location(name string) *time.Location {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		loc = time.UTC
	}
	zones.Store(name, loc)
	return loc
}

var zones sync.Map // zone name -> *time.Location

// showcaseOf reads the contact block of a showcase site. The e-mail
// defaults to the association's contact: a showcase without a way to
// reach the association is rarely what anyone meant.
func showcaseOf(p *provision.Pack, params map[string]string) *templates.Showcase {
	sc := &templates.Showcase{
		Address: templates.Lines(params["address"]),
		Hours:   keepUnits(templates.Lines(params["hours"])),
		Email:   firstNonEmpty(strings.TrimSpace(params["email"]), p.Association.Contact),
	}
	if phone := strings.TrimSpace(params["phone"]); phone != "" {
		if uri, ok := templates.PhoneURI(phone); ok {
			// Digits and "+" only: safe as a URL, which html/template
			// cannot know of a tel: link.
			sc.Phone, sc.PhoneURI = phone, template.URL(uri)
		}
	}
	// Bad lines were refused by validation; a render without it (tests,
	// a pack built in Go) drops them rather than print a dead link.
	sc.Links, _ = templates.ParseLinks(params["links"])
	return sc
}

// reUnit is a number and the unit after it: "14 h", "5 €".
var reUnit = regexp.MustCompile(`(\d) (h\b|€|%)`)

// keepUnits joins numbers to their unit with a no-break space, as French
// typography does, so that a narrow column never leaves "19" on one line
// and "h" on the next.
func keepUnits(lines []string) []string {
	for i, l := range lines {
		lines[i] = reUnit.ReplaceAllString(l, "$1\u00a0$2")
	}
	return lines
}

// eventOf reads when and where an event takes place. What validation
// would refuse is left out here rather than guessed at.
func eventOf(params map[string]string) *templates.Event {
	ev := &templates.Event{Place: templates.Lines(params["place"])}
	if u := strings.TrimSpace(params["registration"]); templates.SafeURL(u) {
		ev.Registration = u
	}
	start, ok := templates.ParseDate(strings.TrimSpace(params["date"]))
	if !ok {
		return ev
	}
	ev.Date = start.Format(time.DateOnly)
	if c, ok := templates.ParseClock(strings.TrimSpace(params["time"])); ok {
		ev.Time = c
	}
	endDate, endClock, ok := templates.ParseEnd(params["end"])
	switch {
	case !ok:
	case endDate == "":
		// A time alone ends the same day, or the next one when it is not
		// after the start: "20:00" to "02:00" is a night.
		if ev.Time == "" {
			break
		}
		ev.EndTime = endClock
		if endClock <= ev.Time {
			ev.EndDate = start.AddDate(0, 0, 1).Format(time.DateOnly)
		}
	case (ev.Time == "") != (endClock == ""):
		// A timed start with an all-day end, or the reverse: no end.
	case endDate < ev.Date, endDate == ev.Date && endClock != "" && endClock <= ev.Time:
	case endDate == ev.Date:
		ev.EndTime = endClock
	default:
		ev.EndDate, ev.EndTime = endDate, endClock
	}
	return ev
}

// maxListed is how many of the newest posts a news index shows with
// their first paragraph, and its feed carries: readers poll a feed often,
// and only its recent entries are news.
const maxListed = 20

// post is a dated page of a news site.
type post struct {
	templates.Post
	body template.HTML
}

// newsPosts are the pages with a date, newest first; posts of the same
// day keep the pack's order.
func newsPosts(pages []page, bodies []template.HTML) []post {
	var posts []post
	for i, pg := range pages {
		if pg.date == "" || pg.url == "/" {
			continue
		}
		posts = append(posts, post{
			Post: templates.Post{Title: pg.title, Path: pg.url, Date: pg.date, Summary: summary(bodies[i])},
			body: bodies[i],
		})
	}
	slices.SortStableFunc(posts, func(a, b post) int { return cmp.Compare(b.Date, a.Date) })
	return posts
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
		date := ""
		if d, ok := templates.ParseDate(pg.Date); ok {
			date = d.Format(time.DateOnly)
		}
		pages = append(pages, page{url: u, title: firstNonEmpty(pg.Title, u), body: pg.Body, date: date})
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
	case UploadsURL, "/" + NotFoundFile, "/" + FeedFile, "/" + CalendarFile:
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

// treeFile is a file of a site's tree, at rel under public/.
func treeFile(rel string, content []byte) provision.File {
	return provision.File{Path: rel, Content: content, Mode: 0o644}
}

// withCurrent marks entry current of nav; -1 marks none (a news post is
// not in the navigation).
func withCurrent(nav []templates.Link, current int) []templates.Link {
	out := append([]templates.Link(nil), nav...)
	if current >= 0 {
		out[current].Current = true
	}
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
	return template.HTML(imagesAlt(policy.SanitizeBytes(buf.Bytes()))), nil
}
