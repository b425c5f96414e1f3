// Package templates holds what Ruche renders from embedded text: the site
// templates of the site farm (sites/<template>/*.html on top of one shared
// layout, sites/base.html) and, later, configuration templates.
//
// A site template is plain html/template: every value it prints is escaped
// except SitePage.Body, which the caller has already sanitised. Templates
// load no script, font or stylesheet from elsewhere, so a site works on a
// LAN with no Internet and leaks nothing about its visitors.
package templates

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
)

//go:embed sites/base.html sites/showcase/*.html sites/event/*.html sites/news/*.html
var files embed.FS

// The site templates Ruche knows. Adding one means a folder under sites/
// with at least a "main" block, a name here and a line in the go:embed
// above; the golden tests of services/sites render every one.
var names = []string{"event", "news", "showcase"}

// Names returns the site templates Ruche knows, sorted.
func Names() []string {
	return append([]string(nil), names...)
}

// Known reports whether name is a site template.
func Known(name string) bool {
	_, ok := parsed[name]
	return ok
}

// SitePage is everything a site template receives for one page. Field
// names are the contract between services/sites and the templates.
type SitePage struct {
	Lang        i18n.Lang // <html lang>, and the language of the layout's words
	Association string    // association.name
	Contact     string    // association.contact, shown in the footer when set
	SiteName    string    // the site's [a-z0-9-] name
	SiteTitle   string    // the site's title (never empty)
	Params      map[string]string
	Nav         []Link // every page of the site, in pack order, home first
	Title       string // this page's title (never empty)
	Path        string // this page's URL path ("/", "/contact")
	Home        bool   // this page is "/"
	// Body is the page's Markdown rendered to HTML and sanitised by the
	// caller: the one value templates print unescaped.
	Body template.HTML
	// NotFound marks the 404 page, which Caddy serves for any missing path:
	// its links must therefore be absolute.
	NotFound bool
}

// Link is one entry of a site's navigation.
type Link struct {
	Title   string
	Path    string
	Current bool
}

// Site renders the page p with the template named name.
func Site(w io.Writer, name string, p *SitePage) error {
	t, ok := parsed[name]
	if !ok {
		return i18n.Errorf(msgUnknownTemplate, name)
	}
	return t.ExecuteTemplate(w, "layout", p)
}

var msgUnknownTemplate = i18n.M{
	FR: "modèle de site inconnu %q",
	EN: "unknown site template %q",
}

// parsed holds each template parsed once, at start-up: they are part of the
// binary, so a template that does not parse is a bug any test reveals.
var parsed = func() map[string]*template.Template {
	m := make(map[string]*template.Template, len(names))
	for _, name := range names {
		t := template.New(name).Funcs(funcs)
		m[name] = template.Must(t.ParseFS(files, "sites/base.html", "sites/"+name+"/*.html"))
	}
	return m
}()

var funcs = template.FuncMap{
	"msg":  msg,
	"date": date,
}

// words are the layout's own words. They live here, beside the templates
// that print them, rather than in each template file twice.
var words = map[string]i18n.M{
	"skip":           {FR: "Aller au contenu", EN: "Skip to content"},
	"nav":            {FR: "Navigation principale", EN: "Main navigation"},
	"home":           {FR: "Accueil", EN: "Home"},
	"contact":        {FR: "Contact\u00a0:", EN: "Contact:"},
	"notfound.title": {FR: "Page introuvable", EN: "Page not found"},
	"notfound.body":  {FR: "La page demandée n'existe pas ou a été déplacée.", EN: "The page you asked for does not exist or has moved."},
	"notfound.back":  {FR: "Retour à l'accueil", EN: "Back to the home page"},
	"event.date":     {FR: "Date", EN: "Date"},
	"event.place":    {FR: "Lieu", EN: "Place"},
	"news.pages":     {FR: "À lire", EN: "Read more"},
}

// msg returns a layout word in lang; an unknown key fails the render so a
// typo in a template cannot ship.
func msg(lang i18n.Lang, key string) (string, error) {
	m, ok := words[key]
	if !ok {
		return "", fmt.Errorf("templates: no word %q", key)
	}
	return m.In(lang), nil
}

// HomeTitle is the navigation label of a home page a pack did not write.
func HomeTitle(lang i18n.Lang) string { return words["home"].In(lang) }

// NotFoundTitle is the title of a site's 404 page.
func NotFoundTitle(lang i18n.Lang) string { return words["notfound.title"].In(lang) }

var months = map[i18n.Lang][12]string{
	i18n.FR: {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	i18n.EN: {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
}

// date spells a YYYY-MM-DD date the way a reader of lang writes it
// ("21 juin 2026"); anything else is printed as the pack wrote it.
func date(lang i18n.Lang, s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	names, ok := months[lang]
	if !ok {
		names = months[i18n.FR]
	}
	if lang == i18n.EN {
		return fmt.Sprintf("%s %d, %d", names[t.Month()-1], t.Day(), t.Year())
	}
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er" // French writes "1er août", the first of August
	}
	return fmt.Sprintf("%s %s %d", day, names[t.Month()-1], t.Year())
}
