package wiki

import (
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision"
)

func render(t *testing.T, p *provision.Pack, hashes map[string]string) map[string]string {
	t.Helper()
	var out provision.Desired
	in := &provision.RenderInput{Pack: p, Root: "/r", PasswordHashes: hashes}
	if err := (Renderer{}).Render(in, &out); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range out.Files {
		files[strings.TrimPrefix(f.Path, ConfDir+"/")] = string(f.Content)
		if (strings.HasSuffix(f.Path, ".auth.php") || strings.HasSuffix(f.Path, "local.php") && !strings.Contains(f.Path, "plugins")) && f.Mode != 0o640 {
			t.Errorf("%s: mode %o, want 0640", f.Path, f.Mode)
		}
	}
	if p.Wiki.Enabled && (len(out.Services) != 1 || out.Services[0].Name != Service || out.Services[0].ReloadSignal != "USR2") {
		t.Errorf("services: %+v", out.Services)
	}
	return files
}

func TestDisabled(t *testing.T) {
	if files := render(t, &provision.Pack{}, nil); len(files) != 0 {
		t.Errorf("a disabled wiki renders %d files", len(files))
	}
}

func TestRender(t *testing.T) {
	p := &provision.Pack{
		Association: provision.Association{Name: "Café", Locale: "fr"},
		Box:         provision.Box{Hostname: "cafe"},
		Wiki:        provision.Wiki{Enabled: true, Title: "Wiki d'ici", PublicRead: false, Editors: []string{"member", "admin", "member"}},
		Panel: provision.Panel{Users: []provision.User{
			{Login: "alice", Name: "Alice: la chef", Role: "admin", Email: "a@x.org"},
			{Login: "bob", Role: "member"},
			{Login: "nopass", Role: "member"},
		}},
	}
	files := render(t, p, map[string]string{"alice": "$2a$10$aaa", "bob": "$2a$10$bbb"})
	for _, want := range []string{`$conf['title'] = 'Wiki d\'ici';`, `$conf['lang'] = 'fr';`, `$conf['savedir'] = '/r/var/lib/ruche/wiki';`, `$conf['superuser'] = '@admin';`, `$conf['userewrite'] = 1;`, `$conf['authtype'] = 'authplain';`} {
		if !strings.Contains(files["local.php"], want) {
			t.Errorf("local.php lacks %s:\n%s", want, files["local.php"])
		}
	}
	if got := files["acl.auth.php"]; !strings.Contains(got, "*\t@ALL\t0\n*\t@user\t1\n*\t@admin\t8\n*\t@member\t8\n") {
		t.Errorf("acl.auth.php:\n%s", got)
	}
	users := files["users.auth.php"]
	if !strings.Contains(users, "alice:$2a$10$aaa:Alice  la chef:a@x.org:admin,user\n") || !strings.Contains(users, "bob:$2a$10$bbb:bob::member,user\n") || strings.Contains(users, "nopass") {
		t.Errorf("users.auth.php:\n%s", users)
	}
	if !strings.Contains(files["prepend.php"], "define('DOKU_CONF', '/r/etc/ruche/wiki/')") {
		t.Errorf("prepend.php:\n%s", files["prepend.php"])
	}
	if fpm := files["php-fpm.conf"]; !strings.Contains(fpm, "pm = ondemand") || !strings.Contains(fpm, "listen = /r/run/ruche/php-fpm.sock") {
		t.Errorf("php-fpm.conf:\n%s", fpm)
	}
	if _, ok := files["skeleton/accueil.txt"]; !ok {
		t.Error("no French start page")
	}
	p.Association.Locale = "en"
	p.Wiki.PublicRead = true
	files = render(t, p, nil)
	if _, ok := files["skeleton/start.txt"]; !ok || !strings.Contains(files["local.php"], `$conf['lang'] = 'en';`) {
		t.Error("no English start page or language")
	}
	if !strings.HasPrefix(files["acl.auth.php"][strings.Index(files["acl.auth.php"], "\n")+1:], "*\t@ALL\t1\n") {
		t.Errorf("public acl:\n%s", files["acl.auth.php"])
	}
}

