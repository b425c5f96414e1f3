package panel

import (
	"errors"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Sites: admins create a site from a template, edit its title, params and
// Markdown pages (with a preview), upload its pictures and PDFs, and
// remove it; technicians see the list. Every change of the pack goes
// through editPack (edit.go): a new revision of the live pack by the
// admin, validated and applied like `ruche apply`, its comments kept.
// Uploads are not in the pack: they are the association's data, written
// in the site's uploads folder (sites_uploads.go).
//
// The panel does not import services/sites (services never import each
// other): the daemon hands it the list of templates, the Markdown
// renderer and the uploads folder's path through Options.

// SiteTemplate is a site template the box has, as the "new site" form
// offers it.
type SiteTemplate struct {
	Name        string
	Description i18n.M
	Params      []SiteParam
}

// SiteParam is one param a template reads: its name in the pack, the
// words a form shows for it, and whether it spans several lines.
type SiteParam struct {
	Name      string
	Label     i18n.M
	Hint      i18n.M
	Multiline bool
}

// Bounds of what a site's form holds.
const (
	maxSiteTitleRunes = 200
	maxPageBodyBytes  = 50000 // under the forms' and the API's 64 KiB
	maxParamBytes     = 4000
	maxDomains        = 20
)

var (
	msgNoSite       = i18n.M{FR: "site introuvable", EN: "site not found"}
	msgNoPage       = i18n.M{FR: "page %q introuvable dans ce site", EN: "page %q not found in this site"}
	msgNoEdits      = i18n.M{FR: "le panneau ne peut pas modifier le pack sur cette box", EN: "the panel cannot change the pack on this box"}
	msgNoTemplates  = i18n.M{FR: "le panneau ne connaît pas les modèles de site", EN: "the panel does not know the site templates"}
	msgNoPreview    = i18n.M{FR: "l'aperçu n'est pas disponible sur cette box", EN: "the preview is not available on this box"}
	msgPageBodyLong = i18n.M{FR: "le texte de la page est trop long : %d octets au plus", EN: "the page's text is too long: %d bytes at most"}
	msgParamLong    = i18n.M{FR: "le paramètre %s est trop long : %d octets au plus", EN: "the param %s is too long: %d bytes at most"}
	msgSiteTitle    = i18n.M{FR: "le titre est nécessaire, sur une ligne (%d caractères au plus)", EN: "a title is required, on one line (%d characters at most)"}
	msgTooManyDoms  = i18n.M{FR: "trop de domaines : %d au plus", EN: "too many domains: %d at most"}
	msgUnknownTpl   = i18n.M{FR: "modèle %q inconnu (au choix : %s)", EN: "unknown template %q (one of: %s)"}
	msgUnknownParam = i18n.M{FR: "le modèle %s ne lit pas le paramètre %q (il lit : %s)", EN: "the %s template does not read the param %q (it reads: %s)"}
)

// siteTemplates are the templates the daemon gave, nil when none.
func (p *Panel) siteTemplates() []SiteTemplate {
	if p.opts.SiteTemplates == nil {
		return nil
	}
	return p.opts.SiteTemplates()
}

// siteTemplate is the template named name, nil when the box has none by
// that name.
func (p *Panel) siteTemplate(name string) *SiteTemplate {
	for _, t := range p.siteTemplates() {
		if t.Name == name {
			return &t
		}
	}
	return nil
}

// siteOf is the live pack's site of the route's {site}, answering 404
// itself when there is none.
func (p *Panel) siteOf(c *call) (*provision.Site, bool) {
	pk := p.pack()
	name := c.param("site")
	if pk != nil {
		for i := range pk.Sites {
			if pk.Sites[i].Name == name {
				return &pk.Sites[i], true
			}
		}
	}
	c.fail(http.StatusNotFound, msgNoSite)
	return nil, false
}

// siteIndex is the position of site name in the live pack, -1 when none:
// validation errors name sites by position ("sites[2].title").
func (p *Panel) siteIndex(name string) int {
	if pk := p.pack(); pk != nil {
		return slices.IndexFunc(pk.Sites, func(s provision.Site) bool { return s.Name == name })
	}
	return -1
}

// ---- Addresses ----

// siteSummary is one site of the list: where it answers and what it is.
type siteSummary struct {
	Name     string   `json:"name"`
	Title    string   `json:"title"`
	Template string   `json:"template"`
	LAN      string   `json:"lan"`     // the LAN address (or .localhost in development)
	Domains  []string `json:"domains"` // the pack's public names
	URLs     []string `json:"urls"`    // their addresses
	Pages    int      `json:"pages"`
}

// siteSummaries are the pack's sites with their addresses, from the name
// the visitor reached the panel by (see links).
func (p *Panel) siteSummaries(r *http.Request) []siteSummary {
	pk := p.pack()
	if pk == nil {
		return []siteSummary{}
	}
	l := p.links(r)
	out := make([]siteSummary, 0, len(pk.Sites))
	for i, s := range pk.Sites {
		sum := siteSummary{Name: s.Name, Title: s.Title, Template: s.Template, Domains: s.Domains, Pages: len(s.Pages)}
		if sum.Domains == nil {
			sum.Domains = []string{}
		}
		if i < len(l.Sites) {
			sum.LAN = l.Sites[i].URL
		}
		for _, d := range s.Domains {
			sum.URLs = append(sum.URLs, publicURL(pk, d))
		}
		if sum.URLs == nil {
			sum.URLs = []string{}
		}
		out = append(out, sum)
	}
	return out
}

// publicURL is the address of a public domain: https when the box gets
// certificates from the Internet (acme), otherwise http, which is what
// such a name reaches before anyone sets up TLS for it (as links does).
func publicURL(pk *provision.Pack, domain string) string {
	if pk.Box.TLS == "acme" {
		return "https://" + domain + "/"
	}
	return "http://" + domain + "/"
}

// ---- Input ----

// siteInput is a new site, or a site's new title and params, from the
// API or the form.
type siteInput struct {
	Name     string            `json:"name"`
	Title    string            `json:"title"`
	Template string            `json:"template"`
	Domains  []string          `json:"domains"`
	Params   map[string]string `json:"params"`
}

// fieldErrors are a form's problems by field ("name", "params.date",
// "path"), plus the ones that belong to no field under "".
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, msg string) { fe[field] = append(fe[field], msg) }

