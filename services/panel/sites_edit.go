package panel

import (
	"errors"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/packedit"
)

// What changes a site: each is one pack revision through editPack, whose
// validation speaks for the pack (a bad name, a taken name, a bad domain
// or date); the panel checks first only what the pack cannot say (a param
// the template does not read, sizes).

// editOutcome is the result of a site edit: the revision, or the
// problems by field and the status to answer.
type editOutcome struct {
	rev    provision.Revision
	code   int
	errors fieldErrors
}

func (o editOutcome) ok() bool { return o.code < 300 }

// savedQuery is what the page after a saved form says: the revision the
// change made, or that nothing changed.
func (o editOutcome) savedQuery() string {
	if o.rev.Number == 0 {
		return "?unchanged=1"
	}
	return "?rev=" + strconv.Itoa(o.rev.Number)
}

// edited runs editPack as the request's user and sorts its error out for
// the form: index and pageIdx place validation errors (see editFailed);
// field is where an error of edit itself goes (a site name already taken).
func (p *Panel) edited(c *call, note string, index, pageIdx int, field string, edit func(*packedit.Doc) error) editOutcome {
	var editErr error
	rev, err := p.editPack(c.r.Context(), c.currentUser().Login, note, func(d *packedit.Doc) error {
		editErr = edit(d)
		return editErr
	})
	if err == nil {
		return editOutcome{rev: rev, code: http.StatusOK}
	}
	out := editOutcome{code: http.StatusBadRequest, errors: fieldErrors{}}
	switch msg, unchanged := editError(err, c.lang); {
	case unchanged:
		// Saving a form unchanged is no failure: the admin is told so.
		out.code = http.StatusOK
		out.errors.add("", msg)
	case editErr != nil:
		out.errors.add(field, msg)
	default:
		var list provision.ErrorList
		if !errors.As(err, &list) {
			// Not the pack's validation: edits are off, or the apply
			// failed (and the previous pack is back).
			out.code = http.StatusConflict
			if p.opts.ApplyPack == nil {
				out.code = http.StatusServiceUnavailable
			}
			p.log.Warn("sites: edit refused", "note", note, "err", err)
		}
		out.errors = editFailed(c.lang, err, index, pageIdx)
	}
	return out
}

// ---- Create ----

// createSite adds a site from a template.
func (p *Panel) createSite(c *call, in siteInput) editOutcome {
	in.Name = strings.TrimSpace(in.Name)
	in.Title = strings.TrimSpace(in.Title)
	in.Template = strings.TrimSpace(in.Template)
	in.Params = cleanParams(in.Params)
	fe := fieldErrors{}
	if m := checkTitle(c.lang, in.Title); m != "" {
		fe.add("title", m)
	}
	if len(in.Domains) > maxDomains {
		fe.add("domains", msgTooManyDoms.Sprintf(c.lang, maxDomains))
	}
	tpl := p.siteTemplate(in.Template)
	switch {
	case len(p.siteTemplates()) == 0:
		fe.add("", msgNoTemplates.In(c.lang))
	case tpl == nil:
		var names []string
		for _, t := range p.siteTemplates() {
			names = append(names, t.Name)
		}
		fe.add("template", msgUnknownTpl.Sprintf(c.lang, in.Template, strings.Join(names, ", ")))
	default:
		p.checkParams(c.lang, tpl, in.Params, fe)
	}
	if len(fe) > 0 {
		return editOutcome{code: http.StatusBadRequest, errors: fe}
	}
	index := 0
	if pk := p.pack(); pk != nil {
		index = len(pk.Sites)
	}
	site := provision.Site{Name: in.Name, Title: in.Title, Template: in.Template, Domains: in.Domains, Params: in.Params}
	out := p.edited(c, "site "+in.Name+" : création / created", index, -1, "name", func(d *packedit.Doc) error {
		return d.AddSite(site)
	})
	if out.ok() && len(out.errors) == 0 {
		out.code = http.StatusCreated
	}
	return out
}

