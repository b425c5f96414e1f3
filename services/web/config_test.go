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

// TestConfigGolden: pack in, caddy.json out, on a box (root /) and under
// a development root. Run with -update to rewrite, then read the diff.
func TestConfigGolden(t *testing.T) {
	p := loadPack(t, "testdata/pack.yaml")
	for _, c := range []struct{ root, golden string }{
		{"/", "testdata/caddy-box.json"},
		{"/srv/ruche-dev", "testdata/caddy-dev.json"},
	} {
		t.Run(c.golden, func(t *testing.T) {
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
func TestConfigValidates(t *testing.T) {
	p := loadPack(t, "testdata/pack.yaml")
	for _, root := range []string{"/", t.TempDir()} {
		raw, err := Config(&provision.RenderInput{Pack: p, Root: root})
		if err != nil {
			t.Fatal(err)
		}
		var cfg caddy.Config
		if err := caddy.StrictUnmarshalJSON(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Validate(&cfg); err != nil {
			t.Errorf("root %s: caddy refuses the config: %v", root, err)
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
		listen string
		hosts  [][]string
	}{
		{"/", ":80", [][]string{
			{"cafe-anais.org", "www.cafe-anais.org", "vitrine-cafe-anais.local"},
			{"fete.cafe-anais.org", "fete-2026-cafe-anais.local"},
			{"journal.xn--caf-anais-d4a.fr", "journal.example.org", "journal-cafe-anais.local"},
			{"cafe-anais.local"},
			nil,
		}},
		{"/tmp/r", "127.0.0.1:8080", [][]string{
			{"cafe-anais.org", "www.cafe-anais.org", "vitrine-cafe-anais.local", "vitrine.localhost"},
			{"fete.cafe-anais.org", "fete-2026-cafe-anais.local", "fete-2026.localhost"},
			{"journal.xn--caf-anais-d4a.fr", "journal.example.org", "journal-cafe-anais.local", "journal.localhost"},
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
		if !slices.Equal(srv.Listen, []string{c.listen}) {
			t.Errorf("root %s: listen %v, want [%s]", c.root, srv.Listen, c.listen)
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

func TestPrepare(t *testing.T) {
	p := loadPack(t, "testdata/pack.yaml")
	raw, err := Config(&provision.RenderInput{Pack: p, Root: "/"})
	if err != nil {
		t.Fatal(err)
	}
	got, addrs, err := prepare(raw, []string{"127.0.0.1:1234", "[::1]:1234", "unix//run/x.sock"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`"listen":["ruche/127.0.0.1:1234","ruche/[::1]:1234","unix//run/x.sock"]`)) || bytes.Contains(got, []byte(`":80"`)) {
		t.Errorf("listen not replaced:\n%s", got)
	}
	if !slices.Equal(addrs, []string{"127.0.0.1:1234", "[::1]:1234"}) {
		t.Errorf("sockets %q", addrs)
	}

	// Without listen, the config's own addresses go through Ruche's
	// sockets, and nothing else changes.
	same, addrs, err := prepare(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(addrs, []string{":80"}) {
		t.Errorf("sockets %q, want [:80]", addrs)
	}
	var a, b any
	_ = json.Unmarshal(bytes.Replace(raw, []byte(`":80"`), []byte(`"ruche/:80"`), 1), &a)
	_ = json.Unmarshal(same, &b)
	if !jsonEqual(a, b) {
		t.Errorf("prepare(nil) changes more than the listen address:\n%s", same)
	}

	for _, bad := range []string{`{"apps":{}}`, `{`} {
		if _, _, err := prepare([]byte(bad), []string{":1"}); err == nil {
			t.Errorf("prepare(%s) succeeds", bad)
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
