package mailtest_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ruche-box/ruche/services/mail/mailtest"
)

const body = "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhello\r\n"

// dial connects a go-smtp client to the sink with short timeouts.
func dial(t *testing.T, s *mailtest.Sink) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.CommandTimeout = 5 * time.Second
	c.SubmissionTimeout = 5 * time.Second
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.localhost"); err != nil {
		t.Fatal(err)
	}
	return c
}

// send runs one transaction and returns the DATA reply's text.
func send(c *smtp.Client, from string, to []string) (string, error) {
	if err := c.Mail(from, nil); err != nil {
		return "", err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestPlainSinkRecords(t *testing.T) {
	s := mailtest.Start(t, mailtest.Options{})
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || s.Port() == 0 || s.Host() != "127.0.0.1" {
		t.Fatalf("Addr %q Host %q Port %d: want a loopback address", s.Addr(), s.Host(), s.Port())
	}
	c := dial(t, s)
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered without Options.Username")
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered without Options.STARTTLS")
	}
	reply, err := send(c, "a@example.org", []string{"b@example.net", "c@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Ok: queued as S000001"; !strings.Contains(reply, want) {
		t.Errorf("DATA reply %q, want it to contain %q", reply, want)
	}
	if _, err := send(c, "", []string{"d@example.net"}); err != nil { // a bounce: null sender
		t.Fatal(err)
	}
	msgs, err := s.WaitFor(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.From != "a@example.org" || !slices.Equal(m.To, []string{"b@example.net", "c@example.com"}) {
		t.Errorf("envelope: got %q -> %v", m.From, m.To)
	}
	if string(m.Data) != body {
		t.Errorf("data: got %q, want %q", m.Data, body)
	}
	if m.TLS || m.AuthUser != "" || m.Helo != "client.localhost" || m.QueueID != "S000001" {
		t.Errorf("got TLS=%v AuthUser=%q Helo=%q QueueID=%q", m.TLS, m.AuthUser, m.Helo, m.QueueID)
	}
	if msgs[1].From != "" || msgs[1].QueueID != "S000002" {
		t.Errorf("second message: From %q QueueID %q", msgs[1].From, msgs[1].QueueID)
	}
	// Messages is a copy: changing it does not change the sink.
	msgs[0].To[0] = "changed"
	if got := s.Messages()[0].To[0]; got != "b@example.net" {
		t.Errorf("Messages shares memory with the sink: %q", got)
	}
}

func TestWaitForTimesOut(t *testing.T) {
	s := mailtest.Start(t, mailtest.Options{})
	start := time.Now()
	msgs, err := s.WaitFor(1, 100*time.Millisecond)
	if err == nil || len(msgs) != 0 {
		t.Fatalf("WaitFor on an empty sink: %d messages, err %v; want 0 and an error", len(msgs), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("WaitFor took %s", d)
	}
}

func TestWaitForWakesUp(t *testing.T) {
	s := mailtest.Start(t, mailtest.Options{})
	c := dial(t, s)
	done := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, err := send(c, "a@example.org", []string{"b@example.net"})
		done <- err
	}()
	if _, err := s.WaitFor(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRecipients(t *testing.T) {
	s := mailtest.Start(t, mailtest.Options{Recipients: []string{"Alice@Example.org"}})
	c := dial(t, s)
	if _, err := send(c, "x@example.net", []string{"bob@example.org"}); smtpCode(err) != 550 {
		t.Errorf("unknown recipient: got %v, want 550", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, "x@example.net", []string{"alice@example.org"}); err != nil {
		t.Errorf("known recipient, other case: %v", err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestAuth(t *testing.T) {
	s := mailtest.Start(t, mailtest.Options{Username: "box@example.org", Password: "s3cret"})

	// Without AUTH, MAIL is refused.
	c := dial(t, s)
	if ok, params := c.Extension("AUTH"); !ok || !strings.Contains(params, "PLAIN") || !strings.Contains(params, "LOGIN") {
		t.Fatalf("AUTH extension: %v %q, want PLAIN and LOGIN", ok, params)
	}
	if _, err := send(c, "a@example.org", []string{"b@example.net"}); smtpCode(err) != 530 {
		t.Errorf("MAIL without AUTH: got %v, want 530", err)
	}

	// Wrong password: 535, and the attempt is recorded.
	c = dial(t, s)
	if err := c.Auth(sasl.NewPlainClient("", "box@example.org", "wrong")); smtpCode(err) != 535 {
		t.Errorf("wrong password: got %v, want 535", err)
	}

	for _, cl := range []sasl.Client{
		sasl.NewPlainClient("", "box@example.org", "s3cret"),
		sasl.NewLoginClient("box@example.org", "s3cret"),
	} {
		c = dial(t, s)
		if err := c.Auth(cl); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
		if _, err := send(c, "a@example.org", []string{"b@example.net"}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[0].AuthUser != "box@example.org" || msgs[1].AuthUser != "box@example.org" {
		t.Errorf("messages: %+v", msgs)
	}
	want := []mailtest.Credentials{
		{Mechanism: "PLAIN", Username: "box@example.org", Password: "wrong", OK: false},
		{Mechanism: "PLAIN", Username: "box@example.org", Password: "s3cret", OK: true},
		{Mechanism: "LOGIN", Username: "box@example.org", Password: "s3cret", OK: true},
	}
	if got := s.AuthAttempts(); !slices.Equal(got, want) {
		t.Errorf("AuthAttempts:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestSTARTTLS(t *testing.T) {
	s := mailtest.Start(t, mailtest.Options{RequireTLS: true, Username: "u", Password: "p"})

	// In clear text: STARTTLS offered, AUTH not yet, MAIL refused.
	c := dial(t, s)
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before TLS")
	}
	if _, err := send(c, "a@example.org", []string{"b@example.net"}); smtpCode(err) != 530 {
		t.Errorf("MAIL before STARTTLS: got %v, want 530", err)
	}

	// A client that trusts CAPEM gets through, by name and by IP.
	for _, name := range []string{s.Hostname(), "127.0.0.1"} {
		cfg := s.ClientTLSConfig()
		cfg.ServerName = name
		c, err := smtp.DialStartTLS(s.Addr(), cfg)
		if err != nil {
			t.Fatalf("STARTTLS as %s: %v", name, err)
		}
		c.CommandTimeout, c.SubmissionTimeout = 5*time.Second, 5*time.Second
		if err := c.Auth(sasl.NewPlainClient("", "u", "p")); err != nil {
			t.Fatal(err)
		}
		if _, err := send(c, "a@example.org", []string{"b@example.net"}); err != nil {
			t.Fatal(err)
		}
		c.Quit()
	}
	msgs := s.Messages()
	if len(msgs) != 2 || !msgs[0].TLS || msgs[0].AuthUser != "u" {
		t.Fatalf("messages: %+v", msgs)
	}

	// A client that trusts only the system's roots refuses the
	// certificate (the handshake happens at the first command after
	// STARTTLS).
	if c, err := smtp.DialStartTLS(s.Addr(), nil); err == nil {
		c.CommandTimeout = 5 * time.Second
		if err := c.Noop(); err == nil {
			t.Error("STARTTLS with the system's roots: accepted a self-signed certificate")
		}
		c.Close()
	}

	// The CA file is PEM, readable by others (Postfix's smtp client).
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := s.WriteCA(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("CA file is not a PEM certificate: %q", raw)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: s.CAPool(), DNSName: "localhost"}); err != nil {
		t.Errorf("certificate does not verify against its own pool: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("CA file mode %o, want 644", fi.Mode().Perm())
	}
}

func TestNoTLSNoCA(t *testing.T) {
	s := mailtest.Start(t, mailtest.Options{})
	if s.CAPEM() != nil || s.CAPool() != nil || s.ClientTLSConfig() != nil {
		t.Error("a sink without STARTTLS has a certificate")
	}
	if err := s.WriteCA(filepath.Join(t.TempDir(), "ca.pem")); err == nil {
		t.Error("WriteCA without STARTTLS: no error")
	}
}

func TestClosesOnCleanup(t *testing.T) {
	var addr string
	t.Run("inner", func(t *testing.T) {
		addr = mailtest.Start(t, mailtest.Options{}).Addr()
	})
	if c, err := smtp.Dial(addr); err == nil {
		c.Close()
		t.Errorf("sink still listening on %s after its test ended", addr)
	}
}
