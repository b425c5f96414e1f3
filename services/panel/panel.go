// Package panel is the box's admin panel, served by the embedded Caddy on
// <hostname>.local and the box's IP addresses (see services/web): pages
// rendered on the server (html/template, embedded assets, no script), the
// JSON API under /api/ that pages and scripts share, /healthz and the
// Prometheus metrics.
//
// Every request goes through the same steps (ServeHTTP): security headers,
// the Host check, the route table (router.go: each route says who may call
// it), the cross-origin check on state-changing methods, the session
// (session.go: server-side, in SQLite, the role read from the live pack at
// every request), the route's roles, the CSRF token (csrf.go), and only
// then the handler.
//
// Users are those of the pack's panel.users; the database keeps their
// password hashes and sessions. The first admin gets a password through
// `ruche user passwd` or the one-time link `ruche up` prints (setup.go).
package panel

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Options is what the panel needs from the daemon. The functions are
// called on every request, so the panel follows a new pack revision
// without being rebuilt. Every field may be left zero: the panel then
// serves its public routes and nobody can log in.
type Options struct {
	// Lang is the pack's locale, the language of a visitor who chose none
	// and whose browser asks for neither French nor English; French when
	// nil.
	Lang func() i18n.Lang
	// AssociationName is association.name from the pack; the pack's own
	// when nil.
	AssociationName func() string
	// Health reports the box's checks; healthy with no checks when nil.
	Health func() Health
	// Gatherer is what /metrics exposes; prometheus.DefaultGatherer when nil.
	Gatherer prometheus.Gatherer
	// Version is Ruche's version, shown in the page's footer and /healthz.
	Version string

	// DB is the box's database: password hashes, sessions, setup links.
	DB *store.DB
	// Pack is the applied pack. Users and their roles are read from it at
	// every request, never kept in a session.
	Pack func() *provision.Pack
	// Root is the box's root ("/" on a box): the dashboard reads the disk,
	// the pack's revisions and the backups' state under it.
	Root string
	// CACertPath is the local certificate authority's root certificate
	// (PEM), which /ca offers for download when the pack's box.tls is
	// internal; the daemon gives web.LocalCARootPath(root). Empty: none.
	CACertPath string
	// Services reports the supervised services, for the dashboard.
	Services func() []provision.ServiceStatus
	// Listen are the addresses the web server listens on: the ports a
	// Host header may name (with the connection's own port, and none).
	Listen []string
	// PasswordChanged is called after the panel set a user's password
	// (the setup link), so that the wiki gets the new hash at once.
	PasswordChanged func(ctx context.Context)
	// Notifier mails ticket events (opened, answered) through the box's
	// mail; nil tells nobody.
	Notifier provision.Notifier
	// ApplyPack validates raw as the new live pack and applies it as a
	// revision by author with note (the daemon: the same path as `ruche
	// apply`, rolled back when the apply fails). Panel edits go through
	// it (edit.go); nil: the panel refuses edits and says why.
	ApplyPack func(ctx context.Context, raw []byte, author, note string) (provision.Revision, error)
	// Sites (sites.go), from services/sites, which the panel does not
	// import: the templates a site is created from, the Markdown renderer
	// of the pages (the preview shows what the site will), and the
	// uploads folder of a site, relative to Root. Nil: the panel offers
	// none of these.
	SiteTemplates  func() []SiteTemplate
	RenderMarkdown func(md string) (template.HTML, error)
	SiteUploadsDir func(site string) string
	// Staff actions from the dashboard (actions.go). RestartService
	// restarts a supervised service (an error wrapping ErrUnknownService
	// for a name the box does not run, ErrBoxPaused during a restore).
	// BackupNow and DrillNow start a backup of every target and a restore
	// drill in the background and return once started (ErrActionBusy
	// when one already runs). Nil: the panel says the action is not
	// available (503).
	RestartService func(ctx context.Context, name string) error
	BackupNow      func(ctx context.Context) error
	DrillNow       func(ctx context.Context) error
	// Log is the panel's logger (logins, ended sessions, refusals);
	// slog.Default when nil. It never receives a password or a token.
	Log *slog.Logger

	// IdleTimeout ends a session unused for that long; MaxSessionAge ends
	// any session that old. Defaults when zero: DefaultIdleTimeout and
	// DefaultMaxSessionAge.
	IdleTimeout, MaxSessionAge time.Duration
}

// Session lifetimes. Panels are opened on the association's shared
// computers and visitors' phones: a session lasts a working day at most and
// ends after two hours without use, so that a forgotten tab does not stay
// an open door until the next morning.
const (
	DefaultIdleTimeout   = 2 * time.Hour
	DefaultMaxSessionAge = 12 * time.Hour
)

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

// Panel is the panel's HTTP handler.
type Panel struct {
	opts    Options
	log     *slog.Logger
	metrics http.Handler
	routes  []route
	cop     *http.CrossOriginProtection
	// Login throttling: failures per login and per client address.
	byLogin, byAddr *throttle
	// resets throttles the requests of password reset links (reset.go).
	resets resetThrottles
	addrs  addrCache
	now    func() time.Time // tests move the clock
	// mailing are the notifications on their way: mails go out after the
	// answer, so that a slow mail server never holds a member's click.
	mailing sync.WaitGroup
	// editMu serializes pack edits (edit.go): each reads the live pack
	// the previous one applied.
	editMu sync.Mutex
	// memory keeps the last reading of the processes' memory a few
	// seconds (status.go): walking /proc at every dashboard view of 50
	// volunteers would cost more than the figure is worth.
	memory memoryCache
}

