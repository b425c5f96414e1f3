package cli_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision/packgen"
	"github.com/ruche-box/ruche/services/web"
)

// The site farm through the real binary: `ruche up` serving packs of many
// sites over HTTP and HTTPS (box.tls internal), on loopback ports only.

// upProcess is a running `ruche up`.
type upProcess struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	exited         chan error
	root           string
	http, https    string
}

// startUp runs `ruche up` for pack under root on two free loopback ports
// and waits for the panel's /healthz; the process is stopped (SIGTERM, a
// clean exit checked) at the end of the test.
func startUp(t *testing.T, root, pack string) *upProcess {
	t.Helper()
	u := &upProcess{root: root, http: freePort(t), https: freePort(t), exited: make(chan error, 1)}
	u.cmd = exec.Command(rucheBin, "up", "--lang", "en", "--root", root, "--http", u.http, "--https", u.https, "--smtp", freePort(t), pack)
	u.cmd.Stdout, u.cmd.Stderr = &u.stdout, &u.stderr
	// Nothing may land in $HOME (Caddy's default data and config
	// folders): give the process an empty one, checked at the end.
	home := t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_") {
			u.cmd.Env = append(u.cmd.Env, kv)
		}
	}
	u.cmd.Env = append(u.cmd.Env, "HOME="+home)
	start := time.Now()
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { u.exited <- u.cmd.Wait() }()
	t.Cleanup(func() {
		if u.cmd.ProcessState == nil {
			u.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-u.exited:
				if err != nil {
					t.Errorf("ruche up after SIGTERM: %v", err)
				}
			case <-time.After(30 * time.Second):
				u.cmd.Process.Kill()
				<-u.exited
				t.Error("ruche up did not stop within 30 s of SIGTERM")
			}
		}
		if entries, _ := os.ReadDir(home); len(entries) > 0 {
			t.Errorf("ruche up wrote in $HOME: %s", entries[0].Name())
		}
		if t.Failed() {
			t.Logf("ruche up stdout:\n%.3000s\nstderr (end):\n%s", u.stdout.String(), tail(u.stderr.String(), 6000))
		}
	})
	eventually(t, 120*time.Second, "/healthz never answered 200", func() bool {
		select {
		case err := <-u.exited:
			t.Fatalf("ruche up exited: %v\n%s", err, u.stderr.String())
		default:
		}
		code, _, err := get(u.http, "panel.localhost", "/healthz")
		return err == nil && code == http.StatusOK
	})
	t.Logf("ruche up ready in %v", time.Since(start).Round(time.Millisecond))
	return u
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// boxClient sends every request to addr, whatever the URL's host (which
// becomes the Host header and, over TLS, the server name); over TLS it
// trusts roots only.
func boxClient(addr string, roots *x509.CertPool, keepAlive bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr)
			},
			TLSClientConfig:     &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2:   true,
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: 4,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// fetch GETs url with c and returns the status, the body and the TLS state.
func fetch(c *http.Client, url string) (int, string, *tls.ConnectionState, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.TLS, err
}

var titleRE = regexp.MustCompile(`(?s)<title>(.*?)</title>`)

// hasTitle reports whether a page's <title> is the site's title, for its
// home page, or ends with it ("Page · Site").
func hasTitle(body, title string) bool {
	m := titleRE.FindStringSubmatch(body)
	if m == nil {
		return false
	}
	got := html.UnescapeString(strings.TrimSpace(m[1]))
	return got == title || strings.HasSuffix(got, " · "+title)
}

