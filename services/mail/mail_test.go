package mail

import (
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision"
)

const testPack = `apiVersion: ruche/v1
kind: Pack
association: {name: Café, slug: cafe, contact: contact@café-anais.fr}
box: {hostname: cafe, domain: café-anais.fr}
panel:
  users:
    - {login: alice, role: admin, email: alice@example.org}
    - {login: tech1, role: technician, email: Tech@Example.NET}
mail:
  domains: [café-anais.fr]
  relay: {host: smtp.example.net, port: 465, username: box@café-anais.fr, password_secret: smtp-relay}
  aliases:
    - {address: Contact@café-anais.fr, to: [alice, bureau@café-anais.fr, alice@example.org]}
    - {address: bureau@café-anais.fr, to: [tech1, bob@exämple.org]}
    - {address: abuse@café-anais.fr, to: [tech1]}
`

func render(t *testing.T, raw string, smtp string) (map[string]string, []provision.ServiceSpec) {
	t.Helper()
	p, err := provision.Load("pack.yaml", []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	out := &provision.Desired{}
	if err := (Renderer{}).Render(&provision.RenderInput{Pack: p, Root: "/r", SMTP: smtp}, out); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range out.Files {
		files[f.Path] = string(f.Content)
	}
	return files, out.Services
}

func TestRender(t *testing.T) {
	files, services := render(t, testPack, ":25")

	virtual := files[StageDir+"/virtual"]
	for _, line := range []string{
		// Logins become e-mails, IDN domains punycode, duplicates once.
		"contact@xn--caf-anais-d4a.fr alice@example.org, bureau@xn--caf-anais-d4a.fr\n",
		"bureau@xn--caf-anais-d4a.fr tech@example.net, bob@xn--exmple-cua.org\n",
		"abuse@xn--caf-anais-d4a.fr tech@example.net\n",
		// postmaster reaches the admins unless the pack says otherwise.
		"postmaster@xn--caf-anais-d4a.fr alice@example.org\n",
		"root@xn--caf-anais-d4a.fr alice@example.org\n",
	} {
		if !strings.Contains(virtual, line) {
			t.Errorf("virtual lacks %q:\n%s", line, virtual)
		}
	}
	if strings.Count(virtual, "abuse@") != 1 {
		t.Errorf("abuse@ given by the pack is also defaulted:\n%s", virtual)
	}

	main := files[StageDir+"/main.cf"]
	for _, want := range []string{
		"virtual_alias_domains = xn--caf-anais-d4a.fr\n",
		"virtual_alias_maps = hash:/r/etc/postfix-ruche/virtual\n",
		"mynetworks = 127.0.0.1/32 [::1]/128\n",
		"relayhost = [smtp.example.net]:465\n",
		"smtp_tls_wrappermode = yes\n",
		"smtp_tls_security_level = encrypt\n",
		"smtp_sasl_password_maps = hash:/r/etc/postfix-ruche/sasl_passwd\n",
		"sender_canonical_maps = tcp:127.0.0.1:10001\n",
		"queue_directory = /r/var/spool/postfix-ruche\n",
		"myhostname = cafe.xn--caf-anais-d4a.fr\n",
	} {
		if !strings.Contains(main, want) {
			t.Errorf("main.cf lacks %q:\n%s", want, main)
		}
	}
	if !strings.HasPrefix(files[StageDir+"/master.cf"], header) || !strings.Contains(files[StageDir+"/master.cf"], "\n25         inet       n - n - - smtpd\n") {
		t.Errorf("master.cf does not run smtpd on port 25:\n%s", files[StageDir+"/master.cf"])
	}
	// The password is read from its secret file at activation only.
	act := files[StageDir+"/activate.sh"]
	if !strings.Contains(act, "secret='/r/etc/ruche/secrets/smtp-relay'") || !strings.Contains(act, "'box@café-anais.fr'") {
		t.Errorf("activate.sh does not build sasl_passwd from the secret:\n%s", act)
	}
	if len(services) != 2 || services[0].Name != Service || services[1].Name != SRSService {
		t.Fatalf("services: %+v", services)
	}
	if len(services[0].ReloadCommand) == 0 || services[0].ReloadSignal != "" {
		t.Errorf("Postfix must reload through activate.sh: %+v", services[0])
	}
	if !strings.Contains(services[1].Command[2], "-d'xn--caf-anais-d4a.fr'") {
		t.Errorf("postsrsd's domain: %q", services[1].Command[2])
	}
}

func TestRenderNoMail(t *testing.T) {
	files, services := render(t, `apiVersion: ruche/v1
kind: Pack
association: {name: A, slug: aa}
box: {hostname: a}
panel: {users: [{login: alice, role: admin}]}
`, "127.0.0.1:2525")
	if len(files) != 0 || len(services) != 0 {
		t.Errorf("a pack without mail rendered %d files and %d services", len(files), len(services))
	}
}

func TestRenderRelayOnly(t *testing.T) {
	files, services := render(t, `apiVersion: ruche/v1
kind: Pack
association: {name: A, slug: aa}
box: {hostname: a}
panel: {users: [{login: alice, role: admin, email: a@example.org}]}
mail:
  relay: {host: 192.0.2.1}
`, "127.0.0.1:2525")
	main := files[StageDir+"/main.cf"]
	// No domain: no SRS (nothing is forwarded), no postsrsd, no SASL.
	if strings.Contains(main, "sender_canonical_maps") || strings.Contains(main, "smtp_sasl") || len(services) != 1 {
		t.Errorf("relay-only box:\n%s\nservices %+v", main, services)
	}
	if !strings.Contains(main, "relayhost = [192.0.2.1]:587\n") || !strings.Contains(main, "myorigin = a.local\n") {
		t.Errorf("relay-only main.cf:\n%s", main)
	}
	if !strings.Contains(files[StageDir+"/master.cf"], "\n127.0.0.1:2525 inet") {
		t.Errorf("master.cf:\n%s", files[StageDir+"/master.cf"])
	}
}

func TestListenService(t *testing.T) {
	for in, want := range map[string]string{":25": "25", "127.0.0.1:2525": "127.0.0.1:2525", "[::1]:25": "[::1]:25"} {
		if got, err := ListenService(in); err != nil || got != want {
			t.Errorf("ListenService(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"2525", "host:smtp"} {
		if _, err := ListenService(bad); err == nil {
			t.Errorf("ListenService(%q) accepted", bad)
		}
	}
	if p := srsPorts("127.0.0.1:2525"); p != (ports{2526, 2527}) {
		t.Errorf("srsPorts: %v", p)
	}
}

func TestGenericTable(t *testing.T) {
	// A box without box.domain: its own mail leaves as the relay's account.
	files, _ := render(t, `apiVersion: ruche/v1
kind: Pack
association: {name: A, slug: aa}
box: {hostname: jardin}
panel: {users: [{login: alice, role: admin, email: a@example.org}]}
mail:
  relay: {host: smtp.example.net, username: Box@Amis-Jardin.org, password_secret: relay}
`, "127.0.0.1:2525")
	if g := files[StageDir+"/generic"]; !strings.HasSuffix(g, "@jardin.local box@amis-jardin.org\n") {
		t.Errorf("generic:\n%s", g)
	}
	if !strings.Contains(files[StageDir+"/main.cf"], "smtp_generic_maps = hash:/r/etc/postfix-ruche/generic\n") {
		t.Errorf("main.cf has no smtp_generic_maps")
	}
	// With a domain, the box's addresses are its own: nothing rewritten.
	files, _ = render(t, testPack, ":25")
	if g := files[StageDir+"/generic"]; g != header || strings.Contains(files[StageDir+"/main.cf"], "smtp_generic_maps") {
		t.Errorf("a box with a domain rewrites its senders:\n%s", g)
	}
}