// text is every problem in one paragraph, for the top of a form and for
// the API's {"error"}.
func (fe fieldErrors) text() string {
	var all []string
	keys := slices.Sorted(maps.Keys(fe))
	for _, k := range keys {
		all = append(all, fe[k]...)
	}
	return strings.Join(all, " ; ")
}

// cleanParams trims values, drops empty ones (an empty param shows
// nothing, as if absent) and normalises line ends.
func cleanParams(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// checkTitle is a site title's problem, "" when none.
func checkTitle(lang i18n.Lang, title string) string {
	if title == "" || len([]rune(title)) > maxSiteTitleRunes || strings.ContainsAny(title, "\r\n") {
		return msgSiteTitle.Sprintf(lang, maxSiteTitleRunes)
	}
	return ""
}

// checkParams checks what the panel can say before the pack does: the
// template reads each param, and none is huge. The form each value takes
// is the pack validation's job, which speaks of it in the same words as
// for a pack written by hand.
func (p *Panel) checkParams(lang i18n.Lang, tpl *SiteTemplate, params map[string]string, fe fieldErrors) {
	var names []string
	known := map[string]bool{}
	for _, prm := range tpl.Params {
		names = append(names, prm.Name)
		known[prm.Name] = true
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		switch {
		case !known[k]:
			fe.add("params."+k, msgUnknownParam.Sprintf(lang, tpl.Name, k, strings.Join(names, ", ")))
		case len(params[k]) > maxParamBytes:
			fe.add("params."+k, msgParamLong.Sprintf(lang, k, maxParamBytes))
		}
	}
}

// splitDomains reads the form's domains field: names separated by
// commas, spaces or lines.
func splitDomains(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// rePackPath splits a validation error's path into the site it is about
// and the rest: "sites[2].params.date" → 2, "params.date".
var rePackPath = regexp.MustCompile(`^sites\[(\d+)\](?:\.(.*))?$`)

// editFailed turns editPack's error into what a form shows: the pack
// validation's errors about site index (and, for a page, its page
// index), each beside its field and in plain words (no file, line and
// column: the admin never saw the file); any other error under "".
// pageIdx < 0: errors about the site's fields.
func editFailed(lang i18n.Lang, err error, index, pageIdx int) fieldErrors {
	fe := fieldErrors{}
	var list provision.ErrorList
	if !errors.As(err, &list) {
		var one *provision.FieldError
		if errors.As(err, &one) {
			list = provision.ErrorList{one}
		}
	}
	if len(list) == 0 {
		fe.add("", i18n.Localize(err, lang))
		return fe
	}
	for _, e := range list {
		msg := fieldMessage(lang, e)
		field := ""
		if m := rePackPath.FindStringSubmatch(e.Path); m != nil && m[1] == strconv.Itoa(index) {
			field = m[2]
			if pageIdx >= 0 {
				field = strings.TrimPrefix(field, "pages["+strconv.Itoa(pageIdx)+"].")
			}
			// "domains[1]" → "domains": the form has one field for all.
			if i := strings.IndexByte(field, '['); i > 0 {
				field = field[:i]
			}
		}
		fe.add(field, msg)
	}
	return fe
}

// fieldMessage is a validation error without its file, line, column and
// path: the form puts it beside the field it is about.
func fieldMessage(lang i18n.Lang, e *provision.FieldError) string {
	msg := ""
	if e.Text.Msg != (i18n.M{}) {
		msg = e.Text.String(lang)
	}
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += i18n.Localize(e.Err, lang)
	}
	if msg == "" {
		msg = e.Localize(lang)
	}
	return msg
}

// ---- Pages (HTML) ----

// sitesPageData is the list of sites, with the "new site" form for admins.
type sitesPageData struct {
	Sites     []siteSummary
	Admin     bool
	Templates []SiteTemplate
	Form      siteForm
	Rev       string // the revision a change just made
	Unchanged bool   // a change just saved changed nothing
	msg       string
}

func (d sitesPageData) errorText() string { return d.msg }

// siteForm is the "new site" form as the admin filled it.
type siteForm struct {
	Name, Title, Template, Domains string
	Params                         map[string]string
	Errors                         fieldErrors
}

// sitesPage is GET /sites: every site with its addresses; for admins, the
// form that creates one from a template.
func (p *Panel) sitesPage(c *call) {
	p.showSites(c, http.StatusOK, siteForm{Template: firstTemplate(p.siteTemplates())}, "")
}

func (p *Panel) showSites(c *call, code int, form siteForm, msg string) {
	if form.Params == nil {
		form.Params = map[string]string{}
	}
	c.page(code, "sites", text(c.lang, "sites.title"), "sites", sitesPageData{
		Sites:     p.siteSummaries(c.r),
		Admin:     c.currentUser().Role == provision.RoleAdmin,
		Templates: p.siteTemplates(),
		Form:      form,
		Rev:       c.r.URL.Query().Get("rev"),
		Unchanged: c.r.URL.Query().Has("unchanged"),
		msg:       msg,
	})
}

func firstTemplate(ts []SiteTemplate) string {
	for _, t := range ts {
		if t.Name == "showcase" {
			return t.Name
		}
	}
	if len(ts) > 0 {
		return ts[0].Name
	}
	return ""
}

// sitePageData is a site's page: its settings, pages and files.
type sitePageData struct {
	Site      provision.Site
	Summary   siteSummary
	Template  *SiteTemplate // nil for a template the panel does not know
	Params    map[string]string
	Title     string
	Errors    fieldErrors
	Uploads   []upload
	MaxMiB    int
	Rev       string
	Unchanged bool
	Uploaded  []string
	Aside     string // where a file removed just now was moved
	msg       string
}

func (d sitePageData) errorText() string { return d.msg }

// sitePage is GET /sites/{site}.
func (p *Panel) sitePage(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	var uploaded []string
	if u := c.r.URL.Query().Get("uploaded"); u != "" {
		uploaded = strings.Split(u, ",")
	}
	p.showSite(c, s, http.StatusOK, sitePageData{Title: s.Title, Params: s.Params, Uploaded: uploaded})
}

// showSite renders a site's page; d carries the settings form as the
// admin filled it, and its errors.
func (p *Panel) showSite(c *call, s *provision.Site, code int, d sitePageData) {
	d.Site = *s
	d.Template = p.siteTemplate(s.Template)
	d.MaxMiB = maxUploadBytes >> 20
	d.Rev = c.r.URL.Query().Get("rev")
	d.Aside = c.r.URL.Query().Get("aside")
	d.Unchanged = c.r.URL.Query().Has("unchanged")
	if d.Params == nil {
		d.Params = map[string]string{}
	}
	for _, sum := range p.siteSummaries(c.r) {
		if sum.Name == s.Name {
			d.Summary = sum
		}
	}
	var err error
	if d.Uploads, err = p.listUploads(c.lang, s.Name); err != nil {
		p.log.Error("sites: list uploads", "site", s.Name, "err", err)
	}
	c.page(code, "site", text(c.lang, "site.title", s.Title), "sites", d)
}

// ---- API (read) ----

// apiSites is GET /api/sites: every site with its addresses.
func (p *Panel) apiSites(c *call) {
	writeJSON(c.w, http.StatusOK, map[string]any{"sites": p.siteSummaries(c.r)})
}

// templateJSON is a template as the API lists it, in the request's
// language.
type templateJSON struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Params      []paramJSON `json:"params"`
}

