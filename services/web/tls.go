package web

import (
	"encoding/json"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddypki"
	"github.com/caddyserver/caddy/v2/modules/caddytls"

	"github.com/ruche-box/ruche/provision"
)

// HTTPS by box.tls
//
//	off       no certificate, no HTTPS address: HTTP only.
//	internal  every name the box serves gets a certificate from the box's
//	          own CA (Caddy's "local" CA, stored under CaddyDir): site
//	          domains, <site>-<hostname>.local, <hostname>.local,
//	          wiki-<hostname>.local, wiki.domain, and in dev the
//	          .localhost names. A device that installed the CA's root
//	          certificate (LocalCARoot) trusts them all.
//	acme      the pack's public domains (sites, wiki.domain) get
//	          certificates from Let's Encrypt, with the association's
//	          contact as account e-mail, and plain HTTP on them redirects
//	          to HTTPS; the LAN names keep the local CA.
//
// In every mode HTTP keeps answering the LAN names, and Caddy never
// touches the system trust store (install_trust false). Certificates are
// managed eagerly, at start and at each reload, for the names of the
// rendered configuration only: no on-demand issuance for whatever name a
// client sends.

const (
	tlsOff      = "off"
	tlsInternal = "internal"
	tlsACME     = "acme"

	// localCA is the ID of the box's CA in Caddy's pki app.
	localCA = caddypki.DefaultCAID

	// httpsRedirectGroup names the route that sends public domains from
	// HTTP to HTTPS, so that Server.Load finds it when the HTTPS port
	// changes.
	httpsRedirectGroup = "ruche_https_redirect"
)

// LocalCARootPath is the absolute path of the local CA's root certificate
// for a box under root.
func LocalCARootPath(root string) string { return path.Join(root, LocalCARoot) }

// tlsMode is box.tls, with validation's default (internal) for an empty
// value.
func tlsMode(in *provision.RenderInput) string {
	switch m := strings.TrimSpace(in.Pack.Box.TLS); m {
	case tlsOff, tlsACME:
		return m
	default:
		return tlsInternal
	}
}

// servedHosts are every name the box answers to, in route order and
// without duplicates (the sites, the wiki, the panel), and among them the
// pack's domains a public CA could certify.
func servedHosts(in *provision.RenderInput) (all, public []string, err error) {
	seen, seenPublic := map[string]bool{}, map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			all = append(all, h)
		}
	}
	addPublic := func(d string) error {
		h, err := asciiDomain(d)
		if err != nil {
			return err
		}
		if publicName(h) && !seenPublic[h] {
			seenPublic[h] = true
			public = append(public, h)
		}
		return nil
	}
	for i := range in.Pack.Sites {
		site := &in.Pack.Sites[i]
		hosts, err := siteHosts(in, site)
		if err != nil {
			return nil, nil, err
		}
		for _, h := range hosts {
			add(h)
		}
		for _, d := range site.Domains {
			if err := addPublic(d); err != nil {
				return nil, nil, err
			}
		}
	}
	wiki, err := wikiHosts(in)
	if err != nil {
		return nil, nil, err
	}
	for _, h := range wiki {
		add(h)
	}
	if in.Pack.Wiki.Enabled && in.Pack.Wiki.Domain != "" {
		if err := addPublic(in.Pack.Wiki.Domain); err != nil {
			return nil, nil, err
		}
	}
	for _, h := range panelHosts(in) {
		add(h)
	}
	return all, public, nil
}

// publicName reports whether a public CA could certify a name: not a
// special-use or private-use name (RFC 6761, 6762, 8375, and the common
// home-network suffixes), which the local CA certifies instead.
func publicName(h string) bool {
	if !strings.Contains(h, ".") || strings.Contains(h, "*") {
		return false
	}
	for _, s := range []string{".local", ".localhost", ".internal", ".home.arpa", ".lan", ".home", ".test", ".invalid", ".example", ".onion"} {
		if strings.HasSuffix(h, s) {
			return false
		}
	}
	return true
}

