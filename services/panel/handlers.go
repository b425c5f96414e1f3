package panel

import (
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// home is GET /: the dashboard for admins and technicians, a page of links
// for members.
func (p *Panel) home(c *call) {
	u := c.currentUser()
	l := p.links(c.r)
	if u.Role == provision.RoleMember {
		c.page(http.StatusOK, "home", text(c.lang, "home.welcome", displayName(u.User)), "home",
			struct{ Links links }{l})
		return
	}
	st := p.staffStatus(c)
	c.page(http.StatusOK, "dashboard", text(c.lang, "dash.title"), "home", struct {
		Status  Status
		Links   links
		History template.HTML // chart.go
		Actions dashActions   // actions.go
	}{st, l, p.usageSection(c, defaultRange), p.actions(c, st)})
}

func displayName(u provision.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Login
}

// account is GET /account: the user's own profile, as the pack has it.
func (p *Panel) account(c *call) {
	c.page(http.StatusOK, "account", text(c.lang, "account.title"), "account", nil)
}

// setLang is POST /lang: the language switch. The choice is kept a year in
// a cookie; the browser goes back to the page it was on.
func (p *Panel) setLang(c *call) {
	lang := c.r.PostFormValue("lang")
	if lang != "fr" && lang != "en" {
		lang = string(i18n.Parse(lang))
	}
	http.SetCookie(c.w, &http.Cookie{
		Name: cookieName(c.r, langCookie), Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: c.r.TLS != nil, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	c.redirect(localPath(c.r.PostFormValue("next")))
}

// asset is GET /assets/{file}: the embedded stylesheet. Its URL carries
// the version, so a browser may keep it a day.
func (p *Panel) asset(c *call) {
	name := c.param("file")
	data, err := fs.ReadFile(assetFS, "assets/"+name)
	if err != nil || strings.Contains(name, "..") {
		c.fail(http.StatusNotFound, msgNotFound)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.w.Header().Set("Content-Type", ct)
	c.w.Header().Set("Cache-Control", "public, max-age=86400")
	c.w.Write(data)
}

// healthz answers 200 when every check passed, else 503, with the checks
// in both cases so a technician sees what failed.
func (p *Panel) healthz(c *call) {
	h := p.health()
	body := struct {
		Status  string           `json:"status"`
		Version string           `json:"version,omitempty"`
		Checks  map[string]Check `json:"checks"`
	}{"ok", p.opts.Version, h.Checks}
	code := http.StatusOK
	if !h.Healthy() {
		body.Status, code = "fail", http.StatusServiceUnavailable
	}
	writeJSON(c.w, code, body)
}

// serveMetrics serves Prometheus metrics to the LAN only (the route's
// access): they say which services run and when backups last worked,
// which is nobody's business outside the association.
func (p *Panel) serveMetrics(c *call) {
	p.metrics.ServeHTTP(c.w, c.r)
}

// link is an address of the wiki or of a site, on the LAN and on the
// internet when the pack gives it a domain.
type link struct {
	Title  string
	URL    string
	Public string
}

type links struct {
	Wiki  *link
	Sites []link
}

// links are the wiki's and the sites' addresses, built from the name the
// visitor reached the panel by: under panel.localhost (development) the
// .localhost names, otherwise the LAN names <name>-<hostname>.local, with
// the same scheme and port.
func (p *Panel) links(r *http.Request) links {
	var out links
	pk := p.pack()
	if pk == nil {
		return out
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	host, port := splitHostPort(r.Host)
	if port != "" {
		port = ":" + port
	}
	dev := strings.EqualFold(host, localhostName)
	lan := func(name string) string {
		if dev {
			return scheme + name + ".localhost" + port + "/"
		}
		return scheme + name + "-" + pk.Box.Hostname + ".local" + port + "/"
	}
	public := func(domain string) string {
		if domain == "" {
			return ""
		}
		if pk.Box.TLS == "acme" {
			return "https://" + domain + "/"
		}
		return "http://" + domain + "/"
	}
	if pk.Wiki.Enabled {
		out.Wiki = &link{Title: pk.Wiki.Title, URL: lan("wiki"), Public: public(pk.Wiki.Domain)}
	}
	for _, s := range pk.Sites {
		l := link{Title: s.Title, URL: lan(s.Name)}
		if l.Title == "" {
			l.Title = s.Name
		}
		if len(s.Domains) > 0 {
			l.Public = public(s.Domains[0])
		}
		out.Sites = append(out.Sites, l)
	}
	return out
}