// createSiteForm is POST /sites.
func (p *Panel) createSiteForm(c *call) {
	form := siteForm{
		Name: c.r.PostFormValue("name"), Title: c.r.PostFormValue("title"),
		Template: c.r.PostFormValue("template"), Domains: c.r.PostFormValue("domains"),
		Params: map[string]string{},
	}
	// Only the chosen template's params: the form shows every
	// template's, and the others are left empty or filled by mistake.
	if tpl := p.siteTemplate(form.Template); tpl != nil {
		for _, prm := range tpl.Params {
			form.Params[prm.Name] = c.r.PostFormValue(form.Template + "." + prm.Name)
		}
	}
	in := siteInput{Name: form.Name, Title: form.Title, Template: form.Template, Domains: splitDomains(form.Domains), Params: form.Params}
	out := p.createSite(c, in)
	if out.code != http.StatusCreated {
		form.Errors = out.errors
		p.showSites(c, out.code, form, out.errors.text())
		return
	}
	c.redirect("/sites/" + strings.TrimSpace(form.Name) + out.savedQuery())
}

// apiCreateSite is POST /api/sites: {"name","title","template",
// "domains","params"} → 201 with the site's addresses and the revision.
func (p *Panel) apiCreateSite(c *call) {
	var in siteInput
	if !c.decodeJSON(&in) {
		return
	}
	out := p.createSite(c, in)
	if out.code != http.StatusCreated {
		apiEditError(c, out)
		return
	}
	c.w.Header().Set("Location", "/api/sites/"+in.Name)
	writeJSON(c.w, http.StatusCreated, map[string]any{"site": p.summaryOf(c, strings.TrimSpace(in.Name)), "revision": out.rev})
}

// apiEditError answers a refused edit: {"error"} with every problem, and
// "fields" with each beside its field.
func apiEditError(c *call, out editOutcome) {
	writeJSON(c.w, out.code, map[string]any{"error": out.errors.text(), "fields": out.errors})
}

func (p *Panel) summaryOf(c *call, name string) *siteSummary {
	for _, s := range p.siteSummaries(c.r) {
		if s.Name == name {
			return &s
		}
	}
	return nil
}

// ---- Settings ----

// changeSite sets a site's title (when not nil) and params (when not nil:
// the template's params, an empty value removing one).
func (p *Panel) changeSite(c *call, s *provision.Site, title *string, params map[string]string) editOutcome {
	fe := fieldErrors{}
	if title != nil {
		*title = strings.TrimSpace(*title)
		if m := checkTitle(c.lang, *title); m != "" {
			fe.add("title", m)
		}
	}
	for k, v := range params {
		params[k] = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	}
	if tpl := p.siteTemplate(s.Template); tpl != nil {
		p.checkParams(c.lang, tpl, params, fe)
	}
	if len(fe) > 0 {
		return editOutcome{code: http.StatusBadRequest, errors: fe}
	}
	return p.edited(c, "site "+s.Name+" : réglages / settings", p.siteIndex(s.Name), -1, "", func(d *packedit.Doc) error {
		if title != nil && *title != s.Title {
			if err := d.SetSiteTitle(s.Name, *title); err != nil {
				return err
			}
		}
		for _, k := range slices.Sorted(maps.Keys(params)) {
			if params[k] == s.Params[k] {
				continue // untouched: its layout in the pack stays
			}
			if err := d.SetSiteParam(s.Name, k, params[k]); err != nil {
				return err
			}
		}
		return nil
	})
}

// saveSiteForm is POST /sites/{site}: the settings form.
func (p *Panel) saveSiteForm(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	title := c.r.PostFormValue("title")
	params := map[string]string{}
	if tpl := p.siteTemplate(s.Template); tpl != nil {
		for _, prm := range tpl.Params {
			params[prm.Name] = c.r.PostFormValue("param." + prm.Name)
		}
	}
	out := p.changeSite(c, s, &title, params)
	if !out.ok() {
		p.showSite(c, s, out.code, sitePageData{Title: title, Params: params, Errors: out.errors, msg: out.errors.text()})
		return
	}
	c.redirect("/sites/" + s.Name + out.savedQuery())
}

