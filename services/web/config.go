// Package web is the box's one HTTP server: Caddy v2, embedded as a
// library. It renders Caddy's JSON configuration from the pack (the site
// farm, the panel, later the wiki and TLS), runs it in-process and hot
// reloads it, and lets Go handlers such as the panel be served by Caddy
// with no proxy hop (the "ruche" handler module, see handler.go).
//
// What a request reaches, in route order:
//
//	a site's domains, <site>-<hostname>.local, <site>.localhost (dev)  → that site's files
//	(issue 4) wiki-<hostname>.local, wiki.localhost, wiki.domain      → DokuWiki
//	<hostname>.local, panel.localhost (dev), any IP address literal    → the panel
//	anything else                                                     → 404 "Site inconnu"
//
// An unknown Host never falls through to some site: a name that is not in
// the pack must not show an association's pages under someone else's name.
package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/encode"
	caddygzip "github.com/caddyserver/caddy/v2/modules/caddyhttp/encode/gzip"
	caddyzstd "github.com/caddyserver/caddy/v2/modules/caddyhttp/encode/zstd"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/fileserver"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
	"github.com/caddyserver/caddy/v2/modules/filestorage"
	"golang.org/x/net/idna"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Paths and names of the web service, relative to the root.
const (
	// CaddyDir is Caddy's storage (locks, and from issue 3 certificates
	// and the local CA); ConfigPath is the rendered configuration.
	CaddyDir   = "var/lib/ruche/caddy"
	ConfigPath = CaddyDir + "/caddy.json"
	// Service is the name files feeding Caddy are tagged with: when one of
	// them changes, the daemon reloads Caddy (Server.Load).
	Service = "web"
	// ServerName is the one HTTP server of the config.
	ServerName = "ruche"
	// PanelHandler is the name the panel registers itself under (Handle).
	PanelHandler = "panel"

	// Site folders, as services/sites renders them.
	sitesDir     = "var/lib/ruche/sites"
	notFoundFile = "404.html"
	uploadsURL   = "/uploads"
)

// Renderer renders Caddy's configuration. It implements provision.Renderer
// and must run after every renderer whose files Caddy serves.
type Renderer struct{}

var _ provision.Renderer = Renderer{}

// Name is "web".
func (Renderer) Name() string { return "web" }

// Render appends var/lib/ruche/caddy/caddy.json to out.
func (Renderer) Render(in *provision.RenderInput, out *provision.Desired) error {
	cfg, err := Config(in)
	if err != nil {
		return err
	}
	out.Files = append(out.Files, provision.File{
		Path:    ConfigPath,
		Content: cfg,
		Mode:    0o644,
		Service: Service,
	})
	return nil
}

