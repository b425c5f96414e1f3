package provision

import (
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision/i18n"
)

// minimalPack is a valid pack built in Go, without a file: no positions.
func minimalPack() *Pack {
	return &Pack{
		APIVersion:  APIVersion,
		Kind:        Kind,
		Association: Association{Name: "Jardin", Slug: "jardin"},
		Box:         Box{Hostname: "jardin"},
	}
}

func englishLines(errs ErrorList) []string {
	if len(errs) == 0 {
		return nil
	}
	return strings.Split(errs.Localize(i18n.EN), "\n")
}

func TestValidateDomains(t *testing.T) {
	for _, tc := range []struct {
		in, ascii string // ascii "" = invalid
	}{
		{"cafe-anais.org", "cafe-anais.org"},
		{"Cafe-Anais.ORG", "cafe-anais.org"},
		{"café-anaïs.fr", "xn--caf-anas-d1a8d.fr"},
		{"xn--caf-anas-d1a8d.fr", "xn--caf-anas-d1a8d.fr"},
		{"ＣＡＦＥ.org", "cafe.org"}, // full-width letters map to ASCII
		{"straße.de", "xn--strae-oqa.de"},
		{"a.b.c.d.example", "a.b.c.d.example"},
		{"", ""},
		{"fete..org", ""},
		{".fete.org", ""},
		{"fete.org.", ""},
		{"fete", ""},
		{"-fete.org", ""},
		{"fete-.org", ""},
		{"fe_te.org", ""},
		{"fête ici.org", ""},
		{"café☕.fr", ""},
		{"xn--caf-dma4968b.fr", ""}, // the same emoji, in punycode
		{"xn--zz.fr", ""},
		{"192.168.1.10", ""},
		{"10.1.2", ""},
		{"::1", ""},
		{"[::1]", ""},
		{strings.Repeat("a", 64) + ".org", ""},
		{strings.Repeat("abcdefghi.", 26) + "org", ""}, // over 253
	} {
		ascii, ok := ASCIIDomain(tc.in)
		if ok != (tc.ascii != "") || ascii != tc.ascii {
			t.Errorf("ASCIIDomain(%q) = %q, %v; want %q", tc.in, ascii, ok, tc.ascii)
		}
	}
}

func TestValidateEmails(t *testing.T) {
	for _, tc := range []struct {
		in, key string
	}{
		{"alice@example.org", "alice@example.org"},
		{"Alice.Martin@Example.ORG", "alice.martin@example.org"},
		{"anaïs@café-anaïs.fr", "anaïs@xn--caf-anas-d1a8d.fr"},
		{"a+tag@example.org", "a+tag@example.org"},
		{"", ""},
		{"alice", ""},
		{"alice@", ""},
		{"@example.org", ""},
		{"alice@@example.org", ""},
		{"alice@example", ""},
		{"alice@localhost", ""},
		{"alice@[192.168.1.1]", ""},
		{"Alice <alice@example.org>", ""},
		{"<alice@example.org>", ""},
		{"alice @example.org", ""},
		{"alice@exa mple.org", ""},
		{"alice@fete..org", ""},
		{`"alice b"@example.org`, ""},
	} {
		key, _, ok := emailKey(tc.in)
		if ok != (tc.key != "") || key != tc.key {
			t.Errorf("emailKey(%q) = %q, %v; want %q", tc.in, key, ok, tc.key)
		}
	}
}

