// Package templates holds what Ruche renders from embedded text: the site
// templates of the site farm (sites/<template>/*.html on top of one shared
// layout, sites/base.html) and, later, configuration templates.
//
// A site template is plain html/template: every value it prints is escaped
// except SitePage.Body, which the caller has already sanitised, and
// Showcase.PhoneURI, a tel: URL of digits. Templates load no script, font
// or stylesheet from elsewhere (the one stylesheet, sites/site.css, is
// inlined), so a site works on a LAN with no Internet and leaks nothing
// about its visitors. params.go says which site params each template reads
// and how they are parsed; provision validates packs with it.
package templates

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
)

//go:embed sites/base.html sites/site.css sites/showcase/*.html sites/event/*.html sites/news/*.html
var files embed.FS

// The site templates Ruche knows. Adding one means a folder under sites/
// with at least a "main" block, a name here, its params in params.go, a
// line in the go:embed above and a body class in site.css; the golden
// tests of services/sites render every one.
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
// names are the contract between services/sites and the templates; the
// renderer has parsed and checked every value, templates only print.
type SitePage struct {
	Lang        i18n.Lang // <html lang>, and the language of the layout's words
	Template    string    // the template's name, the <body> class that picks its colours
	Association string    // association.name
	Contact     string    // association.contact, shown in the footer when set
	SiteName    string    // the site's [a-z0-9-] name
	SiteTitle   string    // the site's title (never empty)
	Tagline     string    // params.tagline, under the title and as the description
	Nav         []Link    // the site's pages, home first (news: its undated pages)
	Title       string    // this page's title (never empty)
	Path        string    // this page's URL path ("/", "/contact")
	Home        bool      // this page is "/"
	// Body is the page's Markdown rendered to HTML and sanitised by the
	// caller: the one value templates print unescaped.
	Body template.HTML
	// NotFound marks the 404 page, which Caddy serves for any missing path:
	// its links must therefore be absolute.
	NotFound bool
	// Feed is the URL path of the site's Atom feed, advertised in <head>
	// ("" when the site has none).
	Feed string

	Showcase *Showcase // showcase: the side column, on every page
	Event    *Event    // event: when and where, on the home page
	Posts    []Post    // news: the posts, newest first, on the home page
	Date     string    // news: this page's date (YYYY-MM-DD) when it is a post
}

// HasAside reports whether the page has a side column.
func (p *SitePage) HasAside() bool {
	s := p.Showcase
	return s != nil && (len(s.Address) > 0 || s.Phone != "" || s.Email != "" || len(s.Hours) > 0 || len(s.Links) > 0)
}

// Showcase is the contact block of the showcase template.
type Showcase struct {
	Address  []string     // lines
	Phone    string       // as written
	PhoneURI template.URL // tel:+33123456789, built from digits only
	Email    string
	Hours    []string // lines
	Links    []Link
}

// Event is when and where an event takes place. Dates are YYYY-MM-DD and
// times HH:MM, as validated; a part not given is "".
type Event struct {
	Date, Time       string
	EndDate, EndTime string // EndDate is set whenever the end is another day
	Place            []string
	Registration     string // a safe URL
	Calendar         string // URL path of the .ics file
}

// Post is one dated page of a news site, as its index lists it.
type Post struct {
	Title, Path, Date string
	Summary           string // the post's first paragraph, as text
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
	// The stylesheet is the package's own file, not pack input: safe to
	// print inside <style> as is.
	"css": func() template.CSS { return template.CSS(css) },
}

// css is sites/site.css, read once, without its comments: they are for
// whoever edits the file, not for every visitor of every page.
var css = func() string {
	b, err := files.ReadFile("sites/site.css")
	if err != nil {
		panic(err)
	}
	return regexp.MustCompile(`(?s)/\*.*?\*/\n?`).ReplaceAllString(string(b), "")
}()