// apiChangeSite is PATCH /api/sites/{site}: {"title","params"} (either;
// a param "" removes it) → 200 with the revision.
func (p *Panel) apiChangeSite(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	var in struct {
		Title  *string           `json:"title"`
		Params map[string]string `json:"params"`
	}
	if !c.decodeJSON(&in) {
		return
	}
	out := p.changeSite(c, s, in.Title, in.Params)
	if !out.ok() {
		apiEditError(c, out)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"revision": out.rev, "note": out.errors.text()})
}

// ---- Remove ----

// removeSite takes a site out of the pack; the engine then removes its
// pages and moves its uploads aside.
func (p *Panel) removeSite(c *call, s *provision.Site) editOutcome {
	return p.edited(c, "site "+s.Name+" : suppression / removed", p.siteIndex(s.Name), -1, "", func(d *packedit.Doc) error {
		return d.RemoveSite(s.Name)
	})
}

// removeSitePage is GET /sites/{site}/remove: the confirmation.
func (p *Panel) removeSitePage(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	c.page(http.StatusOK, "site_confirm", text(c.lang, "site.remove.title", s.Title), "sites", siteConfirm{
		Question: text(c.lang, "site.remove.question", s.Title, s.Name),
		Note:     text(c.lang, "site.remove.note", p.opts.siteUploadsPath(s.Name), provision.RemovedDir),
		Action:   "/sites/" + s.Name + "/remove",
		Button:   text(c.lang, "site.remove.button"),
		Cancel:   "/sites/" + s.Name,
	})
}

// removeSiteForm is POST /sites/{site}/remove.
func (p *Panel) removeSiteForm(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	out := p.removeSite(c, s)
	if !out.ok() {
		p.showSite(c, s, out.code, sitePageData{Title: s.Title, Params: s.Params, msg: out.errors.text()})
		return
	}
	c.redirect("/sites" + out.savedQuery())
}

// apiRemoveSite is DELETE /api/sites/{site} → 200 with the revision.
func (p *Panel) apiRemoveSite(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	out := p.removeSite(c, s)
	if !out.ok() {
		apiEditError(c, out)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"revision": out.rev})
}

// siteUploadsPath names a site's uploads folder for messages.
func (o *Options) siteUploadsPath(site string) string {
	if o.SiteUploadsDir == nil {
		return "uploads"
	}
	return o.SiteUploadsDir(site)
}

// ---- Pages ----

// pageInput is a page to add or replace; From is the path it had, when
// the admin changed its path.
type pageInput struct {
	Path  string `json:"path"`
	Title string `json:"title"`
	Body  string `json:"body"`
	Date  string `json:"date"`
	From  string `json:"from"`
}