// Config builds Caddy's whole JSON configuration for a pack, indented so
// that plan shows a readable diff. Go structs marshal in field order and
// maps in key order: the same pack gives the same bytes.
func Config(in *provision.RenderInput) ([]byte, error) {
	var routes, errorRoutes caddyhttp.RouteList
	for i := range in.Pack.Sites {
		site := &in.Pack.Sites[i]
		hosts, err := siteHosts(in, site)
		if err != nil {
			return nil, i18n.Wrap(err, msgSite, site.Name)
		}
		routes = append(routes, siteRoute(in, site.Name, hosts))
		errorRoutes = append(errorRoutes, siteErrorRoute(in, site.Name, hosts))
	}
	routes = append(routes, wikiRoutes(in)...)
	routes = append(routes, panelRoute(in), unknownHostRoute())

	server := &caddyhttp.Server{
		Listen: defaultListen(in),
		// A slow client may not hold a connection open forever on a box
		// with little memory (slowloris).
		ReadHeaderTimeout: caddy.Duration(10 * time.Second),
		IdleTimeout:       caddy.Duration(2 * time.Minute),
		Routes:            routes,
		Errors:            &caddyhttp.HTTPErrorConfig{Routes: errorRoutes},
		AutoHTTPS:         autoHTTPS(in),
	}
	httpApp := caddyhttp.App{
		Servers: map[string]*caddyhttp.Server{ServerName: server},
		// On a reload the old configuration keeps serving for this long
		// before its servers shut down, while the new one already takes
		// every new connection (see sockets.go): Go's http.Server drops a
		// request it reads after its shutdown began, so the connections
		// the old configuration accepted last get time to send theirs.
		ShutdownDelay: caddy.Duration(time.Second),
		// Then connections still open on it get this long to finish.
		GracePeriod: caddy.Duration(10 * time.Second),
	}

	var warnings []caddyconfig.Warning
	persist := false
	cfg := caddy.Config{
		// No admin endpoint: Ruche drives Caddy in-process, and a local
		// HTTP API able to replace the config is one more thing to defend.
		// Persist off: Caddy would otherwise autosave the config in $HOME.
		Admin: &caddy.AdminConfig{Disabled: true, Config: &caddy.ConfigSettings{Persist: &persist}},
		Logging: &caddy.Logging{Logs: map[string]*caddy.CustomLog{
			"default": {BaseLog: caddy.BaseLog{
				WriterRaw: caddyconfig.JSONModuleObject(caddy.StderrWriter{}, "output", "stderr", &warnings),
				// Caddy logs in JSON beside ruche's own lines: keep only what
				// needs a person's attention.
				Level: "WARN",
			}},
		}},
		StorageRaw: caddyconfig.JSONModuleObject(filestorage.FileStorage{Root: in.Abs(CaddyDir)}, "module", "file_system", &warnings),
		AppsRaw: caddy.ModuleMap{
			"http": caddyconfig.JSON(httpApp, &warnings),
			"tls":  caddyconfig.JSON(tlsApp(in), &warnings),
		},
	}
	if len(warnings) > 0 {
		return nil, fmt.Errorf("web: caddy config: %s", warnings[0].Message)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("web: caddy config: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "\t"); err != nil {
		return nil, fmt.Errorf("web: caddy config: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

var msgSite = i18n.M{FR: "site %s", EN: "site %s"}

// dev reports whether the box runs under a --root other than "/": then
// Ruche serves on loopback and every name also answers under .localhost,
// which browsers resolve to loopback by themselves.
func dev(in *provision.RenderInput) bool { return in.Root != "/" }

// defaultListen is where Caddy listens unless the daemon says otherwise
// (ruche up --http, Server.Load's listen).
func defaultListen(in *provision.RenderInput) []string {
	if dev(in) {
		return []string{"127.0.0.1:8080"}
	}
	return []string{":80"}
}

// autoHTTPS is the TLS seam. Issue 3 turns box.tls into HTTPS: "internal"
// (Caddy's local CA, stored under CaddyDir), "acme" for public domains,
// "off" keeps this. Until then, Caddy must not try to get certificates
// nor redirect to HTTPS.
func autoHTTPS(*provision.RenderInput) *caddyhttp.AutoHTTPSConfig {
	return &caddyhttp.AutoHTTPSConfig{Disabled: true}
}

// tlsApp is the other half of the TLS seam (issue 3: automation policies,
// the internal issuer). Storage cleaning is off for now because, with no
// certificate to clean, its only effect is Caddy writing an instance.uuid
// under $HOME/.local/share, outside the box's root.
func tlsApp(*provision.RenderInput) *caddytls.TLS {
	return &caddytls.TLS{DisableStorageClean: true}
}

// wikiRoutes is the wiki's seam (issue 4): DokuWiki on wiki-<hostname>.local,
// wiki.localhost (dev) and wiki.domain, through php_fastcgi to php-fpm.
func wikiRoutes(*provision.RenderInput) []caddyhttp.Route {
	return nil
}

// siteHosts are the names a site answers to: its pack domains in ASCII
// (IDNA), <site>-<hostname>.local for the LAN (mDNS), and in dev
// <site>.localhost.
func siteHosts(in *provision.RenderInput, site *provision.Site) ([]string, error) {
	var hosts []string
	seen := map[string]bool{}
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	for _, d := range site.Domains {
		ascii, err := asciiDomain(d)
		if err != nil {
			return nil, err
		}
		add(ascii)
	}
	if hn := hostname(in); hn != "" {
		add(site.Name + "-" + hn + ".local")
	}
	if dev(in) {
		add(site.Name + ".localhost")
	}
	return hosts, nil
}

var msgDomain = i18n.M{FR: "%q n'est pas un nom de domaine", EN: "%q is not a domain name"}

// domainProfile converts a pack domain as a browser would for DNS
// (lowercase, IDNA) and refuses what DNS would: empty or overlong labels,
// characters other than letters, digits and hyphens.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.VerifyDNSLength(true),
	idna.StrictDomainName(true),
)

// asciiDomain is the form of a domain browsers send in the Host header:
// "journal.café-anais.fr" arrives as "journal.xn--caf-anais-d4a.fr".
func asciiDomain(d string) (string, error) {
	ascii, err := domainProfile.ToASCII(strings.TrimSuffix(strings.TrimSpace(d), "."))
	if err != nil || ascii == "" {
		return "", i18n.Wrap(err, msgDomain, d)
	}
	return strings.ToLower(ascii), nil
}

func hostname(in *provision.RenderInput) string {
	return strings.ToLower(strings.TrimSpace(in.Pack.Box.Hostname))
}

func siteDir(in *provision.RenderInput, name string) string {
	return in.Abs(sitesDir + "/" + name)
}

// siteHeaders go on every answer of a site. Pages are static and carry no
// script (services/sites sanitises them): the policy forbids scripts
// outright, so even a sanitiser bug could not run one.
var siteHeaders = http.Header{
	"X-Content-Type-Options": {"nosniff"},
	"Referrer-Policy":        {"strict-origin-when-cross-origin"},
}

var pageHeaders = http.Header{
	"Content-Security-Policy": {"default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"},
}

// siteJSON holds the pieces of JSON every site's routes share. They are
// marshalled once: with 500 sites, marshalling them per site was a third of
// the whole render.
type siteJSON struct {
	headers, encode, pageHeaders, errorHeaders   json.RawMessage
	uploadsPath, stripUploads, rewrite404, is404 json.RawMessage
}

var sharedSiteJSON = sync.OnceValue(func() siteJSON {
	return siteJSON{
		headers: handler("headers", setHeaders(siteHeaders)),
		encode: handler("encode", &encode.Encode{
			EncodingsRaw: caddy.ModuleMap{
				"zstd": caddyconfig.JSON(caddyzstd.Zstd{}, nil),
				"gzip": caddyconfig.JSON(caddygzip.Gzip{}, nil),
			},
			Prefer: []string{"zstd", "gzip"},
		}),
		pageHeaders:  handler("headers", setHeaders(pageHeaders)),
		errorHeaders: handler("headers", setHeaders(siteHeaders, pageHeaders)),
		uploadsPath:  caddyconfig.JSON(caddyhttp.MatchPath{uploadsURL + "/*"}, nil),
		stripUploads: handler("rewrite", &rewrite.Rewrite{StripPathPrefix: uploadsURL}),
		rewrite404:   handler("rewrite", &rewrite.Rewrite{URI: "/" + notFoundFile}),
		is404:        caddyconfig.JSON(caddyhttp.VarsMatcher{"{http.error.status_code}": {"404"}}, nil),
	}
})

// siteRoute serves one site: /uploads/* from the users' uploads folder,
// everything else from the rendered pages, compressed when the client
// accepts it. Uploads get no Content-Security-Policy: a PDF or an image
// opened directly must display in every browser.
func siteRoute(in *provision.RenderInput, name string, hosts []string) caddyhttp.Route {
	dir := siteDir(in, name)
	shared := sharedSiteJSON()
	sub := caddyhttp.Subroute{Routes: caddyhttp.RouteList{
		// Not terminal: these wrap the routes below (Caddy chains the
		// handlers of every matching route until a terminal one).
		{HandlersRaw: []json.RawMessage{shared.headers, shared.encode}},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": shared.uploadsPath}},
			// The uploads folder is the file server's root, so no path,
			// however crafted, reaches anything but users' uploads.
			HandlersRaw: []json.RawMessage{
				shared.stripUploads,
				handler("file_server", &fileserver.FileServer{Root: dir + "/uploads"}),
			},
			Terminal: true,
		},
		{HandlersRaw: []json.RawMessage{
			shared.pageHeaders,
			handler("file_server", &fileserver.FileServer{Root: dir + "/public"}),
		}},
	}}
	return caddyhttp.Route{
		MatcherSetsRaw: caddyhttp.RawMatcherSets{{"host": caddyconfig.JSON(caddyhttp.MatchHost(hosts), nil)}},
		HandlersRaw:    []json.RawMessage{handler("subroute", &sub)},
		Terminal:       true,
	}
}

// siteErrorRoute answers a site's 404s (a missing page or upload) with the
// site's own 404.html, still with status 404. Other errors keep Caddy's
// bare answer: a styled "page not found" for a 500 would mislead.
func siteErrorRoute(in *provision.RenderInput, name string, hosts []string) caddyhttp.Route {
	shared := sharedSiteJSON()
	sub := caddyhttp.Subroute{Routes: caddyhttp.RouteList{{HandlersRaw: []json.RawMessage{
		shared.errorHeaders,
		shared.rewrite404,
		handler("file_server", &fileserver.FileServer{
			Root:       siteDir(in, name) + "/public",
			StatusCode: "404",
		}),
	}}}}
	return caddyhttp.Route{
		MatcherSetsRaw: caddyhttp.RawMatcherSets{{
			"host": caddyconfig.JSON(caddyhttp.MatchHost(hosts), nil),
			"vars": shared.is404,
		}},
		HandlersRaw: []json.RawMessage{handler("subroute", &sub)},
		Terminal:    true,
	}
}

// ipHostPattern matches a Host that is an IP address literal, with or
// without a port: what a browser sends when someone types the box's
// address. Caddy's {http.request.host} drops the port, and keeps the
// brackets of an IPv6 literal only when there was no port, hence the
// optional brackets. A DNS name never holds a colon, and a name of digits
// and dots only is not one any registry hands out.
const ipHostPattern = `^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[?[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z._~%-]+)?\]?)$`

// panelRoute sends the panel's names, and any IP literal (the box's own
// addresses, whichever interface the visitor reached), to the panel's Go
// handler. The two matcher sets are OR-ed.
func panelRoute(in *provision.RenderInput) caddyhttp.Route {
	var hosts []string
	if hn := hostname(in); hn != "" {
		hosts = append(hosts, hn+".local")
	}
	if dev(in) {
		hosts = append(hosts, "panel.localhost")
	}
	ip := caddyhttp.RawMatcherSets{{
		"vars_regexp": caddyconfig.JSON(caddyhttp.MatchVarsRE{
			"{http.request.host}": &caddyhttp.MatchRegexp{Name: "ip", Pattern: ipHostPattern},
		}, nil),
	}}
	sets := ip
	if len(hosts) > 0 {
		sets = append(caddyhttp.RawMatcherSets{{"host": caddyconfig.JSON(caddyhttp.MatchHost(hosts), nil)}}, ip...)
	}
	return caddyhttp.Route{
		MatcherSetsRaw: sets,
		HandlersRaw:    []json.RawMessage{handler("ruche", &Handler{Name: PanelHandler})},
		Terminal:       true,
	}
}

// unknownHostRoute answers every other Host: a plain 404 in both
// languages, since nothing tells which one the visitor reads.
func unknownHostRoute() caddyhttp.Route {
	return caddyhttp.Route{HandlersRaw: []json.RawMessage{handler("static_response", &caddyhttp.StaticResponse{
		StatusCode: "404",
		Headers: http.Header{
			"Content-Type":           {"text/plain; charset=utf-8"},
			"X-Content-Type-Options": {"nosniff"},
		},
		Body: "Site inconnu / Unknown site\n",
	})}}
}

func setHeaders(hs ...http.Header) *headers.Handler {
	set := http.Header{}
	for _, h := range hs {
		for k, v := range h {
			set[k] = v
		}
	}
	return &headers.Handler{Response: &headers.RespHeaderOps{HeaderOps: &headers.HeaderOps{Set: set}}}
}

// handler is a handler module object, {"handler": name, ...}.
func handler(name string, v any) json.RawMessage {
	return caddyconfig.JSONModuleObject(v, "handler", name, nil)
}