// words are the layout's own words. They live here, beside the templates
// that print them, rather than in each template file twice.
var words = map[string]i18n.M{
	"skip":             {FR: "Aller au contenu", EN: "Skip to content"},
	"nav":              {FR: "Navigation principale", EN: "Main navigation"},
	"aside":            {FR: "Informations pratiques", EN: "Practical information"},
	"home":             {FR: "Accueil", EN: "Home"},
	"contact":          {FR: "Contact\u00a0:", EN: "Contact:"},
	"notfound.title":   {FR: "Page introuvable", EN: "Page not found"},
	"notfound.body":    {FR: "La page demandée n'existe pas ou a été déplacée.", EN: "The page you asked for does not exist or has moved."},
	"notfound.back":    {FR: "Retour à l'accueil", EN: "Back to the home page"},
	"showcase.contact": {FR: "Nous trouver", EN: "Find us"},
	"showcase.phone":   {FR: "Téléphone\u00a0:", EN: "Phone:"},
	"showcase.email":   {FR: "E-mail\u00a0:", EN: "E-mail:"},
	"showcase.hours":   {FR: "Horaires", EN: "Opening hours"},
	"showcase.links":   {FR: "Liens", EN: "Links"},
	"event.info":       {FR: "En pratique", EN: "Practical details"},
	"event.when":       {FR: "Quand", EN: "When"},
	"event.place":      {FR: "Où", EN: "Where"},
	"event.register":   {FR: "S'inscrire", EN: "Register"},
	"event.calendar":   {FR: "Ajouter à mon agenda", EN: "Add to my calendar"},
	"news.latest":      {FR: "Les dernières nouvelles", EN: "Latest news"},
	"news.none":        {FR: "Pas encore de nouvelles.", EN: "No news yet."},
	"news.published":   {FR: "Publié le", EN: "Published on"},
	"news.feed":        {FR: "Suivre les nouvelles (flux Atom)", EN: "Follow the news (Atom feed)"},
	"news.all":         {FR: "Toutes les nouvelles", EN: "All the news"},
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

var weekdays = map[i18n.Lang][7]string{
	i18n.FR: {"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
	i18n.EN: {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
}

// date spells a YYYY-MM-DD date the way a reader of lang writes it:
// "21 juin 2026", "21 June 2026" (day first in both, as British English
// does, so the two read alike); anything else is printed as written.
func date(lang i18n.Lang, s string) string {
	t, ok := ParseDate(s)
	if !ok {
		return s
	}
	day := fmt.Sprint(t.Day())
	if lang != i18n.EN && t.Day() == 1 {
		day = "1er" // French writes "1er août", the first of August
	}
	return fmt.Sprintf("%s %s %d", day, months[norm(lang)][t.Month()-1], t.Year())
}

// longDate is date with the day of the week: "samedi 21 juin 2026".
func longDate(lang i18n.Lang, s string) string {
	t, ok := ParseDate(s)
	if !ok {
		return s
	}
	return weekdays[norm(lang)][t.Weekday()] + " " + date(lang, s)
}

// clock spells an HH:MM time: "18 h 30" and "18 h" in French, "18:30" in
// English.
func clock(lang i18n.Lang, s string) string {
	if lang == i18n.EN {
		return s
	}
	h, m, _ := strings.Cut(s, ":")
	h = strings.TrimPrefix(h, "0")
	if h == "" {
		h = "0"
	}
	if m == "00" {
		return h + "\u00a0h"
	}
	return h + "\u00a0h\u00a0" + m
}

// When says when the event takes place, in one line: "samedi 21 juin
// 2026, de 14 h à 23 h", "from Saturday 20 June 2026 to Sunday 21 June
// 2026".
func (e *Event) When(lang i18n.Lang) string {
	w := whenWords[norm(lang)]
	start := longDate(lang, e.Date)
	switch {
	case e.Time != "" && e.EndTime != "" && e.EndTime <= e.Time && e.EndDate == nextDay(e.Date):
		// A night (a party until 1 h 30): one day and two times read
		// better than two full dates.
		return start + fmt.Sprintf(w.night, clock(lang, e.Time), clock(lang, e.EndTime))
	case e.EndDate != "" && e.Time != "":
		return fmt.Sprintf(w.fromToDays, start+w.at+clock(lang, e.Time), longDate(lang, e.EndDate)+w.at+clock(lang, e.EndTime))
	case e.EndDate != "":
		return fmt.Sprintf(w.fromToDays, start, longDate(lang, e.EndDate))
	case e.EndTime != "":
		return start + fmt.Sprintf(w.fromToHours, clock(lang, e.Time), clock(lang, e.EndTime))
	case e.Time != "":
		return start + w.at + clock(lang, e.Time)
	}
	return start
}

var whenWords = map[i18n.Lang]struct{ at, fromToDays, fromToHours, night string }{
	i18n.FR: {at: ", ", fromToDays: "du %s au %s", fromToHours: ", de %s à %s", night: ", de %s à %s le lendemain"},
	i18n.EN: {at: ", ", fromToDays: "from %s to %s", fromToHours: ", %s – %s", night: ", %s – %s the next day"},
}

// nextDay is the day after a YYYY-MM-DD date, "" for a bad date.
func nextDay(date string) string {
	t, ok := ParseDate(date)
	if !ok {
		return ""
	}
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// norm maps any language to one the tables above have: English, or
// French, Ruche's default.
func norm(lang i18n.Lang) i18n.Lang {
	if lang == i18n.EN {
		return i18n.EN
	}
	return i18n.FR
}