// setPage adds or replaces a page of s (moving it when From differs from
// Path). code is 201 for a new page.
func (p *Panel) setPage(c *call, s *provision.Site, in pageInput) editOutcome {
	in.Path, in.From = strings.TrimSpace(in.Path), strings.TrimSpace(in.From)
	in.Title, in.Date = strings.TrimSpace(in.Title), strings.TrimSpace(in.Date)
	in.Body = strings.ReplaceAll(in.Body, "\r\n", "\n")
	fe := fieldErrors{}
	if len(in.Body) > maxPageBodyBytes {
		fe.add("body", msgPageBodyLong.Sprintf(c.lang, maxPageBodyBytes))
	}
	if in.Path == "" {
		fe.add("path", text(c.lang, "page.need.path"))
	}
	pageIdx := slices.IndexFunc(s.Pages, func(pg provision.Page) bool { return pg.Path == in.Path })
	if in.From != "" && in.From != in.Path {
		if !slices.ContainsFunc(s.Pages, func(pg provision.Page) bool { return pg.Path == in.From }) {
			fe.add("path", msgNoPage.Sprintf(c.lang, in.From))
		}
		if pageIdx >= 0 {
			// Moving a page onto another would silently replace it.
			fe.add("path", text(c.lang, "page.taken", in.Path))
		}
	}
	if len(fe) > 0 {
		return editOutcome{code: http.StatusBadRequest, errors: fe}
	}
	isNew := pageIdx < 0
	if isNew {
		pageIdx = len(s.Pages)
		if in.From != "" && in.From != in.Path {
			// The page moves to the end: its old place is removed.
			pageIdx--
		}
	}
	pg := provision.Page{Path: in.Path, Title: in.Title, Body: in.Body, Date: in.Date}
	out := p.edited(c, "site "+s.Name+" : page "+in.Path, p.siteIndex(s.Name), pageIdx, "path", func(d *packedit.Doc) error {
		if in.From != "" && in.From != in.Path {
			if err := d.RemoveSitePage(s.Name, in.From); err != nil {
				return err
			}
		}
		return d.SetSitePage(s.Name, pg)
	})
	if out.ok() && isNew && len(out.errors) == 0 {
		out.code = http.StatusCreated
	}
	return out
}

// pageFormData is the page form: the page as the admin wrote it, and its
// preview when asked for.
type pageFormData struct {
	Site    provision.Site
	Page    pageInput
	New     bool
	Preview template.HTML
	Shown   bool // the preview was asked for (an empty page previews as nothing)
	Errors  fieldErrors
	Uploads []upload
	News    bool // the site is a news site: a date makes a post
	msg     string
}

func (d pageFormData) errorText() string { return d.msg }

// pageEditPage is GET /sites/{site}/page[?path=/x]: the form of a page of
// the site, or of a new one.
func (p *Panel) pageEditPage(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	d := pageFormData{New: true}
	if !slices.ContainsFunc(s.Pages, func(pg provision.Page) bool { return pg.Path == "/" }) {
		d.Page.Path = "/" // the home page first: a site without one gets a bare one
	}
	if path := c.r.URL.Query().Get("path"); path != "" {
		i := slices.IndexFunc(s.Pages, func(pg provision.Page) bool { return pg.Path == path })
		if i < 0 {
			c.fail(http.StatusNotFound, msgNoPage, path)
			return
		}
		pg := s.Pages[i]
		d = pageFormData{Page: pageInput{Path: pg.Path, Title: pg.Title, Body: pg.Body, Date: pg.Date, From: pg.Path}}
	}
	p.showPageForm(c, s, http.StatusOK, d)
}

func (p *Panel) showPageForm(c *call, s *provision.Site, code int, d pageFormData) {
	d.Site = *s
	d.News = s.Template == "news"
	var err error
	if d.Uploads, err = p.listUploads(c.lang, s.Name); err != nil {
		p.log.Error("sites: list uploads", "site", s.Name, "err", err)
	}
	title := text(c.lang, "page.new.title", s.Title)
	if !d.New {
		title = text(c.lang, "page.edit.title", d.Page.From, s.Title)
	}
	c.page(code, "site_page", title, "sites", d)
}