// tlsApp configures certificates: which names, from which issuer. With
// tls off it only keeps Caddy's storage cleaner off (see below).
//
// Storage cleaning (expired certificates of names no longer served) stays
// off: Caddy stamps it with an instance ID it writes under $HOME (or
// $XDG_DATA_HOME), outside the box's root, whatever the storage says.
// Certificates of names that left the pack stay in CaddyDir, a few KB
// each, until someone removes them.
func tlsApp(in *provision.RenderInput, mode string, all, public []string) *caddytls.TLS {
	app := &caddytls.TLS{DisableStorageClean: true}
	if mode == tlsOff || len(all) == 0 {
		return app
	}
	app.CertificatesRaw = caddy.ModuleMap{"automate": caddyconfig.JSON(caddytls.AutomateLoader(all), nil)}
	internal := caddyconfig.JSONModuleObject(caddytls.InternalIssuer{CA: localCA}, "module", "internal", nil)
	// OCSP stapling is off: the local CA runs no OCSP responder, and Let's
	// Encrypt stopped running one in 2025; stapling would only log a
	// warning for each name.
	var policies []*caddytls.AutomationPolicy
	if mode == tlsACME && len(public) > 0 {
		acme := caddyconfig.JSONModuleObject(caddytls.ACMEIssuer{Email: strings.TrimSpace(in.Pack.Association.Contact)}, "module", "acme", nil)
		policies = append(policies, &caddytls.AutomationPolicy{SubjectsRaw: public, IssuersRaw: []json.RawMessage{acme}, DisableOCSPStapling: true})
	}
	// The last policy has no subjects: it catches every other name, so no
	// name ever falls to Caddy's default issuers (public ACME CAs).
	policies = append(policies, &caddytls.AutomationPolicy{IssuersRaw: []json.RawMessage{internal}, DisableOCSPStapling: true})
	app.Automation = &caddytls.AutomationConfig{Policies: policies}
	return app
}

// pkiApp is the box's local CA, in Caddy's storage (pki/authorities/local).
// It must be configured even with acme: without it Caddy provisions a
// default CA that installs its root into the system trust store.
func pkiApp(in *provision.RenderInput) *caddypki.PKI {
	no := false
	name := "Ruche"
	if slug := strings.TrimSpace(in.Pack.Association.Slug); slug != "" {
		name += " " + slug
	}
	return &caddypki.PKI{CAs: map[string]*caddypki.CA{localCA: {
		Name:                   name,
		RootCommonName:         name + " - Local Root",
		IntermediateCommonName: name + " - Local Intermediate",
		InstallTrust:           &no,
	}}}
}

// connectionPolicies turn TLS on for the HTTPS address. A client that
// sends no server name (someone typing the box's IP address) gets the
// panel's certificate.
func connectionPolicies(in *provision.RenderInput) caddytls.ConnectionPolicies {
	p := &caddytls.ConnectionPolicy{}
	if hn := hostname(in); hn != "" {
		p.DefaultSNI = hn + ".local"
	}
	return caddytls.ConnectionPolicies{p}
}

// httpsRedirectRoute sends the public domains from plain HTTP to HTTPS
// (acme only: the LAN names stay reachable over HTTP). ACME's HTTP
// challenges are answered before any route, so they are not redirected.
func httpsRedirectRoute(in *provision.RenderInput, public []string) caddyhttp.Route {
	_, httpsAddr := DefaultListen(in.Root)
	return caddyhttp.Route{
		Group: httpsRedirectGroup,
		MatcherSetsRaw: caddyhttp.RawMatcherSets{{
			"host":     caddyconfig.JSON(caddyhttp.MatchHost(public), nil),
			"protocol": caddyconfig.JSON(caddyhttp.MatchProtocol("http"), nil),
		}},
		HandlersRaw: []json.RawMessage{handler("static_response", &caddyhttp.StaticResponse{
			StatusCode: "308",
			Headers:    http.Header{"Location": {httpsLocation(port(httpsAddr))}},
		})},
		Terminal: true,
	}
}

// httpsLocation is where the redirect sends a request when HTTPS listens
// on port p.
func httpsLocation(p int) string {
	host := "https://{http.request.host}"
	if p != 0 && p != 443 {
		host += ":" + strconv.Itoa(p)
	}
	return host + "{http.request.uri}"
}
