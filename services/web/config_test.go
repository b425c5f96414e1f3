package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"gopkg.in/yaml.v3"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// loadPack decodes a test pack strictly, without provision's validation:
// these tests are about rendering.
func loadPack(t testing.TB, file string) *provision.Pack {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var p provision.Pack
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &p
}

// TestConfigGolden: pack in, caddy.json out, for each box.tls on a box
// (root /) and, with tls internal, under a development root. Run with
// -update to rewrite, then read the diff.
func TestConfigGolden(t *testing.T) {
	for _, c := range []struct{ tls, root, golden string }{
		{"internal", "/", "testdata/caddy-box.json"},
		{"internal", "/srv/ruche-dev", "testdata/caddy-dev.json"},
		{"acme", "/", "testdata/caddy-acme.json"},
		{"off", "/", "testdata/caddy-off.json"},
	} {
		t.Run(c.golden, func(t *testing.T) {
			p := loadPack(t, "testdata/pack.yaml")
			p.Box.TLS = c.tls
			out := &provision.Desired{MoveAside: map[string]string{}}
			if err := (Renderer{}).Render(&provision.RenderInput{Pack: p, Root: c.root}, out); err != nil {
				t.Fatal(err)
			}
			if len(out.Files) != 1 {
				t.Fatalf("got %d files, want 1", len(out.Files))
			}
			f := out.Files[0]
			if f.Path != "var/lib/ruche/caddy/caddy.json" || f.Mode != 0o644 || f.Service != "web" {
				t.Errorf("got file %s %v service %q", f.Path, f.Mode, f.Service)
			}
			if *update {
				if err := os.WriteFile(c.golden, f.Content, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(c.golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Content, want) {
				t.Errorf("caddy.json differs from %s (run go test -update and read the diff): %s", c.golden, firstDiff(f.Content, want))
			}
		})
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "same lines"
}

// TestConfigValidates has Caddy itself decode and provision the rendered
// configuration, every module included, without starting it.
//
// Validate provisions the pki app, which creates the local CA in the
// configured storage: the dev root is a temporary folder, and the box's
// root (/) is only rendered with tls off, which has no CA.
func TestConfigValidates(t *testing.T) {
	p := loadPack(t, "testdata/pack.yaml")
	for _, c := range []struct{ tls, root string }{
		{"off", "/"}, {"internal", t.TempDir()}, {"acme", t.TempDir()},
	} {
		p.Box.TLS = c.tls
		raw, err := Config(&provision.RenderInput{Pack: p, Root: c.root})
		if err != nil {
			t.Fatal(err)
		}
		var cfg caddy.Config
		if err := caddy.StrictUnmarshalJSON(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Validate(&cfg); err != nil {
			t.Errorf("tls %s root %s: caddy refuses the config: %v", c.tls, c.root, err)
		}
	}
}

// TestConfigHosts checks the names each route answers to, whatever the
// golden file says.
func TestConfigHosts(t *testing.T) {
	p := loadPack(t, "testdata/pack.yaml")
	type route struct {
		Match []map[string]json.RawMessage `json:"match"`
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen []string `json:"listen"`
					Routes []route  `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	hostsOf := func(r route) []string {
		var all []string
		for _, m := range r.Match {
			var hs []string
			if raw, ok := m["host"]; ok {
				_ = json.Unmarshal(raw, &hs)
			}
			all = append(all, hs...)
		}
		return all
	}
	for _, c := range []struct {
		root   string
		listen []string
		hosts  [][]string
	}{
		{"/", []string{":80", ":443"}, [][]string{
			{"cafe-anais.org", "www.cafe-anais.org", "vitrine-cafe-anais.local"},
			{"fete.cafe-anais.org", "fete-2026-cafe-anais.local"},
			{"journal.xn--caf-anais-d4a.fr", "journal.example.org", "journal-cafe-anais.local"},
			{"wiki.cafe-anais.org", "wiki-cafe-anais.local"},
			{"cafe-anais.local"},
			nil,
		}},
		{"/tmp/r", []string{"127.0.0.1:8080", "127.0.0.1:8443"}, [][]string{
			{"cafe-anais.org", "www.cafe-anais.org", "vitrine-cafe-anais.local", "vitrine.localhost"},
			{"fete.cafe-anais.org", "fete-2026-cafe-anais.local", "fete-2026.localhost"},
			{"journal.xn--caf-anais-d4a.fr", "journal.example.org", "journal-cafe-anais.local", "journal.localhost"},
			{"wiki.cafe-anais.org", "wiki-cafe-anais.local", "wiki.localhost"},
			{"cafe-anais.local", "panel.localhost"},
			nil,
		}},
	} {
		raw, err := Config(&provision.RenderInput{Pack: p, Root: c.root})
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		srv := cfg.Apps.HTTP.Servers[ServerName]
		if !slices.Equal(srv.Listen, c.listen) {
			t.Errorf("root %s: listen %v, want %v", c.root, srv.Listen, c.listen)
		}
		if len(srv.Routes) != len(c.hosts) {
			t.Fatalf("root %s: %d routes, want %d", c.root, len(srv.Routes), len(c.hosts))
		}
		for i, want := range c.hosts {
			if got := hostsOf(srv.Routes[i]); !slices.Equal(got, want) {
				t.Errorf("root %s: route %d hosts %q, want %q", c.root, i, got, want)
			}
		}
		last := srv.Routes[len(srv.Routes)-1]
		if len(last.Match) != 0 {
			t.Errorf("root %s: the last route matches %v; it must catch every unknown host", c.root, last.Match)
		}
	}
}

func TestConfigBadDomain(t *testing.T) {
	p := &provision.Pack{Sites: []provision.Site{{Name: "s", Domains: []string{"a..b"}}}}
	_, err := Config(&provision.RenderInput{Pack: p, Root: "/"})
	if err == nil {
		t.Fatal("a..b renders")
	}
	if got := i18n.Localize(err, i18n.EN); !strings.HasPrefix(got, `site s: "a..b" is not a domain name`) {
		t.Errorf("got %q", got)
	}
}

// TestIPHostPattern checks the pattern with Go's regexp, the engine
// Caddy's vars_regexp uses; the integration test proves it through Caddy.
func TestIPHostPattern(t *testing.T) {
	re := regexp.MustCompile(ipHostPattern)
	// {http.request.host} has no port; an IPv6 literal keeps its
	// brackets only when the Host had no port.
	for _, h := range []string{"192.168.1.10", "10.0.0.1", "127.0.0.1", "::1", "[::1]", "fe80::1", "[fe80::1%25eth0]", "fd12:3456::1", "2001:db8::1", "[::ffff:192.168.1.2]"} {
		if !re.MatchString(h) {
			t.Errorf("%q is an IP literal, not matched", h)
		}
	}
	for _, h := range []string{"", "cafe-anais.local", "example.org", "1.2.3.example", "192.168.1", "a.b.c.d", "localhost", "xn--caf-anais-d4a.fr", "10.0.0.1.nip.io"} {
		if re.MatchString(h) {
			t.Errorf("%q is a name, matched as an IP literal", h)
		}
	}
}

// renderTLS renders testdata/pack.yaml with box.tls mode under root.
func renderTLS(t *testing.T, mode, root string) []byte {
	t.Helper()
	p := loadPack(t, "testdata/pack.yaml")
	p.Box.TLS = mode
	raw, err := Config(&provision.RenderInput{Pack: p, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestPrepare(t *testing.T) {
	// tls off: one kind of address, any kind of address.
	off := renderTLS(t, "off", "/")
	got, addrs, err := prepare(off, Listen{HTTP: []string{"127.0.0.1:1234", "[::1]:1234", "unix//run/x.sock", ""}, HTTPS: []string{"127.0.0.1:1235"}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`"listen":["ruche/127.0.0.1:1234","ruche/[::1]:1234","unix//run/x.sock"]`)) || bytes.Contains(got, []byte(`":80"`)) || bytes.Contains(got, []byte(`1235`)) {
		t.Errorf("listen not replaced, or HTTPS added with tls off:\n%s", got)
	}
	if !slices.Equal(addrs, []string{"127.0.0.1:1234", "[::1]:1234"}) {
		t.Errorf("sockets %q", addrs)
	}

	// Without listen, the config's own addresses go through Ruche's
	// sockets, and nothing else changes.
	for _, c := range []struct {
		mode  string
		addrs []string
	}{{"off", []string{":80"}}, {"internal", []string{":80", ":443"}}, {"acme", []string{":80", ":443"}}} {
		raw := renderTLS(t, c.mode, "/")
		same, addrs, err := prepare(raw, Listen{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(addrs, c.addrs) {
			t.Errorf("tls %s: sockets %q, want %q", c.mode, addrs, c.addrs)
		}
		var a, b any
		want := bytes.Replace(raw, []byte(`":80"`), []byte(`"ruche/:80"`), 1)
		want = bytes.Replace(want, []byte(`":443"`), []byte(`"ruche/:443"`), 1)
		_ = json.Unmarshal(want, &a)
		_ = json.Unmarshal(same, &b)
		if !jsonEqual(a, b) {
			t.Errorf("tls %s: prepare(nil) changes more than the listen addresses:\n%s", c.mode, same)
		}
	}

	// With TLS: HTTP and HTTPS are replaced each on its own, and Caddy's
	// http_port, the protocols and the redirect's port follow.
	acme := renderTLS(t, "acme", "/")
	got, addrs, err = prepare(acme, Listen{HTTP: []string{"127.0.0.1:1234", "[::1]:1234"}, HTTPS: []string{"127.0.0.1:1235"}})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				HTTPPort  int `json:"http_port"`
				HTTPSPort int `json:"https_port"`
				Servers   map[string]struct {
					Listen          []string   `json:"listen"`
					ListenProtocols [][]string `json:"listen_protocols"`
					Routes          []struct {
						Group  string `json:"group"`
						Handle []struct {
							Headers map[string][]string `json:"headers"`
						} `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(got, &cfg); err != nil {
		t.Fatal(err)
	}
	srv := cfg.Apps.HTTP.Servers[ServerName]
	if want := []string{"ruche/127.0.0.1:1234", "ruche/[::1]:1234", "ruche/127.0.0.1:1235"}; !slices.Equal(srv.Listen, want) {
		t.Errorf("listen %q, want %q", srv.Listen, want)
	}
	if !slices.Equal(addrs, []string{"127.0.0.1:1234", "[::1]:1234", "127.0.0.1:1235"}) {
		t.Errorf("sockets %q", addrs)
	}
	if len(srv.ListenProtocols) != 3 || !slices.Equal(srv.ListenProtocols[1], []string{"h1"}) || !slices.Equal(srv.ListenProtocols[2], []string{"h1", "h2"}) {
		t.Errorf("listen_protocols %q", srv.ListenProtocols)
	}
	if cfg.Apps.HTTP.HTTPPort != 1234 || cfg.Apps.HTTP.HTTPSPort != 1235 {
		t.Errorf("http_port %d https_port %d, want 1234 and 1235", cfg.Apps.HTTP.HTTPPort, cfg.Apps.HTTP.HTTPSPort)
	}
	if r := srv.Routes[0]; r.Group != httpsRedirectGroup || r.Handle[0].Headers["Location"][0] != "https://{http.request.host}:1235{http.request.uri}" {
		t.Errorf("redirect route: %+v", r)
	}
	// Only HTTP given: HTTPS stays where it was rendered.
	got, addrs, err = prepare(acme, Listen{HTTP: []string{"127.0.0.1:1234"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(addrs, []string{"127.0.0.1:1234", ":443"}) || !bytes.Contains(got, []byte(`"Location":["https://{http.request.host}{http.request.uri}"]`)) {
		t.Errorf("sockets %q\n%s", addrs, got)
	}

	internal := renderTLS(t, "internal", "/")
	for _, bad := range []Listen{
		{HTTP: []string{"127.0.0.1:1234"}, HTTPS: []string{"127.0.0.2:1234"}}, // Caddy could not tell them apart
		{HTTP: []string{"127.0.0.1:1234", "127.0.0.1:1236"}},
		{HTTP: []string{"unix//run/x.sock"}},
	} {
		if _, _, err := prepare(internal, bad); err == nil {
			t.Errorf("prepare(%+v) with TLS succeeds", bad)
		}
	}
	for _, bad := range []string{`{"apps":{}}`, `{`} {
		if _, _, err := prepare([]byte(bad), Listen{HTTP: []string{":1"}}); err == nil {
			t.Errorf("prepare(%s) succeeds", bad)
		}
	}
}

// TestConfigTLS checks what each box.tls asks of Caddy, whatever the
// golden files say.
func TestConfigTLS(t *testing.T) {
	type policy struct {
		Subjects []string `json:"subjects"`
		Issuers  []struct {
			Module string `json:"module"`
			CA     string `json:"ca"`
			Email  string `json:"email"`
		} `json:"issuers"`
	}
	var cfg struct {
		Storage struct {
			Root string `json:"root"`
		} `json:"storage"`
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen   []string          `json:"listen"`
					Policies []json.RawMessage `json:"tls_connection_policies"`
					Routes   []struct {
						Match []map[string]json.RawMessage `json:"match"`
						Group string                       `json:"group"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
			TLS *struct {
				Certificates struct {
					Automate []string `json:"automate"`
				} `json:"certificates"`
				Automation struct {
					Policies []policy `json:"policies"`
				} `json:"automation"`
			} `json:"tls"`
			PKI *struct {
				CAs map[string]struct {
					InstallTrust *bool `json:"install_trust"`
				} `json:"certificate_authorities"`
			} `json:"pki"`
		} `json:"apps"`
	}
	boxNames := []string{
		"cafe-anais.org", "www.cafe-anais.org", "vitrine-cafe-anais.local",
		"fete.cafe-anais.org", "fete-2026-cafe-anais.local",
		"journal.xn--caf-anais-d4a.fr", "journal.example.org", "journal-cafe-anais.local",
		"wiki.cafe-anais.org", "wiki-cafe-anais.local",
		"cafe-anais.local",
	}
	devNames := []string{
		"cafe-anais.org", "www.cafe-anais.org", "vitrine-cafe-anais.local", "vitrine.localhost",
		"fete.cafe-anais.org", "fete-2026-cafe-anais.local", "fete-2026.localhost",
		"journal.xn--caf-anais-d4a.fr", "journal.example.org", "journal-cafe-anais.local", "journal.localhost",
		"wiki.cafe-anais.org", "wiki-cafe-anais.local", "wiki.localhost",
		"cafe-anais.local", "panel.localhost",
	}
	public := []string{"cafe-anais.org", "www.cafe-anais.org", "fete.cafe-anais.org", "journal.xn--caf-anais-d4a.fr", "journal.example.org", "wiki.cafe-anais.org"}

	for _, c := range []struct {
		mode, root string
		names      []string
	}{
		{"off", "/", nil},
		{"internal", "/", boxNames},
		{"internal", "/srv/dev", devNames},
		{"acme", "/", boxNames},
		{"acme", "/srv/dev", devNames},
	} {
		cfg.Apps.TLS, cfg.Apps.PKI = nil, nil
		if err := json.Unmarshal(renderTLS(t, c.mode, c.root), &cfg); err != nil {
			t.Fatal(err)
		}
		name := c.mode + " " + c.root
		if cfg.Storage.Root != c.root+"/var/lib/ruche/caddy" && cfg.Storage.Root != "/var/lib/ruche/caddy" {
			t.Errorf("%s: storage %s, not under the root", name, cfg.Storage.Root)
		}
		srv := cfg.Apps.HTTP.Servers[ServerName]
		redirect := srv.Routes[0].Group == httpsRedirectGroup
		if c.mode == "off" {
			if len(srv.Listen) != 1 || len(srv.Policies) != 0 || cfg.Apps.PKI != nil || len(cfg.Apps.TLS.Automation.Policies) != 0 || len(cfg.Apps.TLS.Certificates.Automate) != 0 || redirect {
				t.Errorf("%s: TLS configured: listen %v, policies %d, pki %v, automation %+v, redirect %v", name, srv.Listen, len(srv.Policies), cfg.Apps.PKI != nil, cfg.Apps.TLS, redirect)
			}
			continue
		}
		if len(srv.Listen) != 2 || len(srv.Policies) != 1 {
			t.Errorf("%s: listen %v, %d connection policies", name, srv.Listen, len(srv.Policies))
		}
		if ca, ok := cfg.Apps.PKI.CAs["local"]; !ok || ca.InstallTrust == nil || *ca.InstallTrust {
			t.Errorf("%s: the local CA may install its root in the system trust store", name)
		}
		if got := cfg.Apps.TLS.Certificates.Automate; !slices.Equal(got, c.names) {
			t.Errorf("%s: certificates for\n%q, want\n%q", name, got, c.names)
		}
		pols := cfg.Apps.TLS.Automation.Policies
		last := pols[len(pols)-1]
		if len(last.Subjects) != 0 || len(last.Issuers) != 1 || last.Issuers[0].Module != "internal" || last.Issuers[0].CA != "local" {
			t.Errorf("%s: the catch-all policy is not the local CA: %+v", name, last)
		}
		switch c.mode {
		case "internal":
			if len(pols) != 1 || redirect {
				t.Errorf("%s: %d policies, redirect %v; want the local CA for all, no redirect", name, len(pols), redirect)
			}
		case "acme":
			if len(pols) != 2 || !slices.Equal(pols[0].Subjects, public) || pols[0].Issuers[0].Module != "acme" || pols[0].Issuers[0].Email != "contact@cafe-anais.org" {
				t.Errorf("%s: ACME policy %+v", name, pols[0])
			}
			if !redirect {
				t.Fatalf("%s: no redirect to HTTPS", name)
			}
			var hosts []string
			_ = json.Unmarshal(srv.Routes[0].Match[0]["host"], &hosts)
			if !slices.Equal(hosts, public) || string(srv.Routes[0].Match[0]["protocol"]) != `"http"` {
				t.Errorf("%s: redirect matches %s", name, srv.Routes[0].Match)
			}
		}
	}
	if got := LocalCARootPath("/srv/x"); got != "/srv/x/var/lib/ruche/caddy/pki/authorities/local/root.crt" {
		t.Errorf("LocalCARootPath = %s", got)
	}
	if got := LocalCARootPath("/"); got != "/var/lib/ruche/caddy/pki/authorities/local/root.crt" {
		t.Errorf("LocalCARootPath(/) = %s", got)
	}
	for h, want := range map[string]bool{"cafe-anais.org": true, "xn--caf-anais-d4a.fr": true, "a.local": false, "b.localhost": false, "nas.home.arpa": false, "box.lan": false, "x.internal": false, "localhost": false} {
		if publicName(h) != want {
			t.Errorf("publicName(%q) = %v", h, !want)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestRendererWithoutHostname(t *testing.T) {
	// A pack without box.hostname (validation requires one, but render
	// must not produce "-.local" names if it ever gets there).
	p := &provision.Pack{Sites: []provision.Site{{Name: "s", Domains: []string{"s.example.org"}}}}
	raw, err := Config(&provision.RenderInput{Pack: p, Root: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(`.local"`)) {
		t.Errorf("renders a .local name without a hostname:\n%s", raw)
	}
	if !strings.Contains(filepath.ToSlash(string(raw)), `"/var/lib/ruche/caddy"`) {
		t.Errorf("storage not under /var/lib/ruche/caddy:\n%s", raw)
	}
}
