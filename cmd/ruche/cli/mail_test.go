package cli_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ruche-box/ruche/backup/backuptest"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/mail"
	"github.com/ruche-box/ruche/services/mail/mailtest"
	"github.com/ruche-box/ruche/services/wiki"
)

// needMail skips without Postfix and postsrsd, except in CI where a
// missing component fails the test.
func needMail(t *testing.T) {
	t.Helper()
	for _, f := range []string{mail.Postfix, mail.Postmap, mail.PostSRSd} {
		if _, err := os.Stat(f); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (apt-get install postfix postsrsd): %v", f, err)
			}
			t.Skipf("%s is missing (apt-get install postfix postsrsd)", f)
		}
	}
}

// mailPack is a pack whose mail goes out through the test's relay sink.
// extra aliases are appended to the fixed ones, top to the pack.
func mailPack(relayPort int, extra, top string) string {
	return fmt.Sprintf(`apiVersion: ruche/v1
kind: Pack
association: {name: Les Amis du Jardin, slug: amis-jardin, locale: en, contact: contact@amis-jardin.org}
box: {hostname: jardin, tls: "off"}
panel:
  users:
    - {login: alice, role: admin, email: alice@members.test}
    - {login: bob, role: member, email: bob@members.test}
mail:
  domains: [amis-jardin.org]
  relay: {host: 127.0.0.1, port: %d, username: box@amis-jardin.org, password_secret: smtp-relay}
  aliases:
    # contact reaches alice (a panel login) and the bureau alias.
    - {address: contact@amis-jardin.org, to: [alice, bureau@amis-jardin.org]}
    - {address: bureau@amis-jardin.org, to: [bob, carol@outside.test]}
    - {address: soak@amis-jardin.org, to: [soak@outside.test]}
%s%s`, relayPort, extra, top)
}

// mailBox is a running `ruche up` with mail, and the relay it sends to.
type mailBox struct {
	root, pack, smtp, http string
	relay                  *mailtest.Sink
	out                    syncBuffer
	cmd                    *exec.Cmd
	exited                 chan error
}

// postfixRunning says whether a Postfix master runs for root's instance.
func postfixRunning(root string) bool {
	return exec.Command(mail.Postfix, "-c", filepath.Join(root, mail.ConfDir), "status").Run() == nil
}

// processesOf lists the live processes named name whose command line
// mentions root.
func processesOf(root, name string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			continue // gone, or a zombie waiting for its reaper
		}
		cmdline, _ := os.ReadFile(d + "/cmdline")
		if strings.Contains(string(cmdline), name) && strings.Contains(string(cmdline), root) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			pids = append(pids, pid)
		}
	}
	return pids
}

// startMailBox runs `ruche up` on mailPack; top is added to the pack.
func startMailBox(t *testing.T, top string) *mailBox {
	t.Helper()
	needMail(t)
	b := &mailBox{root: boxRoot(t), smtp: freePort(t)}
	b.relay = mailtest.Start(t, mailtest.Options{RequireTLS: true, Username: "box@amis-jardin.org", Password: "relay pass wörd"})
	secrets := filepath.Join(b.root, provision.SecretsDir)
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "smtp-relay"), []byte("relay pass wörd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "restic"), []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.pack = writePack(t, t.TempDir(), "pack.yaml", mailPack(b.relay.Port(), "", top))
	b.http = freePort(t)
	t.Cleanup(func() {
		// Postfix's master leaves the supervisor's process group: a clean
		// stop must still stop it.
		b.stop()
		if postfixRunning(b.root) {
			t.Error("Postfix still runs after ruche up stopped")
			exec.Command(mail.Postfix, "-c", filepath.Join(b.root, mail.ConfDir), "abort").Run()
		}
		eventually(t, 5*time.Second, "postsrsd still runs after ruche up stopped", func() bool {
			return len(processesOf(b.root, "postsrsd")) == 0
		})
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(b.root, provision.LogDir, "postfix.log"))
			t.Logf("ruche up:\n%s\npostfix.log:\n%s", b.out.String(), log)
		}
	})
	b.start(t)
	return b
}