// localCA waits for the box's local CA (box.tls internal) and a
// certificate for host, and returns the CA's root as the only trust anchor.
func localCA(t *testing.T, root, addr, host string) *x509.CertPool {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		roots, err := func() (*x509.CertPool, error) {
			pem, err := os.ReadFile(web.LocalCARootPath(root))
			if err != nil {
				return nil, err
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("no PEM certificate in %s", web.LocalCARootPath(root))
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: host})
			if err != nil {
				return nil, err
			}
			return roots, conn.Close()
		}()
		if err == nil {
			return roots
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s, no local CA or no certificate for %s: %v", host, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// xssSites are sites appended to a generated pack, one per template,
// whose pages try to get a script into the browser.
const xssSites = `  - name: xss-showcase
    domains: [xss-showcase.example.org]
    template: showcase
    title: "XSS vitrine"
    pages:
      - path: /
        title: "<script>alert(1)</script>"
        body: |
          Avant <script>alert(1)</script> après.

          <img src=x onerror=alert(1)>

          [x](javascript:alert(1)) et [y](JavaScript:alert(1))
  - name: xss-event
    domains: [xss-event.example.org]
    template: event
    title: "XSS fête"
    pages:
      - path: /
        title: Accueil
        body: |
          <script>alert(1)</script><img src=x onerror=alert(1)>
          [x](javascript:alert(1))
  - name: xss-news
    domains: [xss-news.example.org]
    template: news
    title: "XSS journal"
    pages:
      - path: /
        title: Journal
        body: "[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
      - path: /billet
        title: Billet
        body: |
          <script>alert(1)</script>

          <a href="javascript:alert(1)" onclick="alert(1)">lien</a>
`

// farmPack is packgen's pack of n sites with box.tls internal.
func farmPack(n int) string {
	p := string(packgen.Sites(n, 2))
	if !strings.Contains(p, "tls: \"off\"") {
		panic("packgen no longer sets tls: \"off\"")
	}
	return strings.Replace(p, "tls: \"off\"", "tls: internal", 1)
}

// TestTwoHundredSites: 200 generated sites (three templates in turn) and
// three whose pages carry XSS attempts, served by `ruche up`. Every
// site's domain and .localhost name answer 200 with its own title, over
// HTTP and HTTPS (the local CA as the client's only trust anchor); an
// unknown Host gets 404 and no site; the XSS attempts come out inert.
func TestTwoHundredSites(t *testing.T) {
	const n = 200
	root := t.TempDir()
	pack := writePack(t, t.TempDir(), "pack.yaml", farmPack(n)+xssSites)
	start := time.Now()
	u := startUp(t, root, pack)

	type site struct{ host, title string }
	var sites []site
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("site-%04d", i)
		title := fmt.Sprintf("Site n°%d", i)
		sites = append(sites, site{name + ".example.org", title}, site{name + ".localhost", title})
	}

	// check fetches every site's home page over base (http:// or
	// https://), four at a time, and reports what is wrong.
	check := func(c *http.Client, scheme string) {
		t.Helper()
		var mu sync.Mutex
		var bad []string
		next := make(chan site)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for s := range next {
					code, body, state, err := fetch(c, scheme+"://"+s.host+"/")
					var problem string
					switch {
					case err != nil:
						problem = err.Error()
					case code != 200 || !hasTitle(body, s.title):
						m := titleRE.FindStringSubmatch(body)
						problem = fmt.Sprintf("%d, title %q, want %q", code, m, s.title)
					case scheme == "https" && !strings.HasPrefix(state.PeerCertificates[0].Issuer.CommonName, "Ruche test-asso"):
						problem = "certificate issued by " + state.PeerCertificates[0].Issuer.CommonName
					}
					if problem != "" {
						mu.Lock()
						bad = append(bad, s.host+": "+problem)
						mu.Unlock()
					}
				}
			}()
		}
		for _, s := range sites {
			next <- s
		}
		close(next)
		wg.Wait()
		if len(bad) > 0 {
			t.Errorf("%s: %d of %d names wrong, first: %s", scheme, len(bad), len(sites), strings.Join(bad[:min(5, len(bad))], "; "))
		}
	}

	t0 := time.Now()
	check(boxClient(u.http, nil, true), "http")
	t.Logf("HTTP: %d names checked in %v", len(sites), time.Since(t0).Round(time.Millisecond))

	// An unknown Host: 404, and nothing of any site.
	for _, h := range []string{"unknown.example.org", "site-0201.localhost", "site-0001.example.org.evil.example"} {
		code, body, err := get(u.http, h, "/")
		if err != nil || code != 404 || strings.Contains(body, "Site n°") || strings.Contains(body, "<title>") {
			t.Errorf("unknown Host %s: %d %v %.200q", h, code, err, body)
		}
	}

	// XSS attempts: inert in every page of the three sites.
	for _, u2 := range []string{"xss-showcase.localhost/", "xss-event.example.org/", "xss-news.localhost/", "xss-news.localhost/billet/"} {
		host, path, _ := strings.Cut(u2, "/")
		code, body, err := get(u.http, host, "/"+path)
		if err != nil || code != 200 {
			t.Errorf("%s: %d %v", u2, code, err)
			continue
		}
		lower := strings.ToLower(body)
		for _, bad := range []string{"<script", "onerror=", "onclick=", "javascript:"} {
			if i := strings.Index(lower, bad); i >= 0 {
				t.Errorf("%s: the HTML holds %q: …%s…", u2, bad, body[max(0, i-80):min(len(body), i+80)])
			}
		}
	}

	// HTTPS: the box's CA certifies every name it serves. Certificates
	// are issued in the background after the start: wait for the first,
	// then every name must answer (retrying only handshakes that find no
	// certificate yet).
	t0 = time.Now()
	roots := localCA(t, root, u.https, "site-0001.localhost")
	for _, s := range []site{sites[0], sites[len(sites)-1]} {
		eventually(t, 120*time.Second, "no certificate for "+s.host, func() bool {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.https, &tls.Config{RootCAs: roots, ServerName: s.host})
			if err == nil {
				conn.Close()
			}
			return err == nil
		})
	}
	eventually(t, 120*time.Second, "not every name has a certificate", func() bool {
		for _, s := range sites {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.https, &tls.Config{RootCAs: roots, ServerName: s.host})
			if err != nil {
				return false
			}
			conn.Close()
		}
		return true
	})
	t.Logf("HTTPS: certificates for every name %v after the first", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	check(boxClient(u.https, roots, true), "https")
	t.Logf("HTTPS: %d names checked in %v", len(sites), time.Since(t0).Round(time.Millisecond))

	// The handshake in detail, for one site by its domain.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.https, &tls.Config{RootCAs: roots, ServerName: "site-0042.example.org", NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatalf("TLS handshake for site-0042.example.org: %v", err)
	}
	st := conn.ConnectionState()
	conn.Close()
	leaf := st.PeerCertificates[0]
	t.Logf("HTTPS handshake: %s, ALPN %q, leaf %q issued by %q, chain to %q, valid until %s",
		tls.VersionName(st.Version), st.NegotiatedProtocol, leaf.DNSNames, leaf.Issuer.CommonName,
		st.VerifiedChains[0][len(st.VerifiedChains[0])-1].Subject.CommonName, leaf.NotAfter.Format(time.RFC3339))
	// A name the box does not serve gets no certificate.
	if conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.https, &tls.Config{RootCAs: roots, ServerName: "unknown.example.org"}); err == nil {
		conn.Close()
		t.Error("TLS handshake for unknown.example.org succeeds")
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// TestReloadsDropNothing: while clients request sites that stay in the
// pack, over HTTP and HTTPS, with and without keep-alive, `ruche apply`
// runs 10 times with packs that add, change and remove other sites; the
// daemon reloads Caddy each time. Not one request may fail.
func TestReloadsDropNothing(t *testing.T) {
	const base = 20 // sites site-0001…site-0020; the first 6 never change
	root := t.TempDir()
	dir := t.TempDir()
	pack := writePack(t, dir, "pack.yaml", farmPack(base))
	u := startUp(t, root, pack)
	roots := localCA(t, root, u.https, "site-0001.localhost")

	type target struct{ url, title string }
	var targets []target
	for i := 1; i <= 6; i++ {
		title := fmt.Sprintf("Site n°%d", i)
		targets = append(targets,
			target{fmt.Sprintf("site-%04d.localhost/", i), title},
			target{fmt.Sprintf("site-%04d.example.org/page-1/", i), title})
	}
	for _, tg := range targets {
		host, _, _ := strings.Cut(tg.url, "/")
		eventually(t, 60*time.Second, "no certificate for "+host, func() bool {
			code, _, _, err := fetch(boxClient(u.https, roots, false), "https://"+tg.url)
			return err == nil && code == 200
		})
	}

	// The packs of the 10 applies: each adds a site (extra-N), removes the
	// one the previous apply added, changes the title of one generated
	// site and, every other time, drops or brings back site-0020.
	packs := make([]string, 10)
	for i := range packs {
		n := base
		if i%2 == 0 {
			n = base - 1
		}
		p := farmPack(n)
		changed := 7 + i%10
		p = strings.Replace(p, fmt.Sprintf("title: \"Site n°%d\"", changed), fmt.Sprintf("title: \"Site n°%d, version %d\"", changed, i+1), 1)
		p += fmt.Sprintf("  - name: extra-%d\n    domains: [extra-%d.example.org]\n    template: %s\n    title: \"Extra %d\"\n    pages:\n      - {path: /, title: Accueil, body: \"Ajouté par l'apply %d.\"}\n",
			i+1, i+1, []string{"showcase", "event", "news"}[i%3], i+1, i+1)
		packs[i] = writePack(t, dir, fmt.Sprintf("pack-%02d.yaml", i+1), p)
	}

	// Load: bounded in time (90 s) and count (20000 requests per client).
	const maxPerClient = 20000
	deadline := time.Now().Add(90 * time.Second)
	stop := make(chan struct{})
	var total, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	perClient := map[string]*atomic.Int64{}
	var wg sync.WaitGroup
	for _, cl := range []struct {
		name   string
		scheme string
		c      *http.Client
	}{
		{"http keep-alive", "http", boxClient(u.http, nil, true)},
		{"http one-shot", "http", boxClient(u.http, nil, false)},
		{"https keep-alive", "https", boxClient(u.https, roots, true)},
		{"https one-shot", "https", boxClient(u.https, roots, false)},
	} {
		count := new(atomic.Int64)
		perClient[cl.name] = count
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxPerClient && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				tg := targets[i%len(targets)]
				code, body, _, err := fetch(cl.c, cl.scheme+"://"+tg.url)
				total.Add(1)
				count.Add(1)
				if err == nil && (code != 200 || !hasTitle(body, tg.title)) {
					err = fmt.Errorf("status %d, title %q", code, titleRE.FindStringSubmatch(body))
				}
				if err != nil {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s %s://%s: %v", cl.name, cl.scheme, tg.url, err))
					mu.Unlock()
				}
				time.Sleep(2 * time.Millisecond) // leave the two cores to the daemon too
			}
		}()
	}

	time.Sleep(500 * time.Millisecond) // requests in flight before the first apply
	t0 := time.Now()
	for i, p := range packs {
		out, err := exec.Command(rucheBin, "apply", "--lang", "en", "--root", root, p).CombinedOutput()
		if err != nil {
			t.Errorf("apply %d: %v\n%s", i+1, err, out)
			continue
		}
		if n := changes(t, string(out)); n == 0 {
			t.Errorf("apply %d reported 0 changes:\n%s", i+1, out)
		}
	}
	applies := time.Since(t0)
	time.Sleep(500 * time.Millisecond) // and after the last
	close(stop)
	wg.Wait()

	var counts []string
	for name, c := range perClient {
		counts = append(counts, fmt.Sprintf("%s %d", name, c.Load()))
	}
	t.Logf("10 applies in %v; %d requests (%s), %d failed", applies.Round(time.Millisecond), total.Load(), strings.Join(counts, ", "), failed.Load())
	if time.Now().After(deadline) {
		t.Errorf("the load ran into its 90 s bound before the applies ended")
	}
	if f := failed.Load(); f > 0 {
		t.Errorf("%d of %d requests failed during the reloads; first: %s", f, total.Load(), strings.Join(failures[:min(5, len(failures))], "; "))
	}
	t.Logf("Caddy error lines: %d, of which \"server shutdown\": %d", strings.Count(u.stderr.String(), `"level":"error"`), strings.Count(u.stderr.String(), `"msg":"server shutdown"`))
	if reloads := strings.Count(u.stderr.String(), `msg="caddy reloaded"`); reloads < len(packs) {
		t.Errorf("Caddy reloaded %d times for %d applies", reloads, len(packs))
	}

	// The last pack is what runs: its new site answers, the previous
	// apply's extra site is gone.
	if code, body, err := get(u.http, "extra-10.localhost", "/"); err != nil || code != 200 || !hasTitle(body, "Extra 10") {
		t.Errorf("extra-10 after the applies: %d %v", code, err)
	}
	if code, _, err := get(u.http, "extra-9.localhost", "/"); err != nil || code != 404 {
		t.Errorf("extra-9 after the applies: %d %v, want 404", code, err)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/ruche/sites/extra-9/public")); err == nil {
		t.Errorf("extra-9's pages are still on disk")
	}
}
