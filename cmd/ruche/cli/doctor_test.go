package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/cmd/ruche/cli"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/health/dnstest"
)

// `ruche doctor` in-process, against a box run by the real `ruche up` and a
// DNS server on a loopback port holding the domain's records.

const doctorPack = `apiVersion: ruche/v1
kind: Pack
association:
  name: Atelier Vélo
  slug: atelier-velo
  locale: fr
  contact: contact@host.example
box:
  hostname: atelier
  timezone: Europe/Paris
  tls: "off"
sites:
  - name: vitrine
    domains: [host.example]
    template: showcase
    title: Atelier Vélo
mail:
  domains: [host.example]
  relay: {host: smtp.relay.example, port: 587, username: box@host.example, password_secret: smtp-relay}
  aliases:
    - address: contact@host.example
      to: [alice@example.org, bob@example.net]
    - address: bureau@host.example
      to: [alice, claire@example.org]
panel:
  users:
    - {login: alice, name: Alice Martin, role: admin, email: alice@example.org}
`

// doctorZone is host.example as most associations have it: mail at the
// domain's host, an SPF that includes the relay's provider, DMARC p=none.
const doctorZone = `
$TTL 300
host.example.            MX   10 mx1.mailhost.example.
host.example.            TXT  "v=spf1 mx include:_spf.relay.example ~all"
_dmarc.host.example.     TXT  "v=DMARC1; p=none"
mx1.mailhost.example.    A    192.0.2.25
smtp.relay.example.      A    203.0.113.9
_spf.relay.example.      TXT  "v=spf1 ip4:203.0.113.0/24 -all"
`