// start runs `ruche up` and waits until Postfix greets.
func (b *mailBox) start(t *testing.T) {
	t.Helper()
	b.cmd = exec.Command(rucheBin, "up", "--lang", "en", "--root", b.root, "--http", b.http, "--https", freePort(t), "--smtp", b.smtp, b.pack)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.exited = make(chan error, 1)
	go func() { b.exited <- b.cmd.Wait() }()
	eventually(t, 60*time.Second, "Postfix never greeted on "+b.smtp, func() bool {
		c, err := net.DialTimeout("tcp", b.smtp, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "220 ")
	})
}

// stop stops `ruche up` with SIGINT, as Ctrl+C does, if it still runs.
func (b *mailBox) stop() {
	if b.cmd == nil || b.cmd.ProcessState != nil {
		return
	}
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.exited:
	case <-time.After(30 * time.Second):
		b.cmd.Process.Kill()
		<-b.exited
	}
}

// send hands one message to the box's Postfix from local, the client's
// address (127.0.0.1 is the box itself; 127.0.0.2 stands for a visitor's
// phone or the Internet). It returns the SMTP error, if any.
func send(t *testing.T, addr, local, from string, to []string, subject string) error {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, err := smtp.NewClient(conn, "client.test")
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@client.test>\r\n\r\nHello.\r\n", from, strings.Join(to, ", "), subject, strings.ReplaceAll(subject, " ", "."))
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// delivered is who received the messages whose subject is subject, one
// entry per delivery.
func delivered(msgs []mailtest.Message, subject string) []string {
	var to []string
	for _, m := range msgs {
		if strings.Contains(string(m.Data), "Subject: "+subject+"\r\n") {
			to = append(to, m.To...)
		}
	}
	slices.Sort(to)
	return to
}

func waitDelivered(t *testing.T, relay *mailtest.Sink, subject string, want []string) {
	t.Helper()
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got = delivered(relay.Messages(), subject); len(got) >= len(want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%q delivered to %v, want %v", subject, got, want)
	}
}

func TestMailAliasesRelayAndRefusals(t *testing.T) {
	b := startMailBox(t, "")

	// An alias expands fully, through the alias it names and a login.
	if err := send(t, b.smtp, "127.0.0.2", "someone@elsewhere.test", []string{"contact@amis-jardin.org"}, "hello contact"); err != nil {
		t.Fatalf("mail to an alias from outside: %v", err)
	}
	waitDelivered(t, b.relay, "hello contact", []string{"alice@members.test", "bob@members.test", "carol@outside.test"})

	msgs := b.relay.Messages()
	if len(msgs) == 0 {
		t.Fatal("nothing reached the relay")
	}
	m := msgs[0]
	// The relay got the credentials from the secret file, over TLS.
	if !m.TLS || m.AuthUser != "box@amis-jardin.org" {
		t.Errorf("relay session: TLS %v, authenticated as %q; want TLS and box@amis-jardin.org", m.TLS, m.AuthUser)
	}
	if a := b.relay.AuthAttempts(); len(a) == 0 || !a[0].OK || a[0].Password != "relay pass wörd" {
		t.Errorf("credentials presented to the relay: %+v", a)
	}
	// Forwarded mail leaves with an SRS sender of the box's domain, so
	// that the members' providers do not reject it on SPF.
	if !strings.HasPrefix(strings.ToUpper(m.From), "SRS0") || !strings.HasSuffix(m.From, "@amis-jardin.org") {
		t.Errorf("envelope sender of forwarded mail is %q, want SRS0…@amis-jardin.org", m.From)
	}

	// Unknown address of the box's domain: 550 at RCPT.
	err := send(t, b.smtp, "127.0.0.2", "someone@elsewhere.test", []string{"nobody@amis-jardin.org"}, "to nobody")
	if err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Errorf("mail to an unknown address: %v, want 550", err)
	}
	// Not an open relay: an outside client cannot send elsewhere.
	err = send(t, b.smtp, "127.0.0.2", "spammer@elsewhere.test", []string{"victim@faraway.test"}, "spam")
	if err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Errorf("relaying for an outside client: %v, want 550", err)
	}
	// The box itself (loopback) sends anywhere, through the relay.
	if err := send(t, b.smtp, "127.0.0.1", "ruche@jardin.local", []string{"admin@faraway.test"}, "alert"); err != nil {
		t.Errorf("mail from the box itself: %v", err)
	}
	waitDelivered(t, b.relay, "alert", []string{"admin@faraway.test"})
	// A box without box.domain sends as the relay's account: no relay
	// takes a sender under .local.
	for _, m := range b.relay.Messages() {
		if strings.Contains(string(m.Data), "Subject: alert\r\n") && m.From != "box@amis-jardin.org" {
			t.Errorf("the box's own mail reached the relay from %q, want box@amis-jardin.org", m.From)
		}
	}

	// Nothing of the relay's password in what Ruche rendered or logged.
	err = filepath.Walk(b.root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.Contains(path, provision.SecretsDir) || strings.Contains(path, "sasl_passwd") || strings.Contains(path, "postfix-ruche") || strings.HasSuffix(path, ".db") {
			return nil
		}
		raw, _ := os.ReadFile(path)
		if strings.Contains(string(raw), "relay pass wörd") {
			t.Errorf("the relay's password is in %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.out.String(), "relay pass wörd") {
		t.Error("the relay's password is in ruche up's output")
	}
	sasl := filepath.Join(b.root, mail.ConfDir, "sasl_passwd")
	if fi, err := os.Stat(sasl); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, mode %v; want 0600", sasl, err, fi.Mode().Perm())
	}

	// A configuration that `postfix check` refuses is not installed: the
	// running one stays and mail still flows.
	staged := filepath.Join(b.root, mail.StageDir, "main.cf")
	live := filepath.Join(b.root, mail.ConfDir, "main.cf")
	before, _ := os.ReadFile(live)
	f, err := os.OpenFile(staged, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "mail_owner = no-such-user")
	f.Close()
	out, err := exec.Command("/bin/sh", filepath.Join(b.root, mail.StageDir, "activate.sh"), "reload").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the running one stays") {
		t.Errorf("activation of a bad configuration: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(live); string(after) != string(before) {
		t.Error("a configuration refused by postfix check was installed")
	}
	if err := send(t, b.smtp, "127.0.0.2", "someone@elsewhere.test", []string{"bureau@amis-jardin.org"}, "after bad check"); err != nil {
		t.Errorf("mail after a refused configuration: %v", err)
	}
	waitDelivered(t, b.relay, "after bad check", []string{"bob@members.test", "carol@outside.test"})
}

