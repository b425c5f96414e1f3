// Package web is the box's one HTTP server: Caddy v2, embedded as a
// library. It renders Caddy's JSON configuration from the pack (the site
// farm, the panel, TLS, later the wiki), runs it in-process and hot
// reloads it, and lets Go handlers such as the panel be served by Caddy
// with no proxy hop (the "ruche" handler module, see handler.go).
//
// What a request reaches, in route order:
//
//	(box.tls acme) a public domain over plain HTTP                    → 308 to https
//	a site's domains, <site>-<hostname>.local, <site>.localhost (dev)  → that site's files
//	(issue 4) wiki-<hostname>.local, wiki.localhost, wiki.domain      → DokuWiki
//	<hostname>.local, panel.localhost (dev), any IP address literal    → the panel
//	anything else                                                     → 404 "Site inconnu"
//
// An unknown Host never falls through to some site: a name that is not in
// the pack must not show an association's pages under someone else's name.
//
// TLS follows box.tls (see tls.go): one Caddy server listens on an HTTP
// and, unless tls is off, an HTTPS address, with the same routes on both.
// HTTP keeps answering every name: phones on the LAN that have not
// installed the box's local CA must still reach the sites.
package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
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
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy/fastcgi"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"
	"github.com/caddyserver/caddy/v2/modules/filestorage"
	"golang.org/x/net/idna"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Paths and names of the web service, relative to the root.
