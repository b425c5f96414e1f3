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