func TestValidateRepositories(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want repoKind
	}{
		{"/media/ruche-backup/restic", repoLocal},
		{"/media/Clé USB/restic", repoLocal},
		{"local:/srv/restic", repoLocal},
		{"sftp:ruche@backup.example.org:/srv/restic/cafe", repoSFTP},
		{"sftp:backup.example.org:restic", repoSFTP},
		{"sftp:ruche@nas:/srv/restic", repoSFTP},
		{"sftp:ruche@192.168.1.20:/srv/restic", repoSFTP},
		{"sftp://ruche@backup.example.org:2222//srv/restic", repoSFTP},
		{"rest:https://backup.example.org/cafe", repoRemote},
		{"rest:http://user:pass@192.168.1.20:8000/", repoRemote},
		{"s3:s3.amazonaws.com/bucket/cafe", repoRemote},
		{"s3:https://s3.example.org/bucket", repoRemote},
		{"b2:bucket:cafe/restic", repoRemote},
		{"azure:container:/restic", repoRemote},
		{"gs:bucket:/restic", repoRemote},
		{"swift:container:/restic", repoRemote},
		{"rclone:remote:restic", repoRemote},
		{"", repoUnknown},
		{"media/backup", repoUnknown},
		{"./backup", repoUnknown},
		{"~/backup", repoUnknown},
		{"local:backup", repoUnknown},
		{"/", repoUnknown},
		{"/media/../etc", repoUnknown},
		{"sftp:", repoUnknown},
		{"sftp:host", repoUnknown},
		{"sftp:@host:/x", repoUnknown},
		{"sftp:host:", repoUnknown},
		{"sftp://host", repoUnknown},
		{"rest:backup.example.org:8000", repoUnknown},
		{"rest:ftp://backup.example.org/", repoUnknown},
		{"s3:", repoUnknown},
		{"s3:bucket", repoUnknown},
		{"b2:bucket", repoUnknown},
		{"ftp://backup.example.org/restic", repoUnknown},
		{"C:\\backup", repoUnknown},
		{"/media/a\nb", repoUnknown},
	} {
		got, _ := repositoryKind(tc.in)
		if got != tc.want {
			t.Errorf("repositoryKind(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestValidateAliasLoops: loops are found through any chain, each reported
// once, and aliases that merely share destinations are fine.
func TestValidateAliasLoops(t *testing.T) {
	alias := func(addr string, to ...string) Alias { return Alias{Address: addr, To: to} }
	for _, tc := range []struct {
		name    string
		aliases []Alias
		want    []string
	}{
		{"diamond without loop", []Alias{
			alias("a@x.org", "b@x.org", "c@x.org"),
			alias("b@x.org", "d@x.org"),
			alias("c@x.org", "d@x.org"),
			alias("d@x.org", "alice@example.org"),
		}, nil},
		{"loop reached from outside", []Alias{
			alias("a@x.org", "b@x.org"),
			alias("b@x.org", "c@x.org"),
			alias("c@x.org", "b@x.org"),
		}, []string{"1:1: mail.aliases[2].to[0]: alias loop: b@x.org → c@x.org → b@x.org"}},
		{"two loops", []Alias{
			alias("a@x.org", "a@x.org"),
			alias("b@x.org", "c@x.org"),
			alias("c@x.org", "b@x.org", "a@x.org"),
		}, []string{
			"1:1: mail.aliases[0].to[0]: alias loop: a@x.org → a@x.org",
			"1:1: mail.aliases[2].to[0]: alias loop: b@x.org → c@x.org → b@x.org",
		}},
		{"IDN and case", []Alias{
			alias("équipe@café.fr", "Bureau@xn--caf-dma.fr"),
			alias("bureau@café.fr", "ÉQUIPE@CAFÉ.FR"),
		}, []string{"1:1: mail.aliases[1].to[0]: alias loop: équipe@café.fr → bureau@café.fr → équipe@café.fr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := minimalPack()
			p.Mail.Domains = []string{"x.org", "café.fr"}
			p.Mail.Aliases = tc.aliases
			got := englishLines(Validate(p))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestValidateWithoutPositions: a pack built in Go (the panel's edits)
// validates too, its errors at 1:1 with their path.
func TestValidateWithoutPositions(t *testing.T) {
	if errs := Validate(minimalPack()); errs != nil {
		t.Fatalf("minimal pack: %v", errs)
	}
	p := minimalPack()
	p.Sites = []Site{{Name: "vitrine", Template: "showcase", Title: "V", Domains: []string{"a.org"}}}
	p.Wiki = Wiki{Enabled: true, Title: "W", Domain: "A.org"}
	p.Mail.Relay = &Relay{Host: "smtp.example.net"} // port 0: the default
	got := englishLines(Validate(p))
	want := []string{`1:1: sites[0].domains[0]: "a.org" is already used by wiki.domain`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
	if Validate(nil) != nil {
		t.Errorf("Validate(nil) is not empty")
	}
}

// TestValidateKnownTemplates: the templates package replaces the list.
func TestValidateKnownTemplates(t *testing.T) {
	saved := KnownTemplates
	defer func() { KnownTemplates = saved }()
	p := minimalPack()
	p.Sites = []Site{{Name: "blog", Template: "blog", Title: "Blog"}}
	if len(Validate(p)) != 1 {
		t.Fatalf("blog accepted before it is known")
	}
	KnownTemplates = append([]string{"blog"}, saved...)
	if errs := Validate(p); errs != nil {
		t.Errorf("blog refused once known: %v", errs)
	}
}

func TestValidateTimezones(t *testing.T) {
	for zone, ok := range map[string]bool{
		"Europe/Paris": true, "UTC": true, "America/Argentina/Buenos_Aires": true, "Etc/GMT+2": true,
		"Local": false, "europe/paris": false, "Europe/Pariss": false, "../etc/passwd": false,
		"/usr/share/zoneinfo/UTC": false, "Europe//Paris": false, "Paris": false,
	} {
		if validZone(zone) != ok {
			t.Errorf("validZone(%q) = %v, want %v", zone, !ok, ok)
		}
	}
}

func TestValidateSecretNames(t *testing.T) {
	for value, want := range map[string]string{
		"restic":                  "",
		"smtp-relay.v2_old":       "",
		"0key":                    "",
		"Restic":                  "not a secret name",
		".hidden":                 "not a secret name",
		"-rf":                     "not a secret name",
		"hunter2!":                "not a secret name",
		"/etc/ruche/secrets/a":    "looks like a password",
		"../x":                    "looks like a password",
		"pass word":               "looks like a password",
		strings.Repeat("a", 65):   "looks like a password",
		"a\tb":                    "looks like a password",
		"c:\\secrets\\restic.txt": "looks like a password",
	} {
		p := minimalPack()
		p.Backup.PasswordSecret = value
		got := englishLines(Validate(p))
		switch {
		case want == "" && got != nil:
			t.Errorf("%q refused: %q", value, got)
		case want != "" && (len(got) != 1 || !strings.Contains(got[0], want)):
			t.Errorf("%q: got %q, want %q", value, got, want)
		case want != "" && len(value) > 3 && strings.Contains(got[0], value):
			t.Errorf("%q: the value is printed back: %q", value, got[0])
		}
	}
}

// TestValidateDefaults: Defaults fills what a valid pack left out and keeps
// what it said; the result is still valid.
func TestValidateDefaults(t *testing.T) {
	p := minimalPack()
	p.Wiki = Wiki{Enabled: true, Title: "W"}
	p.Mail.Relay = &Relay{Host: "smtp.example.net"}
	p.Defaults()
	if p.Association.Locale != "fr" || p.Box.Timezone != "UTC" || p.Box.TLS != "internal" ||
		p.Mail.Relay.Port != 587 || p.Backup.Schedule != DefaultSchedule ||
		strings.Join(p.Wiki.Editors, ",") != "admin,member" {
		t.Errorf("defaults: %+v %+v %+v %+v %+v", p.Association, p.Box, p.Wiki, p.Mail.Relay, p.Backup)
	}
	if errs := Validate(p); errs != nil {
		t.Errorf("defaults made the pack invalid: %v", errs)
	}
	q := minimalPack()
	q.Association.Locale = "en"
	q.Box.TLS = "off"
	q.Wiki = Wiki{Enabled: true, Title: "W", Editors: []string{}}
	q.Defaults()
	if q.Association.Locale != "en" || q.Box.TLS != "off" || q.Wiki.Editors == nil || len(q.Wiki.Editors) != 0 {
		t.Errorf("Defaults overrode what was written: %+v %+v %+v", q.Association, q.Box, q.Wiki)
	}
}

// TestValidateLoadKeepsPackOnError: the pack comes back with its errors so
// the CLI can answer in its locale.
func TestValidateLoadKeepsPackOnError(t *testing.T) {
	src := "apiVersion: ruche/v1\nkind: Pack\nassociation: {name: J, slug: j, locale: en}\nbox: {hostname: jardin}\n"
	p, err := Load("pack.yaml", []byte(src))
	if err == nil || p == nil || p.Locale() != "en" {
		t.Fatalf("Load = %v, %v", p, err)
	}
	if got := err.Error(); !strings.Contains(got, "pack.yaml:3:30: association.slug: « j » ne convient pas") {
		t.Errorf("Error() = %q", got)
	}
	if p, err := Load("pack.yaml", []byte("a: [")); p != nil || err == nil {
		t.Errorf("Load of broken YAML = %v, %v; want nil pack", p, err)
	}
}
