package notify_test

import (
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/mail/notify"
)

func TestRecipients(t *testing.T) {
	got := notify.Recipients(testPack(""))
	if want := []string{"alice@example.org", "tech2@example.net"}; !slices.Equal(got, want) {
		t.Errorf("Recipients: got %v, want %v (members and users without an address skipped, case-insensitive duplicates once)", got, want)
	}
	if got := notify.Recipients(nil); got != nil {
		t.Errorf("Recipients(nil) = %v", got)
	}
}

func TestBoxAddr(t *testing.T) {
	root := t.TempDir()
	if got, want := notify.BoxAddr(root, ""), provision.DefaultSMTPAddr(root); got != want {
		t.Errorf("no file: %q, want %q", got, want)
	}
	if _, err := os.Stat("/" + provision.SMTPAddrFile); os.IsNotExist(err) {
		if got := notify.BoxAddr("/", ""); got != ":25" {
			t.Errorf("root /: %q, want :25", got)
		}
	}
	file := filepath.Join(root, provision.SMTPAddrFile)
	os.MkdirAll(filepath.Dir(file), 0o755)
	os.WriteFile(file, []byte("127.0.0.1:2626\n"), 0o644)
	if got := notify.BoxAddr(root, ""); got != "127.0.0.1:2626" {
		t.Errorf("from %s: %q", provision.SMTPAddrFile, got)
	}
	if got := notify.BoxAddr(root, "127.0.0.1:9"); got != "127.0.0.1:9" {
		t.Errorf("override: %q", got)
	}
}

func TestBoxSender(t *testing.T) {
	for _, tc := range []struct {
		box  provision.Box
		want string
	}{
		{provision.Box{Hostname: "cafe-anais"}, "ruche@cafe-anais.local"},
		{provision.Box{Hostname: "cafe-anais", Domain: "cafe-anais.org"}, "ruche@cafe-anais.org"},
		{provision.Box{Hostname: "cafe", Domain: "café-anais.fr"}, "ruche@xn--caf-anais-d4a.fr"},
	} {
		from := notify.BoxSender(&provision.Pack{Box: tc.box})
		a, err := mail.ParseAddress(from)
		if err != nil || a.Address != tc.want || a.Name != "Ruche" {
			t.Errorf("%+v: %q (%v), want Ruche <%s>", tc.box, from, err, tc.want)
		}
	}
	if a, _ := mail.ParseAddress(notify.BoxSender(nil)); a == nil || a.Address != "ruche@localhost" {
		t.Errorf("no pack: %v", a)
	}
	c := notify.BoxClient(t.TempDir(), &provision.Pack{Box: provision.Box{Hostname: "cafe-anais"}}, "127.0.0.1:9")
	if c.Addr != "127.0.0.1:9" || c.HelloName != "cafe-anais.local" {
		t.Errorf("BoxClient: %+v", c)
	}
}

func TestLivePack(t *testing.T) {
	root := t.TempDir()
	live := notify.LivePack(root)
	if _, err := live(); err == nil {
		t.Error("no pack: no error")
	}
	raw, err := os.ReadFile("../../../docs/examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, provision.PackPath)
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := live()
	if err != nil || p.Box.Hostname != "cafe-anais" || len(notify.Recipients(p)) == 0 {
		t.Fatalf("demo pack: %v, %v", p, err)
	}
}
