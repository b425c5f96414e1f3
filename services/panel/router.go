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
	// upload: a multipart form of files, whose CSRF token is its first
	// field, read before the files (uploadTokenOK, sites_uploads.go).
	upload bool
	handle func(*call)
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
		// Password reset by e-mail (reset.go) and the member's own RGPD
		// export (rgpd.go).
		{method: "GET", pattern: "/reset", access: anyone, handle: p.resetAskPage},
		{method: "POST", pattern: "/reset", access: anyone, handle: p.resetAskForm},
		{method: "GET", pattern: "/reset/{token}", access: anyone, handle: p.resetPage},
		{method: "POST", pattern: "/reset/{token}", access: anyone, handle: p.resetForm},
		{method: "GET", pattern: "/account/export", access: everyone, handle: p.accountExport},
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
		// The dashboard's history of disk use and backup sizes (history.go).
		{method: "GET", pattern: "/history", access: staff, handle: p.historyPage},
		{method: "GET", pattern: "/api/usage", access: staff, handle: p.apiUsage},
		// The dashboard's actions (actions.go): restart a service, back
		// up now, run a restore drill.
		{method: "POST", pattern: "/services/{name}/restart", access: staff, handle: p.restartForm},
		{method: "POST", pattern: "/api/services/{name}/restart", access: staff, handle: p.apiRestart},
		{method: "POST", pattern: "/backups", access: staff, handle: p.backupForm},
		{method: "POST", pattern: "/api/backups", access: staff, handle: p.apiBackup},
		{method: "POST", pattern: "/backups/drill", access: staff, handle: p.drillForm},
		{method: "POST", pattern: "/api/backups/drill", access: staff, handle: p.apiDrill},

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

		// Panel edits as pack revisions (edit.go): mail aliases
		// (aliases.go) and users (users.go) for admins; revisions
		// (revisions.go) read by staff, gone back to by admins. Removals
		// come last within each group, so that TestRoleMatrix removes
		// what the routes before it used.
		{method: "GET", pattern: "/aliases", access: editAdmins, handle: p.aliasesPage},
		{method: "POST", pattern: "/aliases", access: editAdmins, handle: p.addAliasForm},
		{method: "GET", pattern: "/aliases/{address}", access: editAdmins, handle: p.aliasPage},
		{method: "POST", pattern: "/aliases/{address}", access: editAdmins, handle: p.changeAliasForm},
		{method: "GET", pattern: "/api/aliases", access: editAdmins, handle: p.apiAliases},
		{method: "POST", pattern: "/api/aliases", access: editAdmins, handle: p.apiAddAlias},
		{method: "GET", pattern: "/api/aliases/{address}", access: editAdmins, handle: p.apiAlias},
		{method: "PUT", pattern: "/api/aliases/{address}", access: editAdmins, handle: p.apiPutAlias},
		{method: "GET", pattern: "/aliases/{address}/delete", access: editAdmins, handle: p.deleteAliasPage},
		{method: "POST", pattern: "/aliases/{address}/delete", access: editAdmins, handle: p.deleteAliasForm},
		{method: "DELETE", pattern: "/api/aliases/{address}", access: editAdmins, handle: p.apiDeleteAlias},
		{method: "GET", pattern: "/users", access: editAdmins, handle: p.usersPage},
		{method: "POST", pattern: "/users", access: editAdmins, handle: p.addUserForm},
		{method: "GET", pattern: "/api/users", access: editAdmins, handle: p.apiUsers},
		{method: "GET", pattern: "/users/{login}", access: editAdmins, handle: p.userPage},
		{method: "POST", pattern: "/users/{login}", access: editAdmins, handle: p.changeUserForm},
		{method: "POST", pattern: "/users/{login}/setup-link", access: editAdmins, handle: p.setupLinkForm},
		// Account lifecycle (lifecycle.go, rgpd.go): disabling comes
		// after the routes that need the user active, erasure last.
		{method: "POST", pattern: "/users/{login}/reset-link", access: editAdmins, handle: p.resetLinkForm},
		{method: "GET", pattern: "/users/{login}/export", access: editAdmins, handle: p.userExport},
		{method: "GET", pattern: "/users/{login}/enable", access: editAdmins, handle: p.enablePage},
		{method: "POST", pattern: "/users/{login}/enable", access: editAdmins, handle: p.enableForm},
		{method: "GET", pattern: "/users/{login}/disable", access: editAdmins, handle: p.disablePage},
		{method: "POST", pattern: "/users/{login}/disable", access: editAdmins, handle: p.disableForm},
		{method: "GET", pattern: "/users/{login}/delete", access: editAdmins, handle: p.removeUserPage},
		{method: "POST", pattern: "/users/{login}/delete", access: editAdmins, handle: p.removeUserForm},
		{method: "GET", pattern: "/users/{login}/erase", access: editAdmins, handle: p.erasePage},
		{method: "POST", pattern: "/users/{login}/erase", access: editAdmins, handle: p.eraseForm},
		{method: "GET", pattern: "/revisions", access: staff, handle: p.revisionsPage},
		{method: "GET", pattern: "/api/revisions", access: staff, handle: p.apiRevisions},
		{method: "GET", pattern: "/revisions/{n}", access: staff, handle: p.revisionPage},
		{method: "GET", pattern: "/revisions/{n}/restore", access: editAdmins, handle: p.restorePage},
		{method: "POST", pattern: "/revisions/{n}/restore", access: editAdmins, handle: p.restoreForm},

		// Sites (sites.go, sites_edit.go, sites_uploads.go): technicians
		// see the list, admins change the sites. Pages are named by
		// ?path= (a page's path has slashes), uploads by ?file=.
		{method: "GET", pattern: "/sites", access: staff, handle: p.sitesPage},
		{method: "POST", pattern: "/sites", access: siteAdmins, handle: p.createSiteForm},
		{method: "GET", pattern: "/sites/{site}", access: siteAdmins, handle: p.sitePage},
		{method: "POST", pattern: "/sites/{site}", access: siteAdmins, handle: p.saveSiteForm},
		{method: "GET", pattern: "/sites/{site}/remove", access: siteAdmins, handle: p.removeSitePage},
		{method: "POST", pattern: "/sites/{site}/remove", access: siteAdmins, handle: p.removeSiteForm},
		{method: "GET", pattern: "/sites/{site}/page", access: siteAdmins, handle: p.pageEditPage},
		{method: "POST", pattern: "/sites/{site}/page", access: siteAdmins, handle: p.pageForm},
		{method: "GET", pattern: "/sites/{site}/page/delete", access: siteAdmins, handle: p.removePagePage},
		{method: "POST", pattern: "/sites/{site}/page/delete", access: siteAdmins, handle: p.removePageForm},
		{method: "POST", pattern: "/sites/{site}/uploads", access: siteAdmins, upload: true, handle: p.uploadForm},
		{method: "GET", pattern: "/sites/{site}/uploads/delete", access: siteAdmins, handle: p.removeUploadPage},
		{method: "POST", pattern: "/sites/{site}/uploads/delete", access: siteAdmins, handle: p.removeUploadForm},
		{method: "GET", pattern: "/sites/{site}/files/{file}", access: siteAdmins, handle: p.uploadFile},
		{method: "GET", pattern: "/api/sites", access: staff, handle: p.apiSites},
		{method: "POST", pattern: "/api/sites", access: siteAdmins, handle: p.apiCreateSite},
		{method: "GET", pattern: "/api/site-templates", access: siteAdmins, handle: p.apiSiteTemplates},
		{method: "GET", pattern: "/api/sites/{site}", access: siteAdmins, handle: p.apiSite},
		{method: "PATCH", pattern: "/api/sites/{site}", access: siteAdmins, handle: p.apiChangeSite},
		{method: "DELETE", pattern: "/api/sites/{site}", access: siteAdmins, handle: p.apiRemoveSite},
		{method: "POST", pattern: "/api/sites/{site}/pages", access: siteAdmins, handle: p.apiSetPage},
		{method: "DELETE", pattern: "/api/sites/{site}/pages", access: siteAdmins, handle: p.apiRemovePage},
		{method: "POST", pattern: "/api/sites/{site}/preview", access: siteAdmins, handle: p.apiPreview},
		{method: "GET", pattern: "/api/sites/{site}/uploads", access: siteAdmins, handle: p.apiUploads},
		{method: "POST", pattern: "/api/sites/{site}/uploads", access: siteAdmins, handle: p.apiUpload},
		{method: "DELETE", pattern: "/api/sites/{site}/uploads", access: siteAdmins, handle: p.apiRemoveUpload},
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