// pageForm is POST /sites/{site}/page: save the page, or (the button
// "preview") show it rendered below the form, saving nothing.
func (p *Panel) pageForm(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	in := pageInput{
		Path: c.r.PostFormValue("path"), Title: c.r.PostFormValue("title"), Body: c.r.PostFormValue("body"),
		Date: c.r.PostFormValue("date"), From: c.r.PostFormValue("from"),
	}
	d := pageFormData{Page: in, New: in.From == ""}
	if c.r.PostFormValue("action") == "preview" {
		code := http.StatusOK
		switch {
		case p.opts.RenderMarkdown == nil:
			code, d.msg = http.StatusServiceUnavailable, msgNoPreview.In(c.lang)
		case len(in.Body) > maxPageBodyBytes:
			code, d.msg = http.StatusBadRequest, msgPageBodyLong.Sprintf(c.lang, maxPageBodyBytes)
		default:
			html, err := p.renderPreview(s.Name, strings.ReplaceAll(in.Body, "\r\n", "\n"))
			if err != nil {
				p.log.Error("sites: preview", "site", s.Name, "err", err)
				code, d.msg = http.StatusInternalServerError, msgInternal.In(c.lang)
			}
			d.Preview, d.Shown = html, true
		}
		p.showPageForm(c, s, code, d)
		return
	}
	out := p.setPage(c, s, in)
	if !out.ok() {
		d.Errors, d.msg = out.errors, out.errors.text()
		p.showPageForm(c, s, out.code, d)
		return
	}
	c.redirect("/sites/" + s.Name + out.savedQuery() + "#pages")
}

// apiSetPage is POST /api/sites/{site}/pages: {"path","title","body",
// "date","from"} → 201 for a new page, 200 for a page replaced, with the
// revision.
func (p *Panel) apiSetPage(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	var in pageInput
	if !c.decodeJSON(&in) {
		return
	}
	out := p.setPage(c, s, in)
	if !out.ok() {
		apiEditError(c, out)
		return
	}
	writeJSON(c.w, out.code, map[string]any{"revision": out.rev, "note": out.errors.text()})
}

// removePage takes a page out of a site.
func (p *Panel) removePage(c *call, s *provision.Site, path string) editOutcome {
	if !slices.ContainsFunc(s.Pages, func(pg provision.Page) bool { return pg.Path == path }) {
		return editOutcome{code: http.StatusNotFound, errors: fieldErrors{"": {msgNoPage.Sprintf(c.lang, path)}}}
	}
	return p.edited(c, "site "+s.Name+" : page "+path+" supprimée / removed", p.siteIndex(s.Name), -1, "", func(d *packedit.Doc) error {
		return d.RemoveSitePage(s.Name, path)
	})
}

// removePagePage is GET /sites/{site}/page/delete?path=/x: the
// confirmation.
func (p *Panel) removePagePage(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	path := c.r.URL.Query().Get("path")
	i := slices.IndexFunc(s.Pages, func(pg provision.Page) bool { return pg.Path == path })
	if i < 0 {
		c.fail(http.StatusNotFound, msgNoPage, path)
		return
	}
	c.page(http.StatusOK, "site_confirm", text(c.lang, "page.delete.title", s.Pages[i].Title), "sites", siteConfirm{
		Question: text(c.lang, "page.delete.question", s.Pages[i].Title, path, s.Title),
		Note:     text(c.lang, "page.delete.note"),
		Action:   "/sites/" + s.Name + "/page/delete",
		Fields:   map[string]string{"path": path},
		Button:   text(c.lang, "page.delete.button"),
		Cancel:   "/sites/" + s.Name + "/page?path=" + url.QueryEscape(path),
	})
}

// removePageForm is POST /sites/{site}/page/delete.
func (p *Panel) removePageForm(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	out := p.removePage(c, s, c.r.PostFormValue("path"))
	if !out.ok() {
		p.showSite(c, s, out.code, sitePageData{Title: s.Title, Params: s.Params, msg: out.errors.text()})
		return
	}
	c.redirect("/sites/" + s.Name + out.savedQuery() + "#pages")
}

// apiRemovePage is DELETE /api/sites/{site}/pages?path=/x → 200 with the
// revision.
func (p *Panel) apiRemovePage(c *call) {
	s, ok := p.siteOf(c)
	if !ok {
		return
	}
	out := p.removePage(c, s, c.r.URL.Query().Get("path"))
	if !out.ok() {
		apiEditError(c, out)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"revision": out.rev})
}
