package panel

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ruche-box/ruche/provision/i18n"
)

func newPanel(lang i18n.Lang, health Health) (http.Handler, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ruche_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	return New(Options{
		Lang:            func() i18n.Lang { return lang },
		AssociationName: func() string { return "Café d'ANAIS <&>" },
		Health:          func() Health { return health },
		Gatherer:        reg,
		Version:         "v0.1.0-test",
	}), reg
}

func do(h http.Handler, method, target, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHome(t *testing.T) {
	for _, c := range []struct {
		lang i18n.Lang
		want []string
	}{
		{i18n.FR, []string{`<html lang="fr">`, "Le panneau arrive bientôt.", "Café d&#39;ANAIS &lt;&amp;&gt;", `<a href="/healthz">`, "Ruche v0.1.0-test"}},
		{i18n.EN, []string{`<html lang="en">`, "The panel is coming.", `<a href="/healthz">Box health</a>`}},
	} {
		h, _ := newPanel(c.lang, Health{})
		rec := do(h, "GET", "/", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: GET / = %d, want 200", c.lang, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		for _, w := range c.want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s: want %q in\n%s", c.lang, w, rec.Body)
			}
		}
	}

	// No options at all: French, no panic.
	rec := do(New(Options{}), "GET", "/", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Panneau de la box") {
		t.Errorf("zero Options: %d\n%s", rec.Code, rec.Body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h, _ := newPanel(i18n.FR, Health{})
	for _, path := range []string{"/", "/healthz", "/metrics", "/nope"} {
		rec := do(h, "GET", path, "127.0.0.1:5000")
		hdr := rec.Header()
		if got := hdr.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", path, got)
		}
		if got := hdr.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy = %q", path, got)
		}
		if got := hdr.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy = %q", path, got)
		}
	}
}

func TestHealthz(t *testing.T) {
	type answer struct {
		Status  string           `json:"status"`
		Version string           `json:"version"`
		Checks  map[string]Check `json:"checks"`
	}
	cases := []struct {
		name   string
		health Health
		code   int
		status string
	}{
		{"no checks", Health{}, 200, "ok"},
		{"all ok", Health{Checks: map[string]Check{"web": {OK: true}, "php-fpm": {OK: true}}}, 200, "ok"},
		{"one failing", Health{Checks: map[string]Check{"web": {OK: true}, "postfix": {OK: false, Message: "exited: status 1"}}}, 503, "fail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, _ := newPanel(i18n.FR, c.health)
			rec := do(h, "GET", "/healthz", "")
			if rec.Code != c.code {
				t.Errorf("code = %d, want %d", rec.Code, c.code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got answer
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("%v in %s", err, rec.Body)
			}
			if got.Status != c.status || got.Version != "v0.1.0-test" || got.Checks == nil {
				t.Errorf("got %+v, want status %q", got, c.status)
			}
			for name, want := range c.health.Checks {
				if got.Checks[name] != want {
					t.Errorf("check %s = %+v, want %+v", name, got.Checks[name], want)
				}
			}
		})
	}
	// HEAD answers like GET, without a body: what load balancers and
	// curl -I send.
	h, _ := newPanel(i18n.FR, Health{})
	if rec := do(h, "HEAD", "/healthz", ""); rec.Code != 200 {
		t.Errorf("HEAD /healthz = %d", rec.Code)
	}
}

func TestMetricsLANOnly(t *testing.T) {
	allowed := []string{
		"127.0.0.1:40000", "[::1]:40000", // loopback
		"10.1.2.3:1", "172.16.0.9:1", "172.31.255.255:1", "192.168.1.20:1", // RFC 1918
		"169.254.10.10:1", "[fe80::1%eth0]:1", // link-local
		"[fd12:3456::1]:1", "[fc00::1]:1", // IPv6 ULA
		"[::ffff:192.168.1.20]:1", // IPv4-mapped
	}
	refused := []string{
		"8.8.8.8:1", "172.32.0.1:1", "100.64.0.1:1", "192.169.0.1:1",
		"[2001:db8::1]:1", "[2a01:e0a::1]:1", "[::ffff:8.8.8.8]:1", "garbage", "",
	}
	h, _ := newPanel(i18n.EN, Health{})
	for _, remote := range allowed {
		rec := do(h, "GET", "/metrics", remote)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "ruche_test_total 3") {
			t.Errorf("%s: GET /metrics = %d, want 200 with ruche_test_total\n%s", remote, rec.Code, rec.Body)
		}
	}
	for _, remote := range refused {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", "192.168.1.2") // must not be believed
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%q: GET /metrics = %d, want 403", remote, rec.Code)
			continue
		}
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] != "metrics are served to the local network only" {
			t.Errorf("%q: body %s (%v)", remote, rec.Body, err)
		}
		if strings.Contains(rec.Body.String(), "ruche_test_total") {
			t.Errorf("%q: metrics leaked", remote)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h, _ := newPanel(i18n.FR, Health{})
	for _, path := range []string{"/nope", "/api/status", "/healthz/", "/index.html"} {
		rec := do(h, "GET", path, "")
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, rec.Code)
		}
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] != "page introuvable" {
			t.Errorf("GET %s: body %s", path, rec.Body)
		}
	}
	for _, path := range []string{"/", "/healthz", "/metrics"} {
		rec := do(h, "POST", path, "127.0.0.1:1")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s = %d (Allow %q), want 405", path, rec.Code, rec.Header().Get("Allow"))
		}
	}
}
