// Package panel is the box's admin panel, served by the embedded Caddy on
// <hostname>.local and the box's IP addresses (see services/web).
//
// For now it is a placeholder page, the health check and the Prometheus
// metrics; issue 5 builds the real panel (sessions, users, tickets, the
// JSON API) on this handler.
package panel

import (
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ruche-box/ruche/provision/i18n"
)

// Options is what the panel needs from the daemon. The functions are
// called on every request, so the panel follows a new pack revision
// without being rebuilt. Every field may be left zero.
type Options struct {
	// Lang is the pack's locale; French when nil.
	Lang func() i18n.Lang
	// AssociationName is association.name from the pack.
	AssociationName func() string
	// Health reports the box's checks; healthy with no checks when nil.
	Health func() Health
	// Gatherer is what /metrics exposes; prometheus.DefaultGatherer when nil.
	Gatherer prometheus.Gatherer
	// Version is Ruche's version, shown in the page's footer and /healthz.
	Version string
}

// Health is the state of the box as the daemon sees it: one entry per
// check (a supervised service, the last backup, free disk space...).
type Health struct {
	Checks map[string]Check `json:"checks"`
}

// Check is the result of one health check.
type Check struct {
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

// Healthy reports whether every check passed; no check at all is healthy.
func (h Health) Healthy() bool {
	for _, c := range h.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// New returns the panel's handler.
func New(opts Options) http.Handler {
	p := &panel{opts: opts}
	if p.opts.Gatherer == nil {
		p.opts.Gatherer = prometheus.DefaultGatherer
	}
	p.metrics = promhttp.HandlerFor(p.opts.Gatherer, promhttp.HandlerOpts{})
	return p
}

type panel struct {
	opts    Options
	metrics http.Handler
}

// The panel's routes, on a plain switch rather than a ServeMux: a "GET /"
// pattern would also catch every unknown path, and this list is short.
func (p *panel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	var h func(http.ResponseWriter, *http.Request)
	switch r.URL.Path {
	case "/":
		h = p.home
	case "/healthz":
		h = p.healthz
	case "/metrics":
		h = p.serveMetrics
	default:
		p.notFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		p.error(w, r, http.StatusMethodNotAllowed, msgMethod)
		return
	}
	h(w, r)
}

// securityHeaders go on every answer: the panel is never framed (no
// clickjacking of an admin's clicks), its pages load nothing from
// elsewhere, and its URLs do not leak to other sites.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY") // for browsers older than frame-ancestors
	h.Set("Referrer-Policy", "no-referrer")
}

func (p *panel) lang() i18n.Lang {
	if p.opts.Lang == nil {
		return i18n.FR
	}
	return p.opts.Lang()
}

var (
	msgTitle    = i18n.M{FR: "Panneau de la box", EN: "Box panel"}
	msgComing   = i18n.M{FR: "Le panneau arrive bientôt.", EN: "The panel is coming."}
	msgHealth   = i18n.M{FR: "État de la box", EN: "Box health"}
	msgNotFound = i18n.M{FR: "page introuvable", EN: "page not found"}
	msgMethod   = i18n.M{FR: "méthode non autorisée", EN: "method not allowed"}
	msgLANOnly  = i18n.M{FR: "les métriques ne sont servies qu'au réseau local", EN: "metrics are served to the local network only"}
)

var homePage = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}{{with .Association}} · {{.}}{{end}}</title>
<style>body{margin:0 auto;max-width:40rem;padding:1rem 1.25rem;font:1.05rem/1.6 system-ui,sans-serif;color:#1f2328;background:#fdfcfa}footer{color:#666;font-size:.9rem}@media (prefers-color-scheme:dark){body{color:#e8e6e3;background:#181a1b}footer{color:#aaa}a{color:#7fb8e6}}</style>
</head>
<body>
<main>
<h1>{{with .Association}}{{.}}{{else}}{{.Title}}{{end}}</h1>
<p>{{.Coming}}</p>
<p><a href="/healthz">{{.Health}}</a></p>
</main>
{{with .Version}}<footer><p>Ruche {{.}}</p></footer>{{end}}
</body>
</html>
`))

func (p *panel) home(w http.ResponseWriter, r *http.Request) {
	lang := p.lang()
	name := ""
	if p.opts.AssociationName != nil {
		name = p.opts.AssociationName()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_ = homePage.Execute(w, map[string]any{
		"Lang":        lang,
		"Title":       msgTitle.In(lang),
		"Association": name,
		"Coming":      msgComing.In(lang),
		"Health":      msgHealth.In(lang),
		"Version":     p.opts.Version,
	})
}

// healthz answers 200 when every check passed, else 503, with the checks
// in both cases so a technician sees what failed.
func (p *panel) healthz(w http.ResponseWriter, r *http.Request) {
	var h Health
	if p.opts.Health != nil {
		h = p.opts.Health()
	}
	if h.Checks == nil {
		h.Checks = map[string]Check{}
	}
	body := struct {
		Status  string           `json:"status"`
		Version string           `json:"version,omitempty"`
		Checks  map[string]Check `json:"checks"`
	}{"ok", p.opts.Version, h.Checks}
	code := http.StatusOK
	if !h.Healthy() {
		body.Status, code = "fail", http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, body)
}

// serveMetrics serves Prometheus metrics to the LAN only: they say which
// services run and when backups last worked, which is nobody's business
// outside the association. The check is on the connection's own address,
// never on X-Forwarded-For, which any client can write.
func (p *panel) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !fromLAN(r.RemoteAddr) {
		p.error(w, r, http.StatusForbidden, msgLANOnly)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	p.metrics.ServeHTTP(w, r)
}

// fromLAN reports whether a remote address is on a local network:
// loopback, RFC 1918 and IPv6 unique local (fc00::/7), or link-local.
func fromLAN(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap() // ::ffff:192.168.1.2 is 192.168.1.2
	return addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast()
}

func (p *panel) notFound(w http.ResponseWriter, r *http.Request) {
	p.error(w, r, http.StatusNotFound, msgNotFound)
}

// error answers {"error": "message"} in the pack's language, the panel's
// one error shape (DESIGN.md).
func (p *panel) error(w http.ResponseWriter, _ *http.Request, code int, m i18n.M) {
	writeJSON(w, code, map[string]string{"error": m.In(p.lang())})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