type paramJSON struct {
	Name      string `json:"name"`
	Label     string `json:"label"`
	Hint      string `json:"hint"`
	Multiline bool   `json:"multiline"`
}

// apiSiteTemplates is GET /api/site-templates: the templates a site can
// be created from, with their params.
func (p *Panel) apiSiteTemplates(c *call) {
	out := []templateJSON{}
	for _, t := range p.siteTemplates() {
		tj := templateJSON{Name: t.Name, Description: t.Description.In(c.lang), Params: []paramJSON{}}
		for _, prm := range t.Params {
			tj.Params = append(tj.Params, paramJSON{Name: prm.Name, Label: prm.Label.In(c.lang), Hint: prm.Hint.In(c.lang), Multiline: prm.Multiline})
		}
		out = append(out, tj)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"templates": out})
}

// siteJSON is one site with its pages and files.
type siteJSON struct {
	siteSummary
	Params      map[string]string `json:"params"`
	PageList    []provision.Page  `json:"page_list"`
	Uploads     []upload          `json:"uploads"`
	UploadsNote string            `json:"uploads_note,omitempty"`
}

// apiSite is GET /api/sites/{site}.
func (p *Panel) apiSite(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	out := siteJSON{Params: s.Params, PageList: s.Pages}
	for _, sum := range p.siteSummaries(c.r) {
		if sum.Name == s.Name {
			out.siteSummary = sum
		}
	}
	if out.Params == nil {
		out.Params = map[string]string{}
	}
	if out.PageList == nil {
		out.PageList = []provision.Page{}
	}
	var err error
	if out.Uploads, err = p.listUploads(c.lang, s.Name); err != nil {
		p.log.Error("sites: list uploads", "site", s.Name, "err", err)
		out.UploadsNote = msgInternal.In(c.lang)
	}
	if out.Uploads == nil {
		out.Uploads = []upload{}
	}
	writeJSON(c.w, http.StatusOK, out)
}