// New returns the panel's handler.
func New(opts Options) *Panel {
	p := &Panel{opts: opts, now: time.Now, cop: http.NewCrossOriginProtection()}
	if p.opts.Gatherer == nil {
		p.opts.Gatherer = prometheus.DefaultGatherer
	}
	if p.opts.IdleTimeout <= 0 {
		p.opts.IdleTimeout = DefaultIdleTimeout
	}
	if p.opts.MaxSessionAge <= 0 {
		p.opts.MaxSessionAge = DefaultMaxSessionAge
	}
	p.log = opts.Log
	if p.log == nil {
		p.log = slog.Default()
	}
	p.metrics = promhttp.HandlerFor(p.opts.Gatherer, promhttp.HandlerOpts{})
	p.byLogin = newThrottle(loginFreeFailures)
	p.byAddr = newThrottle(addrFreeFailures)
	p.resets = resetThrottles{byKey: newThrottle(resetFreePerKey), byAddr: newThrottle(resetFreePerAddr)}
	p.routes = p.table()
	return p
}

// call is one request on its way through the panel.
type call struct {
	p      *Panel
	w      http.ResponseWriter
	r      *http.Request
	route  *route // nil before the route is known, or for none
	params map[string]string
	lang   i18n.Lang

	authed bool   // the session was looked up
	user   *user  // nil: no (valid) session
	anon   string // the anonymous CSRF token, once known (csrf.go)
}

// param is a path parameter of the route ({token}).
func (c *call) param(name string) string { return c.params[name] }

// currentUser is the request's user, nil without a valid session. The
// session is looked up once, on first use: /healthz and the stylesheet
// never touch the database.
func (c *call) currentUser() *user {
	if !c.authed {
		c.authed = true
		c.user = c.p.authenticate(c.w, c.r)
	}
	return c.user
}

func (p *Panel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	c := &call{p: p, w: w, r: r, lang: p.langOf(r)}

	// DNS rebinding: a page of another site whose name an attacker points
	// at the box must not reach the panel with the visitor's cookies.
	// The answer is plain JSON: no page, no cookie, no database under a
	// name that is not the panel's.
	if !p.hostAllowed(r) {
		c.jsonError(http.StatusMisdirectedRequest, msgBadHost.In(c.lang))
		return
	}
	rt, params, allowed := p.match(r.Method, r.URL.Path)
	if rt == nil {
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(slices.Compact(allowed), ", "))
			c.fail(http.StatusMethodNotAllowed, msgMethod)
			return
		}
		c.fail(http.StatusNotFound, msgNotFound)
		return
	}
	c.route, c.params = rt, params

	unsafe := !safeMethod(r.Method)
	if unsafe {
		if err := p.cop.Check(r); err != nil {
			p.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "remote", r.RemoteAddr)
			c.fail(http.StatusForbidden, msgCrossSite)
			return
		}
	}
	if rt.access.lan && !fromLAN(r.RemoteAddr) {
		c.fail(http.StatusForbidden, msgLANOnly)
		return
	}
	if !rt.access.public {
		u := c.currentUser()
		switch {
		case u == nil && rt.api():
			c.fail(http.StatusUnauthorized, msgLoginNeeded)
			return
		case u == nil:
			c.redirectToLogin()
			return
		case !rt.access.allows(u.Role):
			c.fail(http.StatusForbidden, msgForbidden)
			return
		}
	}
	if unsafe && !rt.noToken && !c.tokenOK() {
		p.log.Warn("request without a valid CSRF token refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		c.fail(http.StatusForbidden, msgBadToken)
		return
	}
	rt.handle(c)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// pack is the applied pack, nil when there is none (yet).
func (p *Panel) pack() *provision.Pack {
	if p.opts.Pack == nil {
		return nil
	}
	return p.opts.Pack()
}

// associationName is the name pages show, "" when unknown.
func (p *Panel) associationName() string {
	if p.opts.AssociationName != nil {
		return p.opts.AssociationName()
	}
	if pk := p.pack(); pk != nil {
		return pk.Association.Name
	}
	return ""
}

// health is the daemon's health report, never with a nil map.
func (p *Panel) health() Health {
	var h Health
	if p.opts.Health != nil {
		h = p.opts.Health()
	}
	if h.Checks == nil {
		h.Checks = map[string]Check{}
	}
	return h
}

// packUser is the pack's entry for login.
func packUser(pk *provision.Pack, login string) (provision.User, bool) {
	if pk == nil || login == "" {
		return provision.User{}, false
	}
	for _, u := range pk.Panel.Users {
		if u.Login == login {
			return u, true
		}
	}
	return provision.User{}, false
}

// addrCache keeps the box's interface addresses for a while: they are read
// for requests whose Host is an IP address, and DHCP may change them.
type addrCache struct {
	mu    sync.Mutex
	at    time.Time
	addrs map[string]bool
}