const (
	// CaddyDir is Caddy's storage (locks, certificates, the local CA);
	// ConfigPath is the rendered configuration.
	CaddyDir   = "var/lib/ruche/caddy"
	ConfigPath = CaddyDir + "/caddy.json"
	// LocalCARoot is the root certificate of the box's local CA (PEM),
	// which Caddy creates on the first start with box.tls internal or acme.
	// A device that trusts it accepts the box's HTTPS on every LAN name
	// (the panel offers it for download). See LocalCARootPath.
	LocalCARoot = CaddyDir + "/pki/authorities/" + localCA + "/root.crt"
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

	mode := tlsMode(in)
	var certNames, publicNames []string
	if mode != tlsOff {
		var err error
		if certNames, publicNames, err = servedHosts(in); err != nil {
			return nil, err
		}
	}
	if mode == tlsACME && len(publicNames) > 0 {
		routes = append(caddyhttp.RouteList{httpsRedirectRoute(in, publicNames)}, routes...)
	}

	httpAddr, httpsAddr := DefaultListen(in.Root)
	server := &caddyhttp.Server{
		Listen: []string{httpAddr},
		// HTTP/1.1 only on plain HTTP (HTTP/2 needs TLS, and h2c is for
		// proxies); HTTP/3 stays off: it would need a UDP socket Ruche does
		// not hold across reloads, for little gain on a LAN.
		Protocols: []string{"h1"},
		// A slow client may not hold a connection open forever on a box
		// with little memory (slowloris).
		ReadHeaderTimeout: caddy.Duration(10 * time.Second),
		IdleTimeout:       caddy.Duration(2 * time.Minute),
		Routes:            routes,
		Errors:            &caddyhttp.HTTPErrorConfig{Routes: errorRoutes},
		// Ruche says itself which certificates to get and where to
		// redirect (tls.go): Caddy's automatic HTTPS would redirect every
		// name, .local ones included, and listen where it chooses.
		AutoHTTPS: &caddyhttp.AutoHTTPSConfig{Disabled: true},
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
	if mode != tlsOff {
		// One server, two addresses: Caddy serves TLS on every address
		// but the one on the app's http_port. Server.Load keeps the two
		// ports in step when the daemon overrides the addresses.
		server.Listen = []string{httpAddr, httpsAddr}
		server.Protocols = []string{"h1", "h2"}
		server.ListenProtocols = [][]string{{"h1"}, {"h1", "h2"}}
		server.TLSConnPolicies = connectionPolicies(in)
		httpApp.HTTPPort, httpApp.HTTPSPort = port(httpAddr), port(httpsAddr)
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
			"tls":  caddyconfig.JSON(tlsApp(in, mode, certNames, publicNames), &warnings),
		},
	}
	if mode != tlsOff {
		cfg.AppsRaw["pki"] = caddyconfig.JSON(pkiApp(in), &warnings)
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

// Where Caddy listens unless the daemon says otherwise (ruche up --http
// and --https, Server.Load's Listen): the real ports on a box, loopback
// high ports under any other root.
const (
	BoxHTTP  = ":80"
	BoxHTTPS = ":443"
	DevHTTP  = "127.0.0.1:8080"
	DevHTTPS = "127.0.0.1:8443"
)

// DefaultListen returns the HTTP and HTTPS addresses of a box under root.
func DefaultListen(root string) (http, https string) {
	if root != "/" {
		return DevHTTP, DevHTTPS
	}
	return BoxHTTP, BoxHTTPS
}

// port is the port number of a listen address, 0 when it has none.
func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// wikiDeny are DokuWiki's folders and files no visitor may fetch: its
// data, configuration and code (Debian keeps the data elsewhere, but the
// wiki's own rules still hold), and .htaccess files.
var wikiDeny = caddyhttp.MatchPath{"/data/*", "/conf/*", "/bin/*", "/inc/*", "/vendor/*", "/install.php", "*/.ht*"}

// wikiRoutes serves DokuWiki on wikiHosts: Caddy's php_fastcgi spelled out
// in JSON (static files from Debian's /usr/share/dokuwiki, PHP through
// php-fpm's socket), with DokuWiki's friendly URLs (userewrite 1) rewritten
// the way its nginx recipe does: /_media/, /_detail/, /_export/ and any
// other path that is not a file becomes doku.php?id=PATH.
//
// PATH is a page name as typed, and may hold &, #, +, %, ?, = or spaces
// (escaped in the request; DokuWiki cleans the id itself). Caddy's rewrite
// unescapes the path before the regexp sees it, and query-escapes every
// placeholder it substitutes in the query part of the new URI, except
// {http.request.uri.query}, which is passed on as it came (already
// escaped). So the regexp captures go in as they are: an *_escaped
// placeholder there would be escaped twice, and a query built by hand
// outside the rewrite would cut the id at its first & or #.
// TestWikiPageIDs in cmd/ruche/cli checks it against the real DokuWiki.
func wikiRoutes(in *provision.RenderInput) []caddyhttp.Route {
	hosts, err := wikiHosts(in)
	if err != nil || len(hosts) == 0 {
		return nil // servedHosts reports a bad domain
	}
	query := "{http.request.uri.query}"
	rw := func(uri string) json.RawMessage { return handler("rewrite", &rewrite.Rewrite{URI: uri}) }
	re := func(name, pattern string) json.RawMessage {
		return caddyconfig.JSON(caddyhttp.MatchPathRE{MatchRegexp: caddyhttp.MatchRegexp{Name: name, Pattern: pattern}}, nil)
	}
	isFile := caddyconfig.JSON(fileserver.MatchFile{Root: provision.DokuWikiDir, TryFiles: []string{"{http.request.uri.path}"}, SplitPath: []string{".php"}}, nil)
	notFile := caddyconfig.JSON(caddyhttp.MatchNot{MatcherSetsRaw: []caddy.ModuleMap{{"file": isFile}}}, nil)
	php := handler("reverse_proxy", &reverseproxy.Handler{
		TransportRaw: caddyconfig.JSONModuleObject(&fastcgi.Transport{
			Root:      provision.DokuWikiDir,
			SplitPath: []string{".php"},
		}, "protocol", "fastcgi", nil),
		Upstreams: reverseproxy.UpstreamPool{{Dial: "unix/" + in.Abs(provision.WikiSocket)}},
	})
	sub := caddyhttp.Subroute{Routes: caddyhttp.RouteList{
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": caddyconfig.JSON(wikiDeny, nil)}},
			HandlersRaw:    []json.RawMessage{handler("static_response", &caddyhttp.StaticResponse{StatusCode: "403"})},
			Terminal:       true,
		},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": caddyconfig.JSON(caddyhttp.MatchPath{"/"}, nil)}},
			HandlersRaw:    []json.RawMessage{rw("/doku.php?" + query)},
		},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path_regexp": re("media", "^/_media/(.*)$")}},
			HandlersRaw:    []json.RawMessage{rw("/lib/exe/fetch.php?media={http.regexp.media.1}&" + query)},
		},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path_regexp": re("detail", "^/_detail/(.*)$")}},
			HandlersRaw:    []json.RawMessage{rw("/lib/exe/detail.php?media={http.regexp.detail.1}&" + query)},
		},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path_regexp": re("export", "^/_export/([^/]+)/(.*)$")}},
			HandlersRaw:    []json.RawMessage{rw("/doku.php?do=export_{http.regexp.export.1}&id={http.regexp.export.2}&" + query)},
		},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"not": notFile, "path_regexp": re("page", "^/(.*)$")}},
			HandlersRaw:    []json.RawMessage{rw("/doku.php?id={http.regexp.page.1}&" + query)},
		},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path_regexp": re("php", `\.php(/|$)`)}},
			HandlersRaw:    []json.RawMessage{php},
			Terminal:       true,
		},
		{HandlersRaw: []json.RawMessage{handler("file_server", &fileserver.FileServer{Root: provision.DokuWikiDir})}},
	}}
	return []caddyhttp.Route{{
		MatcherSetsRaw: caddyhttp.RawMatcherSets{{"host": caddyconfig.JSON(caddyhttp.MatchHost(hosts), nil)}},
		HandlersRaw:    []json.RawMessage{handler("subroute", &sub)},
		Terminal:       true,
	}}
}

// wikiHosts are the wiki's names when it is enabled: wiki-<hostname>.local,
// wiki.domain, and in dev wiki.localhost. The box gets certificates for
// them already.
func wikiHosts(in *provision.RenderInput) ([]string, error) {
	if !in.Pack.Wiki.Enabled {
		return nil, nil
	}
	var hosts []string
	if in.Pack.Wiki.Domain != "" {
		ascii, err := asciiDomain(in.Pack.Wiki.Domain)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, ascii)
	}
	if hn := hostname(in); hn != "" {
		hosts = append(hosts, "wiki-"+hn+".local")
	}
	if dev(in) {
		hosts = append(hosts, "wiki.localhost")
	}
	return hosts, nil
}

