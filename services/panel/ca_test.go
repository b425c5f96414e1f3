package panel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision/store"
)

// writeTestCA writes a self-signed CA certificate in PEM at path, as
// Caddy's local authority does, and returns its DER bytes.
func writeTestCA(t *testing.T, path string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Caddy Local Authority - Test Root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return der
}

// colonHex is a SHA-256 as devices show it: "AB:CD:...".
func colonHex(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func TestCADownload(t *testing.T) {
	f := newFixture(t, true)
	der := writeTestCA(t, f.p.opts.CACertPath)

	// The page, to anyone, in French by default and in English on demand.
	rec := f.do(req("GET", "/ca", nil))
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("GET /ca: %d %s", rec.Code, body)
	}
	for _, want := range []string{
		"<h1>Certificat de la box</h1>", colonHex(der), `href="/ca.crt"`, "ruche-cafe-anais-ca.crt",
		"Android", "iPhone et iPad", "Windows", "macOS", "Linux et Firefox",
		"Installer un certificat", "Réglages des certificats de confiance", "Autorités de certification racines de confiance",
		"Toujours approuver", "update-ca-certificates",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/ca lacks %q", want)
		}
	}
	r := req("GET", "/ca", nil)
	r.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	body = f.do(r).Body.String()
	for _, want := range []string{"<h1>The box&#39;s certificate</h1>", colonHex(der), "iPhone and iPad", "Certificate Trust Settings", "Always Trust"} {
		if !strings.Contains(body, want) {
			t.Errorf("/ca in English lacks %q", want)
		}
	}

	// The certificate itself.
	rec = f.do(req("GET", "/ca.crt", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /ca.crt: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/x-x509-ca-cert" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="ruche-cafe-anais-ca.crt"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	b, rest := pem.Decode(rec.Body.Bytes())
	if b == nil || b.Type != "CERTIFICATE" || string(b.Bytes) != string(der) || len(strings.TrimSpace(string(rest))) != 0 {
		t.Errorf("/ca.crt is not the certificate's PEM:\n%s", rec.Body)
	}

	// The footer links to /ca on every page.
	if !strings.Contains(f.do(req("GET", "/login", nil)).Body.String(), `<a href="/ca">`) {
		t.Error("the footer does not link to /ca")
	}

	// Internal, but no certificate yet: the page says so, no download.
	os.Remove(f.p.opts.CACertPath)
	body = f.do(req("GET", "/ca", nil)).Body.String()
	if !strings.Contains(body, "pas encore créé son certificat") || strings.Contains(body, `href="/ca.crt"`) {
		t.Errorf("/ca without the file:\n%s", body)
	}
	if code := f.do(req("GET", "/ca.crt", nil)).Code; code != 404 {
		t.Errorf("GET /ca.crt without the file: %d, want 404", code)
	}
	// A file without a certificate is none either.
	os.WriteFile(f.p.opts.CACertPath, []byte("not a certificate\n"), 0o644)
	if code := f.do(req("GET", "/ca.crt", nil)).Code; code != 404 {
		t.Errorf("GET /ca.crt of a file without a certificate: %d, want 404", code)
	}

	// Other TLS modes: no CA, even with the file there.
	writeTestCA(t, f.p.opts.CACertPath)
	for mode, want := range map[string]string{"off": "box.tls: off", "acme": "Let&#39;s Encrypt"} {
		pk := *f.pack
		pk.Box.TLS = mode
		f.pack = &pk
		body := f.do(req("GET", "/ca", nil)).Body.String()
		if !strings.Contains(body, want) || strings.Contains(body, `href="/ca.crt"`) || strings.Contains(body, colonHex(der)[:20]) {
			t.Errorf("/ca with tls %s:\n%s", mode, body)
		}
		if code := f.do(req("GET", "/ca.crt", nil)).Code; code != 404 {
			t.Errorf("GET /ca.crt with tls %s: %d, want 404", mode, code)
		}
	}
	// An empty box.tls is internal, as validation makes it.
	pk := *f.pack
	pk.Box.TLS = ""
	f.pack = &pk
	if code := f.do(req("GET", "/ca.crt", nil)).Code; code != 200 {
		t.Errorf("GET /ca.crt with an empty box.tls: %d, want 200", code)
	}
}

// The dashboard and /api/status count the tickets not resolved, and link
// to them by status.
func TestDashboardOpenTickets(t *testing.T) {
	f := newFixture(t, true)
	ctx := t.Context()
	body := f.do(withSession(req("GET", "/", nil), f.session("alice"))).Body.String()
	if !strings.Contains(body, "Aucun ticket ouvert.") {
		t.Error("dashboard without tickets does not say so")
	}
	var ids []int64
	for i := range 4 {
		tk, err := f.db.CreateTicket(ctx, store.NewTicket{Title: fmt.Sprintf("Ticket %d", i), Author: "bob"}, f.clock, false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	for i, s := range []string{store.StatusInProgress, store.StatusResolved} {
		st := s
		if _, err := f.db.UpdateTicket(ctx, ids[i], store.TicketChange{Status: &st}, "tech1", f.clock); err != nil {
			t.Fatal(err)
		}
	}
	// 2 new, 1 in progress, 1 resolved: 3 open.
	body = f.do(withSession(req("GET", "/", nil), f.session("tech1"))).Body.String()
	for _, want := range []string{"Tickets ouverts : 3", `href="/tickets?status=new"`, "nouveau : 2", `href="/tickets?status=in_progress"`, "en cours : 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	for _, not := range []string{`status=resolved"`, `status=waiting"`} {
		if strings.Contains(body, not) {
			t.Errorf("dashboard links %q", not)
		}
	}
	rec := f.do(withSession(req("GET", "/api/status", nil), f.session("tech1")))
	if !strings.Contains(rec.Body.String(), `"open_tickets": 3`) {
		t.Errorf("/api/status lacks open_tickets 3:\n%s", rec.Body)
	}
	// The link leads to the tickets of that status.
	if code := f.do(withSession(req("GET", "/tickets?status=in_progress", nil), f.session("tech1"))).Code; code != 200 {
		t.Errorf("GET /tickets?status=in_progress: %d", code)
	}
}