// liveRoot is a root whose live pack is content, with its secrets, and no
// daemon.
func liveRoot(t *testing.T, content string) (root, live string) {
	t.Helper()
	root = t.TempDir()
	withSecrets(t, root)
	live = filepath.Join(root, provision.PackPath)
	if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(live, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, live
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

func TestDoctorHealthyBox(t *testing.T) {
	dns := dnstest.Start(t, doctorZone)
	root := t.TempDir()
	withSecrets(t, root)
	startUp(t, root, writePack(t, t.TempDir(), "pack.yaml", doctorPack))
	live := filepath.Join(root, provision.PackPath)

	code, out, errOut := run(t, "", "doctor", "--root", root, "--lang", "en", "--dns", dns.Addr)
	if code != cli.ExitOK {
		t.Errorf("exit %d, want 0 (warnings only); stderr %q", code, errOut)
	}
	wantLines(t, out,
		`Diagnosis of the box "Atelier Vélo" (root `+root+")",
		"\nPack\n  ✓ the live pack is valid: "+live+"\n",
		"  ✓ the pack's secrets are present, mode 0600: smtp-relay\n",
		"\nRuche (ruche up)\n  ✓ Ruche is running\n",
		"\nMail: host.example\n  ! the MX points to mx1.mailhost.example, not to this box",
		"    → keep the aliases at your host: create there the same redirections as in the pack (or ask it to forward these addresses to their recipients)\n"+
			"      the pack's aliases for this domain:\n"+
			"      contact@host.example → alice@example.org, bob@example.net\n"+
			"      bureau@host.example → alice@example.org, claire@example.org\n",
		"  ✓ SPF: v=spf1 mx include:_spf.relay.example ~all\n",
		"  ✓ DMARC: policy none\n",
	)
	// The disk and the clock are this machine's: their lines are there,
	// whatever they say.
	for _, re := range []string{
		`(?m)^  [✓!] ` + regexp.QuoteMeta(root) + ` \(and var/lib/ruche, on the same disk\): \d+% used, [\d.]+ [kMGTP]?B free of [\d.]+ [kMGTP]?B$`,
		`(?m)^  [✓!] the clock is (not )?synchronised`,
		`(?m)^Summary: \d+ warnings?\.\n\z`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
	if daemon := section(out, "Ruche (ruche up)"); strings.Contains(daemon, "✗") {
		t.Errorf("a service has a problem:\n%s", daemon)
	}

	// Without --lang, the pack's language: French.
	code, out, _ = run(t, "", "doctor", "--root", root, "--dns", dns.Addr)
	if code != cli.ExitOK {
		t.Errorf("French: exit %d, want 0", code)
	}
	wantLines(t, out,
		"Diagnostic de la box « Atelier Vélo » (racine "+root+")",
		"  ✓ le pack en service est valide : "+live+"\n",
		"  ✓ les secrets du pack sont présents, en mode 0600 : smtp-relay\n",
		"  ✓ Ruche tourne\n",
		"\nCourriel : host.example\n  ! le MX pointe vers mx1.mailhost.example, pas vers cette box",
		"      alias du pack pour ce domaine :\n",
		"  ✓ SPF : v=spf1 mx include:_spf.relay.example ~all\n",
		"  ✓ DMARC : politique none\n",
		"\nBilan : ",
	)
	if !regexp.MustCompile(`(?m)^  [✓!] ` + regexp.QuoteMeta(root) + ` \(et var/lib/ruche, sur le même disque\) : \d+ % utilisés, [\d,]+ [kMGTP]?o libres sur`).MatchString(out) {
		t.Errorf("French disk line missing:\n%s", out)
	}
}

// section returns the lines of one titled group of the report.
func section(out, title string) string {
	_, rest, ok := strings.Cut(out, "\n"+title+"\n")
	if !ok {
		return ""
	}
	s, _, _ := strings.Cut(rest, "\n\n")
	return s
}

func TestDoctorMissingSecret(t *testing.T) {
	root, live := liveRoot(t, doctorPack)
	os.Remove(filepath.Join(root, provision.SecretsDir, "smtp-relay"))
	// A DNS server that never answers: the doctor still ends, in time,
	// with a warning.
	start := time.Now()
	code, out, _ := run(t, "", "doctor", "--root", root, "--lang", "en", "--dns", dnstest.Silent(t))
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("doctor took %v with a silent DNS server", took)
	}
	if code != cli.ExitFailed {
		t.Errorf("exit %d, want 1", code)
	}
	secret := regexp.MustCompile(`(?m)^  ✗ ` + regexp.QuoteMeta(live) + `:\d+:\d+: mail\.relay\.password_secret: secret "smtp-relay" is missing: create the file ` + regexp.QuoteMeta(filepath.Join(root, provision.SecretsDir, "smtp-relay")))
	if !secret.MatchString(out) {
		t.Errorf("the missing secret is not named at its line:\n%s", out)
	}
	wantLines(t, out,
		"  ✗ Ruche is not running: nothing answers on "+filepath.Join(root, provision.ControlSocket),
		"    → start it: ruche up "+live+" --root "+root,
		"\nMail: host.example\n  ! DNS cannot be reached: MX, SPF and DMARC of host.example are not checked",
		"\nSummary: 2 problems and ",
	)

	code, out, _ = run(t, "", "doctor", "--root", root, "--lang", "fr", "--dns", dnstest.Silent(t))
	if code != cli.ExitFailed || !strings.Contains(out, `: mail.relay.password_secret: le secret "smtp-relay" est introuvable`) {
		t.Errorf("French: exit %d, want 1 and the secret named:\n%s", code, out)
	}
	wantLines(t, out, "  ! le DNS est injoignable : MX, SPF et DMARC de host.example ne sont pas vérifiés", "\nBilan : 2 problèmes et ")
}

func TestDoctorInvalidPack(t *testing.T) {
	root, live := liveRoot(t, strings.Replace(doctorPack, "slug: atelier-velo", "slug: Atelier_Velo", 1))
	for _, tt := range []struct{ lang, head, err string }{
		{"en", "  ✗ the live pack is invalid (the box keeps the last applied revision):\n", "      " + live + ":5:9: association.slug: "},
		{"fr", "  ✗ le pack en service est invalide (la box garde la dernière révision appliquée) :\n", "      " + live + ":5:9: association.slug: "},
	} {
		code, out, _ := run(t, "", "doctor", "--root", root, "--lang", tt.lang, "--dns", dnstest.Silent(t))
		if code != cli.ExitFailed {
			t.Errorf("%s: exit %d, want 1", tt.lang, code)
		}
		wantLines(t, out, tt.head, tt.err)
		if strings.Contains(out, "host.example\n") {
			t.Errorf("%s: the mail of an invalid pack was checked:\n%s", tt.lang, out)
		}
	}
}

func TestDoctorNoPack(t *testing.T) {
	root := t.TempDir()
	code, out, _ := run(t, "", "doctor", "--root", root, "--lang", "en")
	if code != cli.ExitFailed {
		t.Errorf("exit %d, want 1", code)
	}
	wantLines(t, out,
		"  ✗ no live pack ("+filepath.Join(root, provision.PackPath)+"): the box was never set up\n    → apply a pack: ruche apply PACK --root "+root+"\n",
		"    → start it: ruche up PACK --root "+root,
	)
	if code, _, _ := run(t, "", "doctor", "--root", root, "extra"); code != cli.ExitUsage {
		t.Errorf("doctor with an argument: exit %d, want 2", code)
	}
}
