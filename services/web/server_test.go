package web

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/sites"
)

// writeBox renders the pack's sites and Caddy config under root and
// writes them, as the engine would, and returns caddy.json. The sites are
// rendered by services/sites itself, so this test fails if the two
// packages stop agreeing on where a site's files are. A tree (a site's
// pages) goes into a new release folder beside its link, and the link, a
// symlink, is switched to it.
func writeBox(t *testing.T, root string, p *provision.Pack) []byte {
	t.Helper()
	in := &provision.RenderInput{Pack: p, Root: root}
	d, err := provision.Render(in, []provision.Renderer{sites.Renderer{}, Renderer{}})
	if err != nil {
		t.Fatal(err)
	}
	write := func(file string, f provision.File) {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, f.Content, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
	var cfg []byte
	for _, f := range d.Files {
		write(filepath.Join(root, filepath.FromSlash(f.Path)), f)
		if f.Path == ConfigPath {
			cfg = f.Content
		}
	}
	for _, tr := range d.Trees {
		releases++
		link := filepath.Join(root, filepath.FromSlash(tr.Link))
		rel := fmt.Sprintf("releases/r%d", releases)
		for _, f := range tr.Files {
			write(filepath.Join(filepath.Dir(link), rel, filepath.FromSlash(f.Path)), f)
		}
		tmp := link + ".new"
		if err := os.Symlink(rel, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

var releases int

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// client sends every request to addr, whatever the URL's host: the URL's
// host becomes the Host header, as if DNS (or mDNS) pointed it at the box.
func client(addr string, keepAlive bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr)
			},
			DisableKeepAlives:  !keepAlive,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// tlsClient is client over TLS, trusting roots only; the URL's host is
// also the server name (SNI) it asks for.
func tlsClient(addr string, roots *x509.CertPool, keepAlive bool) *http.Client {
	c := client(addr, keepAlive)
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	tr.ForceAttemptHTTP2 = true
	return c
}

// waitHTTPS waits for the box under root to have created its local CA and
// a certificate for host, and returns the CA's root as the only trust
// anchor. Caddy obtains certificates in the background after a load.
func waitHTTPS(t *testing.T, root, addr, host string) *x509.CertPool {
	t.Helper()
	var roots *x509.CertPool
	eventually(t, 30*time.Second, "local CA and a certificate for "+host, func() error {
		pem, err := os.ReadFile(LocalCARootPath(root))
		if err != nil {
			return err
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificate in %s", LocalCARootPath(root))
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: host})
		if err != nil {
			return err
		}
		return conn.Close()
	})
	return roots
}

// eventually retries f until it returns nil, failing the test after within.
func eventually(t *testing.T, within time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %s: %v", within, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// TestServer runs the rendered configuration in the embedded Caddy on a
// loopback port and checks what each Host reaches, then reloads it under
// load. Caddy is process-global, so this is the package's only test that
// starts it.
func TestServer(t *testing.T) {
	// Caddy must write nothing in $HOME: point it at an empty folder and
	// check it is still empty at the end.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))

	root := t.TempDir()
	p := loadPack(t, "testdata/pack.yaml")
	cfg := writeBox(t, root, p)

	uploads := filepath.Join(root, "var/lib/ruche/sites/vitrine/uploads")
	if err := os.MkdirAll(uploads, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(uploads, "x.txt"), []byte("un fichier déposé\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	Handle(PanelHandler, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "panel host=%s path=%s", r.Host, r.URL.Path)
	}))
	defer Handle(PanelHandler, nil)

	addr, tlsAddr := freePort(t), freePort(t)
	listen := Listen{HTTP: []string{addr}, HTTPS: []string{tlsAddr}}
	srv := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := srv.Load(cfg, listen); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := client(addr, true)

	t.Run("each site on each of its names", func(t *testing.T) {
		for _, s := range []struct {
			title string
			hosts []string
		}{
			{"Café d&#39;ANAIS", []string{"cafe-anais.org", "www.cafe-anais.org", "vitrine-cafe-anais.local", "vitrine.localhost", "VITRINE.localhost"}},
			{"Fête de quartier", []string{"fete.cafe-anais.org", "fete-2026-cafe-anais.local", "fete-2026.localhost"}},
			{"Le journal du café", []string{"journal.xn--caf-anais-d4a.fr", "journal.example.org", "journal-cafe-anais.local", "journal.localhost"}},
		} {
			for _, h := range s.hosts {
				for _, withPort := range []bool{false, true} {
					host := h
					if withPort {
						host += ":8080"
					}
					code, hdr, body := get(t, c, "http://"+host+"/")
					if code != 200 || !strings.Contains(body, "<title>"+s.title+"</title>") {
						t.Errorf("Host %s: %d, want 200 with title %q\n%.300s", host, code, s.title, body)
					}
					if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") {
						t.Errorf("Host %s: Content-Security-Policy %q", host, csp)
					}
				}
			}
		}
		code, _, body := get(t, c, "http://vitrine.localhost/contact/")
		if code != 200 || !strings.Contains(body, "<title>Contact · Café d&#39;ANAIS</title>") {
			t.Errorf("/contact/: %d\n%.300s", code, body)
		}
		// Without the slash, Caddy redirects to the canonical folder URL.
		if code, hdr, _ := get(t, c, "http://vitrine.localhost/contact"); code != 308 || hdr.Get("Location") != "/contact/" {
			t.Errorf("/contact: %d Location %q, want 308 to /contact/", code, hdr.Get("Location"))
		}
	})

	t.Run("uploads", func(t *testing.T) {
		code, hdr, body := get(t, c, "http://cafe-anais.org/uploads/x.txt")
		if code != 200 || body != "un fichier déposé\n" {
			t.Errorf("/uploads/x.txt: %d %q", code, body)
		}
		if hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("/uploads/x.txt: no nosniff")
		}
		// Uploads are the file server's root: nothing else is reachable
		// through /uploads/, and a missing upload is the site's 404.
		for _, path := range []string{"/uploads/../public/index.html", "/uploads/..%2fpublic/index.html", "/uploads/%2e%2e/public/index.html", "/uploads/nope.txt"} {
			code, _, body := get(t, c, "http://cafe-anais.org"+path)
			if code != 404 || !strings.Contains(body, "Page introuvable") {
				t.Errorf("%s: %d, want the site's 404\n%.200s", path, code, body)
			}
		}
		// Another site does not see vitrine's uploads.
		if code, _, _ := get(t, c, "http://fete.cafe-anais.org/uploads/x.txt"); code != 404 {
			t.Errorf("fete's /uploads/x.txt: %d, want 404", code)
		}
	})

	t.Run("site 404 page", func(t *testing.T) {
		code, hdr, body := get(t, c, "http://journal.example.org/nope")
		if code != 404 || !strings.Contains(body, "<h1>Page introuvable</h1>") || !strings.Contains(body, "Le journal du café") {
			t.Errorf("/nope: %d\n%.300s", code, body)
		}
		if !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'none'") {
			t.Errorf("404 without Content-Security-Policy")
		}
	})

	t.Run("compression", func(t *testing.T) {
		for _, enc := range []string{"gzip", "zstd"} {
			code, hdr, body := get(t, c, "http://cafe-anais.org/", "Accept-Encoding", enc)
			if code != 200 || hdr.Get("Content-Encoding") != enc {
				t.Errorf("Accept-Encoding %s: %d Content-Encoding %q", enc, code, hdr.Get("Content-Encoding"))
				continue
			}
			if enc == "gzip" {
				zr, err := gzip.NewReader(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := io.ReadAll(zr)
				if !strings.Contains(string(plain), "<title>Café d&#39;ANAIS</title>") {
					t.Errorf("gzip body does not decode to the page")
				}
			}
		}
	})

	t.Run("wiki", func(t *testing.T) {
		// DokuWiki's internal folders are refused by Caddy itself; with
		// no php-fpm behind the socket, pages answer 502 (TestWiki in
		// cmd/ruche/cli runs the real DokuWiki).
		for _, p := range []string{"/data/", "/conf/local.php", "/inc/init.php", "/bin/", "/vendor/x", "/install.php", "/lib/.htaccess"} {
			if code, _, _ := get(t, c, "http://wiki-cafe-anais.local"+p); code != 403 {
				t.Errorf("wiki %s: %d, want 403", p, code)
			}
		}
		if code, _, _ := get(t, c, "http://wiki-cafe-anais.local/accueil"); code != 502 {
			t.Errorf("wiki page without php-fpm: %d, want 502", code)
		}
	})

	t.Run("unknown host", func(t *testing.T) {
		for _, h := range []string{"evil.example", "cafe-anais.org.evil.example", "wiki-other.local", "other.localhost", "localhost", "1.2.3.example"} {
			code, _, body := get(t, c, "http://"+h+"/")
			if code != 404 || body != "Site inconnu / Unknown site\n" {
				t.Errorf("Host %s: %d %q, want 404 Site inconnu", h, code, body)
			}
		}
	})

	t.Run("panel", func(t *testing.T) {
		for _, h := range []string{"cafe-anais.local", "panel.localhost", "127.0.0.1", "192.168.1.10", "192.168.1.10:8080", "10.0.0.7", "[::1]", "[::1]:8080", "[fe80::1%25eth0]", "[fd12:3456::1]:80"} {
			code, _, body := get(t, c, "http://"+h+"/healthz")
			// Go's client drops an IPv6 zone from the Host header, so
			// [fe80::1%25eth0] arrives as [fe80::1]: still an IP literal.
			if code != 200 || !strings.HasPrefix(body, "panel host=") || !strings.HasSuffix(body, " path=/healthz") {
				t.Errorf("Host %s: %d %q, want the panel", h, code, body)
			}
		}
		// An unregistered handler answers 503, not an error page.
		Handle(PanelHandler, nil)
		code, hdr, _ := get(t, c, "http://cafe-anais.local/")
		if code != 503 || hdr.Get("Retry-After") == "" {
			t.Errorf("unregistered panel: %d, Retry-After %q; want 503", code, hdr.Get("Retry-After"))
		}
		Handle(PanelHandler, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "panel host=%s path=%s", r.Host, r.URL.Path)
		}))
	})

	var roots *x509.CertPool
	t.Run("https", func(t *testing.T) {
		roots = waitHTTPS(t, root, tlsAddr, "vitrine.localhost")
		tc := tlsClient(tlsAddr, roots, true)
		for _, s := range []struct{ host, title string }{
			{"vitrine.localhost", "Café d&#39;ANAIS"},
			{"cafe-anais.org", "Café d&#39;ANAIS"},
			{"fete-2026-cafe-anais.local", "Fête de quartier"},
			{"journal.xn--caf-anais-d4a.fr", "Le journal du café"},
		} {
			var code int
			var body string
			var state *tls.ConnectionState
			eventually(t, 20*time.Second, "certificate for "+s.host, func() error {
				req, _ := http.NewRequest("GET", "https://"+s.host+"/", nil)
				resp, err := tc.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				code, body, state = resp.StatusCode, string(b), resp.TLS
				return err
			})
			if code != 200 || !strings.Contains(body, "<title>"+s.title+"</title>") {
				t.Errorf("https://%s/: %d, want 200 with title %q", s.host, code, s.title)
			}
			if leaf := state.PeerCertificates[0]; !slices.Contains(leaf.DNSNames, s.host) || !strings.Contains(leaf.Issuer.CommonName, "Ruche cafe-anais") {
				t.Errorf("https://%s/: certificate for %q issued by %q", s.host, leaf.DNSNames, leaf.Issuer.CommonName)
			}
			if state.NegotiatedProtocol != "h2" {
				t.Errorf("https://%s/: protocol %q, want h2", s.host, state.NegotiatedProtocol)
			}
		}
		// The panel over HTTPS, and with no server name (an IP address
		// typed in a browser): the panel's certificate.
		if code, _, body := get(t, tc, "https://panel.localhost/healthz"); code != 200 || !strings.HasPrefix(body, "panel host=") {
			t.Errorf("https panel: %d %q", code, body)
		}
		conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: roots, ServerName: "cafe-anais.local"})
		if err == nil {
			conn.Close()
		} else {
			t.Errorf("handshake for cafe-anais.local: %v", err)
		}
		// A name the box does not serve gets no certificate at all.
		if conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: roots, ServerName: "evil.example"}); err == nil {
			conn.Close()
			t.Error("handshake for evil.example succeeds")
		}
		// Plain HTTP still serves LAN and public names alike: no
		// redirect with tls internal.
		for _, h := range []string{"vitrine-cafe-anais.local", "cafe-anais.org"} {
			if code, _, _ := get(t, c, "http://"+h+"/"); code != 200 {
				t.Errorf("http://%s/ with tls internal: %d, want 200", h, code)
			}
		}
		ca, err := os.ReadFile(LocalCARootPath(root))
		if err != nil || !strings.HasPrefix(string(ca), "-----BEGIN CERTIFICATE-----") {
			t.Errorf("local CA root at %s: %v", LocalCARootPath(root), err)
		}
	})

	t.Run("caching", func(t *testing.T) {
		code, hdr, _ := get(t, c, "http://vitrine.localhost/")
		etag := hdr.Get("ETag")
		if code != 200 || hdr.Get("Cache-Control") != "no-cache" || etag == "" || hdr.Get("Last-Modified") == "" {
			t.Fatalf("page: %d Cache-Control %q ETag %q Last-Modified %q", code, hdr.Get("Cache-Control"), etag, hdr.Get("Last-Modified"))
		}
		if code, _, body := get(t, c, "http://vitrine.localhost/", "If-None-Match", etag); code != 304 || body != "" {
			t.Errorf("If-None-Match %s: %d, want 304 with no body", etag, code)
		}
		if code, _, _ := get(t, c, "http://vitrine.localhost/", "If-None-Match", `"other"`); code != 200 {
			t.Errorf("stale If-None-Match: %d, want 200", code)
		}
		// Compressed: the ETag names the encoding, and still revalidates.
		code, hdr, _ = get(t, c, "http://vitrine.localhost/", "Accept-Encoding", "gzip")
		if zetag := hdr.Get("ETag"); code != 200 || zetag == "" || zetag == etag {
			t.Errorf("gzip page: %d ETag %q (plain %q)", code, zetag, etag)
		} else if code, _, _ := get(t, c, "http://vitrine.localhost/", "Accept-Encoding", "gzip", "If-None-Match", zetag); code != 304 {
			t.Errorf("gzip If-None-Match %s: %d, want 304", zetag, code)
		}
		if code, hdr, _ := get(t, c, "http://fete-2026.localhost/event.ics"); code != 200 || hdr.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("event.ics: %d Cache-Control %q", code, hdr.Get("Cache-Control"))
		}
		if code, hdr, _ := get(t, c, "http://vitrine.localhost/uploads/x.txt"); code != 200 || hdr.Get("Cache-Control") != "public, max-age=3600" || hdr.Get("ETag") == "" {
			t.Errorf("upload: %d Cache-Control %q ETag %q", code, hdr.Get("Cache-Control"), hdr.Get("ETag"))
		}
		if code, hdr, _ := get(t, c, "http://vitrine.localhost/uploads/nope.pdf"); code != 404 || hdr.Get("Cache-Control") != "no-cache" {
			t.Errorf("missing upload: %d Cache-Control %q", code, hdr.Get("Cache-Control"))
		}
	})

	t.Run("same config is a no-op", func(t *testing.T) {
		before := caddy.ActiveContext()
		if err := srv.Load(cfg, listen); err != nil {
			t.Fatal(err)
		}
		if caddy.ActiveContext().Context != before.Context {
			t.Error("loading the same config again reloaded Caddy")
		}
	})

	t.Run("bad config keeps the old one", func(t *testing.T) {
		bad := strings.Replace(string(cfg), `"file_server"`, `"no_such_handler"`, 1)
		if err := srv.Load([]byte(bad), listen); err == nil {
			t.Fatal("a config with an unknown module loads")
		}
		if code, _, _ := get(t, c, "http://cafe-anais.org/"); code != 200 {
			t.Errorf("after a failed load: %d, want 200", code)
		}
		// An address another program holds: nothing changes either.
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		if err := srv.Load(cfg, Listen{HTTP: []string{addr}, HTTPS: []string{busy.Addr().String()}}); err == nil {
			t.Fatal("a config listening on a busy address loads")
		}
		if code, _, _ := get(t, client(addr, false), "http://cafe-anais.org/"); code != 200 {
			t.Errorf("after a failed listen: %d, want 200", code)
		}
	})

	t.Run("reload under load", func(t *testing.T) {
		p2 := loadPack(t, "testdata/pack.yaml")
		p2.Sites = append(p2.Sites, provision.Site{
			Name: "nouveau", Domains: []string{"nouveau.example.org"}, Template: "showcase", Title: "Nouveau site",
		})
		cfg2 := writeBox(t, root, p2)

		// Clients hammer an existing site, with and without keep-alive,
		// while the config is replaced. Bounded in count and time.
		const perClient = 300
		deadline := time.Now().Add(20 * time.Second)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		var done int
		reloaded := make(chan struct{})
		type load struct {
			cl   *http.Client
			kind string
			url  string
		}
		loads := []load{
			{client(addr, true), "keep-alive", "http://fete.cafe-anais.org/"},
			{client(addr, false), "one-shot", "http://fete.cafe-anais.org/"},
		}
		if roots != nil {
			loads = append(loads,
				load{tlsClient(tlsAddr, roots, true), "https keep-alive", "https://fete-2026.localhost/"},
				load{tlsClient(tlsAddr, roots, false), "https one-shot", "https://fete.cafe-anais.org/"})
		}
		for _, l := range loads {
			wg.Add(1)
			go func(cl *http.Client, kind, url string) {
				defer wg.Done()
				for i := 0; i < perClient && time.Now().Before(deadline); i++ {
					resp, err := cl.Get(url)
					var body []byte
					if err == nil {
						body, err = io.ReadAll(resp.Body)
						resp.Body.Close()
						if err == nil && (resp.StatusCode != 200 || !strings.Contains(string(body), "Fête de quartier")) {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					}
					mu.Lock()
					done++
					if err != nil {
						failures = append(failures, fmt.Sprintf("%s request %d: %v", kind, i, err))
					}
					mu.Unlock()
					if i == perClient/3 {
						<-reloaded // keep going until the reload happened
					}
				}
			}(l.cl, l.kind, l.url)
		}
		time.Sleep(20 * time.Millisecond)
		err := srv.Load(cfg2, listen)
		close(reloaded)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if len(failures) > 0 {
			t.Errorf("%d of %d requests failed during the reload, first: %s", len(failures), done, failures[0])
		}
		t.Logf("%d requests during the reload, %d failures", done, len(failures))

		code, _, body := get(t, c, "http://nouveau.example.org/")
		if code != 200 || !strings.Contains(body, "<title>Nouveau site</title>") {
			t.Errorf("new site after reload: %d\n%.200s", code, body)
		}
	})

	t.Run("stop", func(t *testing.T) {
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := srv.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				break
			}
			conn.Close()
			if time.Now().After(deadline) {
				t.Fatal("still listening 5s after Stop")
			}
			time.Sleep(50 * time.Millisecond)
		}
		// A Load after Stop starts again.
		if err := srv.Load(cfg, listen); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := get(t, client(addr, false), "http://cafe-anais.org/"); code != 200 {
			t.Errorf("after restart: %d", code)
		}
	})

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	var leaked []string
	_ = filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if path != home {
			leaked = append(leaked, path)
		}
		return nil
	})
	if len(leaked) > 0 {
		t.Errorf("Caddy wrote in $HOME: %v", leaked)
	}
}
