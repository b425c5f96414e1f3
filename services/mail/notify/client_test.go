package notify_test

import (
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/mail/mailtest"
	"github.com/ruche-box/ruche/services/mail/notify"
)

// parse reads a received message back as a mail reader would.
func parse(t *testing.T, data []byte) (*mail.Message, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, data)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q, want quoted-printable", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	return msg, string(body)
}

// deadAddr is a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestSendFormat(t *testing.T) {
	sink := mailtest.Start(t, mailtest.Options{})
	c := &notify.Client{Addr: sink.Addr(), From: "Ruche <ruche@cafe-anais.local>", HelloName: "cafe-anais.local"}
	body := "Bonjour,\n\nla sauvegarde vers « usb » a échoué.\n.a line that starts with a dot\nFrom the start\n" +
		strings.Repeat("long ", 40) + "\n= sign, tab\tand trailing space \n"
	before := time.Now().Add(-time.Second)
	id, err := c.Send(t.Context(), notify.Message{
		To:            []string{"alice@example.org", "tech@example.net"},
		Subject:       "Backup failed",
		Body:          body,
		AutoSubmitted: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "S000001" {
		t.Errorf("queue id %q, want S000001 (from the DATA reply)", id)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "ruche@cafe-anais.local" || !slices.Equal(got.To, []string{"alice@example.org", "tech@example.net"}) {
		t.Errorf("envelope %q -> %v", got.From, got.To)
	}
	if got.Helo != "cafe-anais.local" {
		t.Errorf("EHLO %q, want cafe-anais.local", got.Helo)
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(got.Data), "\r\n"), "\r\n") {
		if len(line) > 76 && i > 12 {
			t.Errorf("body line %d is %d long (quoted-printable keeps lines to 76)", i, len(line))
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, line)
		}
	}
	for _, b := range got.Data {
		if b >= 0x80 {
			t.Fatalf("the message has a non-ASCII byte: %q", got.Data)
		}
	}

	msg, gotBody := parse(t, got.Data)
	h := msg.Header
	date, err := h.Date()
	if err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if !regexp.MustCompile(`^<[^<>@\s]+@cafe-anais\.local>$`).MatchString(h.Get("Message-ID")) {
		t.Errorf("Message-ID %q", h.Get("Message-ID"))
	}
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Name != "Ruche" || from.Address != "ruche@cafe-anais.local" {
		t.Errorf("From %q: %v", h.Get("From"), err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "alice@example.org" || to[1].Address != "tech@example.net" {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	if h.Get("Subject") != "Backup failed" {
		t.Errorf("Subject %q", h.Get("Subject"))
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version %q", h.Get("MIME-Version"))
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "text/plain" || strings.ToLower(params["charset"]) != "utf-8" {
		t.Errorf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	if h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted %q", h.Get("Auto-Submitted"))
	}
	if want := strings.ReplaceAll(body, "\n", "\r\n"); gotBody != want {
		t.Errorf("body:\ngot  %q\nwant %q", gotBody, want)
	}
}

func TestSendNonASCIISubject(t *testing.T) {
	sink := mailtest.Start(t, mailtest.Options{})
	c := &notify.Client{Addr: sink.Addr(), From: "ruche@cafe-anais.local"}
	subject := "[Ruche café-anais] Sauvegarde échouée : le disque « usb » est absent depuis hier soir, vérifiez-le"
	if _, err := c.Send(t.Context(), notify.Message{To: []string{"alice@example.org"}, Subject: subject, Body: "é"}); err != nil {
		t.Fatal(err)
	}
	raw := sink.Messages()[0].Data
	msg, body := parse(t, raw)
	dec := new(mime.WordDecoder)
	got, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || got != subject {
		t.Errorf("Subject decodes to %q (%v), want %q", got, err, subject)
	}
	if body != "é\r\n" {
		t.Errorf("body %q", body)
	}
	if msg.Header.Get("Auto-Submitted") != "" {
		t.Error("Auto-Submitted set on a message that did not ask for it")
	}
	// The encoded subject is folded, not one endless line.
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d bytes", len(line))
		}
	}
}

func TestSendSubjectCannotAddHeaders(t *testing.T) {
	sink := mailtest.Start(t, mailtest.Options{})
	c := &notify.Client{Addr: sink.Addr(), From: "ruche@box.local"}
	if _, err := c.Send(t.Context(), notify.Message{To: []string{"a@example.org"}, Subject: "hi\r\nBcc: evil@example.com\nX: y"}); err != nil {
		t.Fatal(err)
	}
	msg, _ := parse(t, sink.Messages()[0].Data)
	if msg.Header.Get("Bcc") != "" || msg.Header.Get("X") != "" {
		t.Errorf("a subject added headers: %v", msg.Header)
	}
	if got := msg.Header.Get("Subject"); got != "hi Bcc: evil@example.com X: y" {
		t.Errorf("Subject %q", got)
	}
}

func TestSendEmptyHostIsLoopback(t *testing.T) {
	sink := mailtest.Start(t, mailtest.Options{})
	_, port, _ := net.SplitHostPort(sink.Addr())
	if got := notify.ServerAddr(":" + port); got != "127.0.0.1:"+port {
		t.Errorf("ServerAddr(:%s) = %q", port, got)
	}
	if got := notify.ServerAddr("[::1]:25"); got != "[::1]:25" {
		t.Errorf("ServerAddr([::1]:25) = %q", got)
	}
	c := &notify.Client{Addr: ":" + port, From: "ruche@box.local"}
	if _, err := c.Send(t.Context(), notify.Message{To: []string{"a@example.org"}, Subject: "s"}); err != nil {
		t.Fatal(err)
	}
}

func TestSendIDNDomain(t *testing.T) {
	sink := mailtest.Start(t, mailtest.Options{})
	c := &notify.Client{Addr: sink.Addr(), From: "ruche@box.local"}
	if _, err := c.Send(t.Context(), notify.Message{To: []string{"contact@café-anais.fr"}, Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	if got := sink.Messages()[0].To; !slices.Equal(got, []string{"contact@xn--caf-anais-d4a.fr"}) {
		t.Errorf("envelope recipient %v, want the domain in punycode", got)
	}
}

func TestSendServerDown(t *testing.T) {
	addr := deadAddr(t)
	c := &notify.Client{Addr: addr, From: "ruche@box.local"}
	start := time.Now()
	id, err := c.Send(t.Context(), notify.Message{To: []string{"a@example.org"}, Subject: "s"})
	if err == nil || id != "" {
		t.Fatalf("send to nobody: id %q, err %v", id, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	en := i18n.Localize(err, i18n.EN)
	if want := "the box's mail service does not answer on " + addr + " — is `ruche up` running?"; !strings.HasPrefix(en, want) {
		t.Errorf("English: %q, want it to start with %q", en, want)
	}
	if fr := i18n.Localize(err, i18n.FR); !strings.HasPrefix(fr, "le service de courriel de la boîte ne répond pas sur "+addr) {
		t.Errorf("French: %q", fr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("the cause is lost: errors.Is(%v, ECONNREFUSED) is false", err)
	}
}

func TestSendSilentServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and say nothing
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := &notify.Client{Addr: l.Addr().String(), From: "ruche@box.local", Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err = c.Send(t.Context(), notify.Message{To: []string{"a@example.org"}, Subject: "s"})
	if err == nil {
		t.Fatal("no error from a server that never greets")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s, want about the 300ms timeout", d)
	}
	if en := i18n.Localize(err, i18n.EN); !strings.Contains(en, "did not answer in time") {
		t.Errorf("error %q", en)
	}
}

func TestSendRefused(t *testing.T) {
	sink := mailtest.Start(t, mailtest.Options{Recipients: []string{"alice@example.org"}})
	c := &notify.Client{Addr: sink.Addr(), From: "ruche@box.local"}
	_, err := c.Send(t.Context(), notify.Message{To: []string{"alice@example.org", "nobody@example.org"}, Subject: "s"})
	if err == nil {
		t.Fatal("no error for a refused recipient")
	}
	en := i18n.Localize(err, i18n.EN)
	if !strings.Contains(en, "refused the recipient nobody@example.org: 550 5.1.1") {
		t.Errorf("error %q", en)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("%d messages went through a failed transaction", n)
	}

	// A server that wants authentication refuses MAIL.
	auth := mailtest.Start(t, mailtest.Options{Username: "u", Password: "p"})
	c.Addr = auth.Addr()
	_, err = c.Send(t.Context(), notify.Message{To: []string{"a@example.org"}, Subject: "s"})
	if en := i18n.Localize(err, i18n.EN); !strings.Contains(en, "refused the message: 530 5.7.0") {
		t.Errorf("error %q", en)
	}
}

func TestSendBadInput(t *testing.T) {
	c := &notify.Client{Addr: deadAddr(t), From: "ruche@box.local"}
	for _, m := range []notify.Message{
		{Subject: "no recipient"},
		{To: []string{"not an address"}},
		{To: []string{"Alice <alice@example.org>"}}, // a bare address is wanted
	} {
		_, err := c.Send(t.Context(), m)
		var ie *i18n.Error
		if !errors.As(err, &ie) || strings.Contains(err.Error(), "ne répond pas") {
			t.Errorf("%+v: got %v, want a bilingual error before dialling", m, err)
		}
	}
	bad := &notify.Client{Addr: deadAddr(t), From: "nobody"}
	if _, err := bad.Send(t.Context(), notify.Message{To: []string{"a@example.org"}}); err == nil {
		t.Error("bad From: no error")
	}
}
