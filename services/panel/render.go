package panel

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/ruche-box/ruche/provision/i18n"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

var funcs = template.FuncMap{
	"t":       text,
	"when":    when,
	"bytes":   humanBytes,
	"percent": percent,
	"minutes": minutes,
	// minutesLeft rounds a backup's remaining time up to whole minutes.
	"minutesLeft": func(seconds float64) int { return int(math.Ceil(seconds / 60)) },
}

// pages are the panel's pages, each parsed with the layout: every page
// defines "content", so each needs its own copy of the layout.
var pages = func() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" {
			continue
		}
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFS, name))
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out
}()

// pageData is what the layout and every page read.
type pageData struct {
	Lang    i18n.Lang
	Title   string // of the page, in the <title> and its <h1>
	Site    string // the association's name
	User    *user  // nil: not logged in
	CSRF    string // the forms' token
	Path    string // where the language switch comes back to
	Nav     string // which menu entry is the current page
	Version string
	Error   string // a form's error, shown above it
	Data    any
}

// page renders a page with the layout. The page is rendered into memory
// first: a template error becomes a clean 500, not half a page.
func (c *call) page(code int, name, title, nav string, data any) {
	site := c.p.associationName()
	if site == "" {
		site = text(c.lang, "panel")
	}
	d := pageData{
		Lang:    c.lang,
		Title:   title,
		Site:    site,
		User:    c.currentUser(),
		CSRF:    c.formToken(),
		Path:    c.r.URL.Path,
		Nav:     nav,
		Version: c.p.opts.Version,
		Data:    data,
	}
	if e, ok := data.(erroring); ok {
		d.Error = e.errorText()
	}
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		c.p.log.Error("page", "page", name, "err", err)
		c.jsonError(http.StatusInternalServerError, msgInternal.In(c.lang))
		return
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(code)
	c.w.Write(buf.Bytes())
}

// erroring is a page's data that carries an error to show above the page
// (a form shown again).
type erroring interface{ errorText() string }

// formError is the data of a page that is only an error.
type formError string

func (e formError) errorText() string { return string(e) }

// wantsJSON reports whether an error goes out as JSON: on the API, and to
// clients that do not ask for HTML (scripts); browsers get a page.
func (c *call) wantsJSON() bool {
	if c.route != nil {
		if c.route.api() {
			return true
		}
	} else if p := c.r.URL.Path; strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/metrics" {
		return true
	}
	return !strings.Contains(c.r.Header.Get("Accept"), "text/html")
}

// fail answers an error in the user's language: {"error": "message"} (the
// panel's one error shape, DESIGN.md), or an error page for a browser.
func (c *call) fail(code int, m i18n.M, args ...any) {
	msg := m.Sprintf(c.lang, args...)
	if c.wantsJSON() {
		c.jsonError(code, msg)
		return
	}
	c.page(code, "error", text(c.lang, "error.title", code), "", formError(msg))
}

func (c *call) jsonError(code int, msg string) {
	writeJSON(c.w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// redirect sends the browser elsewhere: 303 after a form (the next page is
// fetched with GET), 302 otherwise.
func (c *call) redirect(to string) {
	code := http.StatusFound
	if c.r.Method == http.MethodPost {
		code = http.StatusSeeOther
	}
	http.Redirect(c.w, c.r, to, code)
}

// redirectToLogin sends a visitor without a session to the login page,
// which brings them back to the page they asked for.
func (c *call) redirectToLogin() {
	to := "/login"
	if c.r.Method == http.MethodGet && c.r.URL.Path != "/" {
		to += "?next=" + url.QueryEscape(c.r.URL.RequestURI())
	}
	c.redirect(to)
}

// localPath keeps a "next" parameter only when it is a path of this
// panel: "//evil.example" or "https://..." would send a fresh login to
// another site.
func localPath(next string) string {
	if next == "" || next[0] != '/' || len(next) > 1024 || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