// ---- Preview ----

// renderPreview renders a page's Markdown as its site will, for the
// panel: the site's /uploads/ pictures are fetched through the panel
// (its Content-Security-Policy allows only its own images), at
// /sites/NAME/files/.
func (p *Panel) renderPreview(site, md string) (template.HTML, error) {
	html, err := p.opts.RenderMarkdown(md)
	if err != nil {
		return "", err
	}
	// NAME is [a-z0-9-] (the pack's rule), safe inside an attribute.
	return template.HTML(strings.ReplaceAll(string(html), `src="/uploads/`, `src="/sites/`+url.PathEscape(site)+`/files/`)), nil
}

// apiPreview is POST /api/sites/{site}/preview: {"body"} → {"html"}, the
// Markdown rendered as the site will, saving nothing.
func (p *Panel) apiPreview(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	var in struct {
		Body string `json:"body"`
	}
	if !c.decodeJSON(&in) {
		return
	}
	if p.opts.RenderMarkdown == nil {
		c.fail(http.StatusServiceUnavailable, msgNoPreview)
		return
	}
	if len(in.Body) > maxPageBodyBytes {
		c.fail(http.StatusBadRequest, msgPageBodyLong, maxPageBodyBytes)
		return
	}
	// The API gives the HTML as the site serves it: a script puts it
	// where it likes.
	html, err := p.opts.RenderMarkdown(in.Body)
	if err != nil {
		p.log.Error("sites: preview", "site", s.Name, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]string{"html": string(html)})
}

// siteAdmins may change the sites: the association's admins. The pack
// has no site editors of its own; technicians see the list only.
var siteAdmins = access{roles: []string{provision.RoleAdmin}}
