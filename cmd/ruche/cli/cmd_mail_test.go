package cli_test

import (
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/cmd/ruche/cli"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/mail/mailtest"
)

// liveMailPack writes a live pack under root, as apply would, naming the
// box; domain may be empty.
func liveMailPack(t *testing.T, root, locale, domain string) {
	t.Helper()
	dom := ""
	if domain != "" {
		dom = ", domain: " + domain
	}
	path := filepath.Join(root, provision.PackPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	pack := `apiVersion: ruche/v1
kind: Pack
association: {name: Les Amis du Jardin, slug: amis-jardin, locale: ` + locale + `, contact: contact@amis-jardin.org}
box: {hostname: jardin` + dom + `, timezone: Europe/Paris, tls: "off"}
`
	if err := os.WriteFile(path, []byte(pack), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMailTestCommand(t *testing.T) {
	sink := mailtest.Start(t, mailtest.Options{})
	root := t.TempDir()
	liveMailPack(t, root, "en", "amis-jardin.org")

	// The pack's locale (en) speaks without --lang.
	code, out, errOut := run(t, "", "mail", "test", "--root", root, "--smtp", sink.Addr(), "bob@example.org")
	if code != 0 {
		t.Fatalf("mail test: exit %d, stderr %q", code, errOut)
	}
	want := "test message handed to the box's mail service (" + sink.Addr() + ") for bob@example.org, queue id S000001\n"
	if !strings.HasPrefix(out, want) || !strings.Contains(out, "look for S000001 in Postfix's log") {
		t.Errorf("stdout %q, want it to start with %q", out, want)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "ruche@amis-jardin.org" || len(m.To) != 1 || m.To[0] != "bob@example.org" || m.Helo != "jardin.local" {
		t.Errorf("envelope %q -> %v (EHLO %q)", m.From, m.To, m.Helo)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "Ruche jardin : message d'essai / test message" {
		t.Errorf("subject %q", subject)
	}
	if msg.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Error("no Auto-Submitted header")
	}

	// No domain: the box's LAN name. The address comes from smtp.addr,
	// which `ruche up` writes; --lang wins over the pack.
	liveMailPack(t, root, "en", "")
	addrFile := filepath.Join(root, provision.SMTPAddrFile)
	os.MkdirAll(filepath.Dir(addrFile), 0o755)
	if err := os.WriteFile(addrFile, []byte(sink.Addr()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "", "mail", "test", "--lang", "fr", "--root", root, "bob@example.org")
	if code != 0 || !strings.HasPrefix(out, "message d'essai remis au service de courriel de la boîte ("+sink.Addr()+") pour bob@example.org, file d'attente S000002\n") {
		t.Fatalf("mail test via smtp.addr: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if m := sink.Messages()[1]; m.From != "ruche@jardin.local" {
		t.Errorf("sender without a domain: %q, want ruche@jardin.local", m.From)
	}

	// No live pack at all: French, and the test still goes out.
	bare := t.TempDir()
	code, out, _ = run(t, "", "mail", "test", "--root", bare, "--smtp", sink.Addr(), "bob@example.org")
	if code != 0 || !strings.HasPrefix(out, "message d'essai remis") {
		t.Errorf("without a pack: exit %d, %q", code, out)
	}

	if code, _, _ := run(t, "", "mail", "test", "--root", root); code != cli.ExitUsage {
		t.Errorf("mail test without an address: exit %d, want 2", code)
	}
}

func TestMailTestCommandFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	root := t.TempDir()
	liveMailPack(t, root, "en", "")

	start := time.Now()
	code, out, errOut := run(t, "", "mail", "test", "--root", root, "--smtp", dead, "bob@example.org")
	if code != cli.ExitFailed {
		t.Fatalf("mail test to nobody: exit %d, want 1", code)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	want := "ruche: test message not sent: the box's mail service does not answer on " + dead + " — is `ruche up` running?"
	if !strings.HasPrefix(errOut, want) {
		t.Errorf("stderr %q, want it to start with %q", errOut, want)
	}
	_, _, errOut = run(t, "", "mail", "test", "--lang", "fr", "--root", root, "--smtp", dead, "bob@example.org")
	if !strings.HasPrefix(errOut, "ruche: message d'essai non envoyé : ") && !strings.HasPrefix(errOut, "ruche: message d'essai non envoyé: ") {
		t.Errorf("French stderr %q", errOut)
	}

	// A malformed address is refused before any connection.
	sink := mailtest.Start(t, mailtest.Options{})
	code, _, errOut = run(t, "", "mail", "test", "--lang", "en", "--root", root, "--smtp", sink.Addr(), "not an address")
	if code != cli.ExitFailed || !strings.Contains(errOut, `"not an address" is not an e-mail address`) {
		t.Errorf("bad address: exit %d, %q", code, errOut)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("%d messages for a bad address", n)
	}
}

// TestMailTestThroughPostfix sends the test message through the box's real
// Postfix, found through smtp.addr, to the relay, and finds Postfix's queue
// id in what the relay received.
func TestMailTestThroughPostfix(t *testing.T) {
	b := startMailBox(t, "")
	code, out, errOut := run(t, "", "mail", "test", "--root", b.root, "carol@outside.test")
	if code != 0 {
		t.Fatalf("mail test: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// "... for carol@outside.test, queue id 4Xyz..."
	_, id, ok := strings.Cut(strings.SplitN(out, "\n", 2)[0], "queue id ")
	if !ok || id == "" {
		t.Fatalf("no queue id in %q", out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range b.relay.Messages() {
			if strings.Contains(string(m.Data), "message d'essai / test message") {
				if len(m.To) != 1 || m.To[0] != "carol@outside.test" {
					t.Errorf("relay got it for %v", m.To)
				}
				if !strings.Contains(string(m.Data), " id "+id) {
					t.Errorf("the relay's copy does not carry queue id %s in its Received header:\n%s", id, m.Data)
				}
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the test message never reached the relay; it got %d messages", len(b.relay.Messages()))
}