// While 200 messages are sent in a bounded loop, the aliases are changed
// and applied 5 times: every message is delivered, none twice, and Postfix
// is reloaded, never restarted.
func TestMailNoLossWhileAliasesChange(t *testing.T) {
	b := startMailBox(t, "")
	pidOf := func() string {
		raw, _ := os.ReadFile(filepath.Join(b.root, mail.QueueDir, "pid", "master.pid"))
		return strings.TrimSpace(string(raw))
	}
	masterPID := pidOf()

	const total = 200
	var sent atomic.Int32
	var wg sync.WaitGroup
	sendErrs := make(chan error, total)
	lastApply := make(chan struct{})
	wg.Go(func() {
		for i := range total {
			// The last messages wait for the last apply to start, and go
			// slower, so that every apply happens while mail flows,
			// however fast either side runs.
			pace := 40 * time.Millisecond
			if i >= total-10 {
				select {
				case <-lastApply:
				case <-time.After(2 * time.Minute):
				}
				pace = 200 * time.Millisecond
			}
			subject := fmt.Sprintf("soak %03d", i)
			// A refused or cut transaction is retried, as any mail server
			// would; what was accepted must arrive once.
			var err error
			for try := 0; try < 5; try++ {
				if err = send(t, b.smtp, "127.0.0.2", "sender@elsewhere.test", []string{"soak@amis-jardin.org"}, subject); err == nil {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err != nil {
				sendErrs <- fmt.Errorf("%s: %w", subject, err)
			}
			sent.Add(1)
			time.Sleep(pace)
		}
	})
	applied := 0
	for n := 1; n <= 5; n++ {
		extra := ""
		for k := 1; k <= n; k++ {
			extra += fmt.Sprintf("    - {address: news%d@amis-jardin.org, to: [alice, news%d@outside.test]}\n", k, k)
		}
		pack := writePack(t, t.TempDir(), "pack.yaml", mailPack(b.relay.Port(), extra, ""))
		before := sent.Load()
		if n == 5 {
			close(lastApply)
		}
		start := time.Now()
		out, err := exec.Command(rucheBin, "apply", "--lang", "en", "--root", b.root, pack).CombinedOutput()
		if err != nil {
			t.Fatalf("apply %d: %v\n%s", n, err, out)
		}
		t.Logf("apply %d (alias table changed, Postfix reloaded) took %v", n, time.Since(start).Round(time.Millisecond))
		// The test means something only if mail was flowing meanwhile.
		if after := sent.Load(); after == before {
			t.Errorf("apply %d ran while messages %d..%d of %d were sent: not during the loop", n, before, after, total)
		}
		if !strings.Contains(string(out), "etc/ruche/mail/virtual") {
			t.Errorf("apply %d did not change the alias table:\n%s", n, out)
		}
		applied++
		// The new alias answers at once.
		if err := send(t, b.smtp, "127.0.0.2", "x@elsewhere.test", []string{fmt.Sprintf("news%d@amis-jardin.org", n)}, fmt.Sprintf("news %d", n)); err != nil {
			t.Errorf("new alias news%d after apply: %v", n, err)
		}
	}
	wg.Wait()
	close(sendErrs)
	for err := range sendErrs {
		t.Errorf("not accepted after 5 tries: %v", err)
	}

	deadline := time.Now().Add(60 * time.Second)
	count := map[string]int{}
	for time.Now().Before(deadline) {
		clear(count)
		for _, m := range b.relay.Messages() {
			for _, line := range strings.Split(string(m.Data), "\r\n") {
				if s, ok := strings.CutPrefix(line, "Subject: soak "); ok {
					count[s] += len(m.To)
				}
			}
		}
		if len(count) >= total {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(count) != total {
		t.Errorf("%d of %d messages delivered", len(count), total)
	}
	for s, n := range count {
		if n != 1 {
			t.Errorf("message soak %s delivered %d times", s, n)
		}
	}
	for n := 1; n <= applied; n++ {
		waitDelivered(t, b.relay, fmt.Sprintf("news %d", n), []string{"alice@members.test", fmt.Sprintf("news%d@outside.test", n)})
	}
	if pid := pidOf(); pid == "" || pid != masterPID {
		t.Errorf("Postfix's master changed from pid %s to %s: it was restarted, not reloaded", masterPID, pid)
	}
	if log, _ := os.ReadFile(filepath.Join(b.root, provision.LogDir, "postfix.log")); strings.Count(string(log), "reload -- version") < applied {
		t.Errorf("Postfix logged %d reloads, want %d", strings.Count(string(log), "reload -- version"), applied)
	}
}

// DokuWiki's mail goes through the box's Postfix: a member subscribes to a
// page, an admin edits it, and the member gets the change by mail.
func TestWikiMailSubscription(t *testing.T) {
	needWiki(t)
	b := startMailBox(t, "wiki: {enabled: true, title: Wiki du Jardin, public_read: true, editors: [admin, member]}\n")
	for login, pw := range map[string]string{"alice": "alice-password", "bob": "bob-password"} {
		passwd := exec.Command(rucheBin, "user", "passwd", login, "--lang", "en", "--root", b.root)
		passwd.Stdin = strings.NewReader(pw + "\n")
		if out, err := passwd.CombinedOutput(); err != nil {
			t.Fatalf("user passwd %s: %v\n%s", login, err, out)
		}
	}
	anon := wikiClient(t, b.http)
	eventually(t, 60*time.Second, "the wiki never answered", func() bool {
		code, page := wikiFetch(t, anon, http.MethodGet, "/", nil)
		return code == 200 && strings.Contains(page, "Wiki du Jardin")
	})
	eventually(t, 10*time.Second, "the accounts never reached the wiki", func() bool {
		raw, _ := os.ReadFile(filepath.Join(b.root, wiki.ConfDir, "users.auth.php"))
		return strings.Contains(string(raw), "\nbob:$2") && strings.Contains(string(raw), "\nalice:$2")
	})

	// Bob subscribes to the page "planning".
	bob := wikiClient(t, b.http)
	login(t, bob, "bob", "bob-password")
	code, page := wikiFetch(t, bob, http.MethodGet, "/planning?do=subscribe", nil)
	if code != 200 || !strings.Contains(page, "sub_target") {
		t.Fatalf("subscription form: %d", code)
	}
	wikiFetch(t, bob, http.MethodPost, "/doku.php", url.Values{
		"id": {"planning"}, "do": {"subscribe"}, "sub_target": {"planning"}, "sub_style": {"every"},
		"sub_action": {"subscribe"}, "sectok": {formValue(page, "sectok")},
	})
	subs, err := os.ReadFile(filepath.Join(b.root, wiki.DataDir, "meta", "planning.mlist"))
	if err != nil || !strings.Contains(string(subs), "bob every") {
		t.Fatalf("bob's subscription on disk: %q, %v", subs, err)
	}

	// Alice edits the page.
	alice := wikiClient(t, b.http)
	login(t, alice, "alice", "alice-password")
	_, form := wikiFetch(t, alice, http.MethodGet, "/planning?do=edit", nil)
	wikiFetch(t, alice, http.MethodPost, "/doku.php", url.Values{
		"id": {"planning"}, "do[save]": {"1"}, "wikitext": {"Permanence le samedi"}, "summary": {"planning"},
		"sectok": {formValue(form, "sectok")}, "changecheck": {formValue(form, "changecheck")},
		"date": {formValue(form, "date")}, "prefix": {formValue(form, "prefix")}, "suffix": {formValue(form, "suffix")},
		"target": {formValue(form, "target")},
	})

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range b.relay.Messages() {
			if slices.Contains(m.To, "bob@members.test") && strings.Contains(string(m.Data), "planning") {
				t.Logf("bob got the change by mail from %s", m.From)
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(b.root, provision.LogDir, "php-fpm.log"))
	t.Fatalf("no mail reached bob about the change; relay got %d messages; php-fpm log:\n%s", len(b.relay.Messages()), log)
}

// A ruche killed with SIGKILL leaves Postfix's master running (it is in a
// session of its own); the next `ruche up` on the same root stops it and
// starts its own, and mail flows.
func TestMailAfterKill9(t *testing.T) {
	b := startMailBox(t, "")
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-b.exited
	if !postfixRunning(b.root) {
		t.Log("Postfix's master went with ruche (nothing left over)")
	}
	b.start(t)
	if err := send(t, b.smtp, "127.0.0.2", "someone@elsewhere.test", []string{"soak@amis-jardin.org"}, "after kill"); err != nil {
		t.Fatalf("mail after a restart: %v", err)
	}
	waitDelivered(t, b.relay, "after kill", []string{"soak@outside.test"})
}

// A failed backup and a missing backup disk are mailed to the admins, once
// per problem: a second failed run sends nothing new.
func TestBackupFailureAlerts(t *testing.T) {
	restic := backuptest.Restic(t)
	port := backuptest.ClosedPort(t)
	b := startMailBox(t, fmt.Sprintf(`backup:
  keep: {daily: 7}
  password_secret: restic
  targets:
    - {name: support, repository: "rest:http://127.0.0.1:%d/cafe"}
    - {name: usb, repository: /media/ruche-backup/restic, removable: true}
`, port))
	os.MkdirAll(filepath.Join(b.root, "media/ruche-backup"), 0o755)
	alerts := func() []string {
		var subjects []string
		for _, m := range b.relay.Messages() {
			for _, line := range strings.Split(string(m.Data), "\r\n") {
				if s, ok := strings.CutPrefix(line, "Subject: "); ok && strings.Contains(s, "backup") && slices.Contains(m.To, "alice@members.test") {
					subjects = append(subjects, s)
				}
			}
		}
		slices.Sort(subjects)
		return subjects
	}
	for attempt := 1; attempt <= 2; attempt++ {
		code, out, errOut := run(t, "", "backup", "now", "--root", b.root, "--restic", restic, "--lang", "en")
		if code != 1 {
			t.Fatalf("backup run %d: exit %d, want 1\n%s%s", attempt, code, out, errOut)
		}
		if attempt == 1 {
			eventually(t, 30*time.Second, "the alerts never reached the admin", func() bool { return len(alerts()) >= 2 })
		} else {
			time.Sleep(3 * time.Second)
		}
	}
	// The daemon's metrics read the backups' state.
	code, body, err := get(b.http, "panel.localhost", "/metrics")
	if err != nil || code != 200 || !strings.Contains(body, `ruche_backup_last_ok{status="failed",target="support"} 0`) ||
		!strings.Contains(body, `ruche_backup_last_ok{status="missing",target="usb"} 0`) {
		t.Errorf("/metrics: %d %v; no ruche_backup_last_ok for both targets", code, err)
	}
	got := alerts()
	if len(got) != 2 || !strings.Contains(got[0], `the backup disk "usb" is not plugged in`) || !strings.Contains(got[1], `the backup to "support" failed`) {
		t.Errorf("alerts mailed to the admin after two failed runs: %q, want one for each problem", got)
	}
}