// panelHosts are the panel's names (it also answers on IP literals).
func panelHosts(in *provision.RenderInput) []string {
	var hosts []string
	if hn := hostname(in); hn != "" {
		hosts = append(hosts, hn+".local")
	}
	if dev(in) {
		hosts = append(hosts, "panel.localhost")
	}
	return hosts
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

// Caching. Pages may change at any apply and their URLs carry no version:
// a browser keeps them but asks again each time, and the file server
// answers 304 when the ETag or Last-Modified it sent still holds (a few
// hundred bytes instead of the page). Feeds and calendars are polled by
// readers and calendar apps: a few minutes of staleness saves the box
// their repeated requests. Uploads change rarely and are the heavy files.
var (
	pageCache   = http.Header{"Cache-Control": {"no-cache"}}
	feedCache   = http.Header{"Cache-Control": {"public, max-age=300"}}
	uploadCache = http.Header{"Cache-Control": {"public, max-age=3600"}}
)

// feedPaths are the files of a site that readers poll: Atom/RSS feeds
// (news) and iCalendar files (event).
var feedPaths = caddyhttp.MatchPath{"*.xml", "*.atom", "*.rss", "*.ics"}

// siteJSON holds the pieces of JSON every site's routes share. They are
// marshalled once: with 500 sites, marshalling them per site was a third of
// the whole render.
type siteJSON struct {
	headers, encode, pageHeaders, feedHeaders, errorHeaders json.RawMessage
	uploadHeaders, uploadsPath, stripUploads                json.RawMessage
	feedPaths, rewrite404, is404                            json.RawMessage
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
		pageHeaders:   handler("headers", setHeaders(pageHeaders, pageCache)),
		feedHeaders:   handler("headers", setHeaders(pageHeaders, feedCache)),
		errorHeaders:  handler("headers", setHeaders(siteHeaders, pageHeaders, pageCache)),
		uploadHeaders: handler("headers", setHeaders(uploadCache)),
		uploadsPath:   caddyconfig.JSON(caddyhttp.MatchPath{uploadsURL + "/*"}, nil),
		stripUploads:  handler("rewrite", &rewrite.Rewrite{StripPathPrefix: uploadsURL}),
		feedPaths:     caddyconfig.JSON(feedPaths, nil),
		rewrite404:    handler("rewrite", &rewrite.Rewrite{URI: "/" + notFoundFile}),
		is404:         caddyconfig.JSON(caddyhttp.VarsMatcher{"{http.error.status_code}": {"404"}}, nil),
	}
})

// siteRoute serves one site: /uploads/* from the users' uploads folder,
// everything else from the rendered pages, compressed when the client
// accepts it, with the caching headers above. Uploads get no
// Content-Security-Policy: a PDF or an image opened directly must display
// in every browser.
func siteRoute(in *provision.RenderInput, name string, hosts []string) caddyhttp.Route {
	dir := siteDir(in, name)
	shared := sharedSiteJSON()
	public := handler("file_server", &fileserver.FileServer{Root: dir + "/public"})
	sub := caddyhttp.Subroute{Routes: caddyhttp.RouteList{
		// Not terminal: these wrap the routes below (Caddy chains the
		// handlers of every matching route until a terminal one).
		{HandlersRaw: []json.RawMessage{shared.headers, shared.encode}},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": shared.uploadsPath}},
			// The uploads folder is the file server's root, so no path,
			// however crafted, reaches anything but users' uploads.
			HandlersRaw: []json.RawMessage{
				shared.uploadHeaders,
				shared.stripUploads,
				handler("file_server", &fileserver.FileServer{Root: dir + "/uploads"}),
			},
			Terminal: true,
		},
		{
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": shared.feedPaths}},
			HandlersRaw:    []json.RawMessage{shared.feedHeaders, public},
			Terminal:       true,
		},
		{HandlersRaw: []json.RawMessage{shared.pageHeaders, public}},
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
	hosts := panelHosts(in)
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
//
// It writes the "handler" key in front of v's own JSON instead of going
// through caddyconfig.JSONModuleObject, which marshals v, unmarshals it into
// a map and marshals that again: with 500 sites that round trip was half of
// the render of the whole pack. Caddy reads both the same way.
func handler(name string, v any) json.RawMessage {
	body, err := json.Marshal(v)
	if err != nil || len(body) < 2 || body[0] != '{' {
		// Handler structs always marshal to an object; anything else is
		// a programming error, reported the way Caddy's helper does.
		return caddyconfig.JSONModuleObject(v, "handler", name, nil)
	}
	key, _ := json.Marshal(name)
	out := make([]byte, 0, len(body)+len(key)+12)
	out = append(out, `{"handler":`...)
	out = append(out, key...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...)
}
