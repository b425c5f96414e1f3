package panel

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ruche-box/ruche/provision"
)

// access is who may use a route. Every route declares one, and the role
// matrix test reads them from the table below: a route cannot be added
// without saying who may call it.
type access struct {
	// public: anyone, with a session or not.
	public bool
	// lan: public, but only to clients on a local network (/metrics).
	lan bool
	// roles that may call the route; a session with another role gets 403,
	// no session 401 (API) or a redirect to the login page.
	roles []string
}

var (
	anyone   = access{public: true}
	lanOnly  = access{public: true, lan: true}
	everyone = access{roles: []string{provision.RoleAdmin, provision.RoleTechnician, provision.RoleMember}}
	staff    = access{roles: []string{provision.RoleAdmin, provision.RoleTechnician}}
)

func (a access) allows(role string) bool {
	return a.public || slices.Contains(a.roles, role)
}

// String is what the route table in the report and the tests show.
func (a access) String() string {
	switch {
	case a.lan:
		return "public (LAN only)"
	case a.public:
		return "public"
	}
	return strings.Join(a.roles, ", ")
}

// route is one method and path of the panel.
type route struct {
	method string
	// pattern is a path; a segment {name} matches any one non-empty
	// segment, read with call.param(name).
	pattern string
	access  access
	// noToken: a state-changing route that takes no CSRF token, because no
	// session exists yet to bind one to (login through the API; the
	// cross-origin check and the JSON content type still apply).
	noToken bool
	handle  func(*call)
}

// api reports whether the route is of the JSON API: errors in JSON, 401
// rather than a redirect to the login page.
func (rt *route) api() bool {
	return strings.HasPrefix(rt.pattern, "/api/") || rt.pattern == "/healthz" || rt.pattern == "/metrics"
}

// table is every route of the panel. Add a route here, with who may call
// it, and give it a line in TestRoleMatrix.
func (p *Panel) table() []route {
	return []route{
		{method: "GET", pattern: "/", access: everyone, handle: p.home},
		{method: "GET", pattern: "/login", access: anyone, handle: p.loginPage},
		{method: "POST", pattern: "/login", access: anyone, handle: p.loginForm},
		{method: "POST", pattern: "/logout", access: everyone, handle: p.logoutForm},
		{method: "GET", pattern: "/setup/{token}", access: anyone, handle: p.setupPage},
		{method: "POST", pattern: "/setup/{token}", access: anyone, handle: p.setupForm},
		{method: "GET", pattern: "/account", access: everyone, handle: p.account},
		{method: "POST", pattern: "/lang", access: anyone, handle: p.setLang},
		{method: "GET", pattern: "/assets/{file}", access: anyone, handle: p.asset},
		{method: "GET", pattern: "/healthz", access: anyone, handle: p.healthz},
		{method: "GET", pattern: "/metrics", access: lanOnly, handle: p.serveMetrics},
		// The local CA's certificate (ca.go): public, a device needs it
		// before it can trust the panel's HTTPS.
		{method: "GET", pattern: "/ca", access: anyone, handle: p.caPage},
		{method: "GET", pattern: "/ca.crt", access: anyone, handle: p.caFile},

		{method: "POST", pattern: "/api/session", access: anyone, noToken: true, handle: p.apiLogin},
		{method: "GET", pattern: "/api/session", access: everyone, handle: p.apiSession},
		{method: "DELETE", pattern: "/api/session", access: everyone, handle: p.apiLogout},
		{method: "GET", pattern: "/api/status", access: staff, handle: p.apiStatus},

		// Intervention tickets (tickets.go). A member's routes on {id}
		// answer 404 for another member's ticket: the handler checks the
		// author, the role alone cannot.
		{method: "GET", pattern: "/tickets", access: everyone, handle: p.ticketsPage},
		{method: "POST", pattern: "/tickets", access: everyone, handle: p.openTicketForm},
		{method: "GET", pattern: "/tickets/new", access: everyone, handle: p.newTicketPage},
		{method: "GET", pattern: "/tickets/{id}", access: everyone, handle: p.ticketPage},
		{method: "POST", pattern: "/tickets/{id}", access: staff, handle: p.changeTicketForm},
		{method: "POST", pattern: "/tickets/{id}/comments", access: everyone, handle: p.commentForm},
		{method: "POST", pattern: "/tickets/{id}/diagnostic", access: staff, handle: p.diagnosticForm},
		{method: "GET", pattern: "/audit", access: staff, handle: p.auditPage},
		{method: "GET", pattern: "/api/tickets", access: everyone, handle: p.apiTickets},
		{method: "POST", pattern: "/api/tickets", access: everyone, handle: p.apiOpenTicket},
		{method: "GET", pattern: "/api/tickets/{id}", access: everyone, handle: p.apiTicket},
		{method: "PATCH", pattern: "/api/tickets/{id}", access: staff, handle: p.apiChangeTicket},
		{method: "POST", pattern: "/api/tickets/{id}/comments", access: everyone, handle: p.apiComment},
		{method: "POST", pattern: "/api/tickets/{id}/diagnostic", access: staff, handle: p.apiDiagnostic},
		{method: "GET", pattern: "/api/audit", access: staff, handle: p.apiAudit},
	}
}

// match finds the route for a request. It returns the route and its path
// parameters, or no route and the methods the path answers to (none: 404;
// some: 405 with Allow). HEAD is served by the GET route.
func (p *Panel) match(method, path string) (*route, map[string]string, []string) {
	var allowed []string
	for i := range p.routes {
		rt := &p.routes[i]
		params, ok := matchPath(rt.pattern, path)
		if !ok {
			continue
		}
		if rt.method == method || method == http.MethodHead && rt.method == http.MethodGet {
			return rt, params, nil
		}
		allowed = append(allowed, rt.method)
		if rt.method == http.MethodGet {
			allowed = append(allowed, http.MethodHead)
		}
	}
	return nil, nil, allowed
}

// matchPath matches a path against a pattern segment by segment. Paths are
// taken as sent: "/healthz/" or "//login" are other paths, 404.
func matchPath(pattern, path string) (map[string]string, bool) {
	if pattern == path {
		return nil, true
	}
	if !strings.Contains(pattern, "{") {
		return nil, false
	}
	ps, qs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(qs) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range ps {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			if qs[i] == "" {
				return nil, false
			}
			params[strings.TrimSuffix(name, "}")] = qs[i]
			continue
		}
		if seg != qs[i] {
			return nil, false
		}
	}
	return params, true
}