// TestMail checks DokuWiki's way out for mail: PHP's sendmail_path runs
// msmtp with Ruche's configuration, which speaks plain SMTP to the box's
// Postfix on loopback (RenderInput.SMTP).
func TestMail(t *testing.T) {
	p := &provision.Pack{
		Association: provision.Association{Name: "Café", Contact: "contact@cafe.org"},
		Box:         provision.Box{Hostname: "cafe", Domain: "cafe.org"},
		Wiki:        provision.Wiki{Enabled: true},
	}
	for _, tc := range []struct {
		name               string
		smtp               string
		contact, domain    string
		mailDomains        []string
		host, port         string
		mailfrom, envelope string
	}{
		{"box", ":25", "contact@cafe.org", "cafe.org", nil, "127.0.0.1", "25", "wiki@cafe.org", "contact@cafe.org"},
		{"dev", "127.0.0.1:2525", "contact@cafe.org", "cafe.org", nil, "127.0.0.1", "2525", "wiki@cafe.org", "contact@cafe.org"},
		{"all interfaces", "0.0.0.0:2526", "contact@cafe.org", "cafe.org", nil, "127.0.0.1", "2526", "wiki@cafe.org", "contact@cafe.org"},
		{"ipv6", "[::1]:25", "contact@cafe.org", "cafe.org", nil, "::1", "25", "wiki@cafe.org", "contact@cafe.org"},
		{"default", "", "contact@cafe.org", "cafe.org", nil, "127.0.0.1", "2525", "wiki@cafe.org", "contact@cafe.org"},
		// A contact in a domain the box does not send for would fail SPF
		// in the envelope: bounces come back to the wiki's address.
		{"foreign contact", ":25", "cafe@gmail.example", "cafe.org", nil, "127.0.0.1", "25", "wiki@cafe.org", "wiki@cafe.org"},
		{"mail domain", ":25", "bureau@asso.org", "", []string{"asso.org"}, "127.0.0.1", "25", "wiki@asso.org", "bureau@asso.org"},
		{"no domain", ":25", "", "", nil, "127.0.0.1", "25", "wiki@cafe.local", "wiki@cafe.local"},
		{"idn", ":25", "Bureau@Café-Anais.fr", "café-anais.fr.", nil, "127.0.0.1", "25", "wiki@xn--caf-anais-d4a.fr", "Bureau@xn--caf-anais-d4a.fr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.Association.Contact, p.Box.Domain, p.Mail.Domains = tc.contact, tc.domain, tc.mailDomains
			var out provision.Desired
			in := &provision.RenderInput{Pack: p, Root: "/r", SMTP: tc.smtp}
			if err := (Renderer{}).Render(in, &out); err != nil {
				t.Fatal(err)
			}
			files := map[string]provision.File{}
			for _, f := range out.Files {
				files[strings.TrimPrefix(f.Path, ConfDir+"/")] = f
			}
			msmtp, ok := files["msmtp.conf"]
			if !ok {
				t.Fatal("no msmtp.conf")
			}
			// www-data's workers run msmtp: the file must be readable by
			// them (the engine writes mode 0 as 0644), and holds no secret.
			if msmtp.Mode != 0 && msmtp.Mode&0o004 == 0 || msmtp.Owner != "" {
				t.Errorf("msmtp.conf: mode %o owner %q, want readable by all", msmtp.Mode, msmtp.Owner)
			}
			conf := string(msmtp.Content)
			for _, want := range []string{"\naccount default\n", "\nhost " + tc.host + "\n", "\nport " + tc.port + "\n", "\nauth off\n", "\ntls off\n", "\ntls_starttls off\n", "\nfrom " + tc.envelope + "\n", "\ndomain cafe\n"} {
				if !strings.Contains(conf, want) {
					t.Errorf("msmtp.conf lacks %q:\n%s", strings.TrimSpace(want), conf)
				}
			}
			for _, bad := range []string{"password", "user "} {
				if strings.Contains(conf, bad) {
					t.Errorf("msmtp.conf holds %q:\n%s", bad, conf)
				}
			}
			fpm := string(files["php-fpm.conf"].Content)
			if want := `php_admin_value[sendmail_path] = "/usr/bin/msmtp -C '/r/etc/ruche/wiki/msmtp.conf' -t -i"` + "\n"; !strings.Contains(fpm, want) {
				t.Errorf("php-fpm.conf lacks %s:\n%s", want, fpm)
			}
			local := string(files["local.php"].Content)
			for _, want := range []string{"$conf['mailfrom'] = '" + tc.mailfrom + "';", "$conf['mailreturnpath'] = '" + tc.envelope + "';", "$conf['subscribers'] = 1;"} {
				if !strings.Contains(local, want) {
					t.Errorf("local.php lacks %s:\n%s", want, local)
				}
			}
		})
	}
	// A root with a quote in it stays one word for the shell PHP runs.
	in := &provision.RenderInput{Pack: p, Root: "/r/l'asso", SMTP: ":25"}
	if got, want := sendmailPath(in), `"/usr/bin/msmtp -C '/r/l'\''asso/etc/ruche/wiki/msmtp.conf' -t -i"`; got != want {
		t.Errorf("sendmail_path %s, want %s", got, want)
	}
}
