// Package mailtest is a loopback SMTP sink for tests: it stands in for the
// relay the box's Postfix sends through, or for a recipient's mailbox, and
// records every message it accepts.
//
// It is a real SMTP server (github.com/emersion/go-smtp) on 127.0.0.1, so
// that Postfix, the notifier and anything else that speaks SMTP can be
// tested against it without a network:
//
//	sink := mailtest.Start(t, mailtest.Options{STARTTLS: true, Username: "box", Password: "s3cret"})
//	// point the client at sink.Addr(), trust sink.CAPEM() ...
//	msgs, err := sink.WaitFor(1, 10*time.Second)
//
// Each accepted message gets a queue id in its DATA reply, as Postfix gives
// one ("250 2.0.0 Ok: queued as S000001"), so that clients which report
// queue ids can be checked. The sink closes itself when the test ends.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options say what kind of server the sink is. The zero value is the most
// lenient one: plain text, no authentication, any recipient.
type Options struct {
	// STARTTLS offers STARTTLS with a self-signed certificate made in
	// memory for Hostname, localhost and 127.0.0.1 (see CAPEM, WriteCA).
	STARTTLS bool
	// RequireTLS refuses MAIL before STARTTLS (530), as a relay that
	// insists on encryption does. It implies STARTTLS.
	RequireTLS bool
	// Username and Password, when Username is set, make AUTH PLAIN or
	// LOGIN mandatory before MAIL (530 otherwise); wrong credentials get
	// 535. With STARTTLS, AUTH is only offered once TLS is on, as real
	// relays do; without it, AUTH is offered in plain text.
	Username, Password string
	// Recipients, when set, are the only addresses accepted (compared
	// without regard to case); others get 550 5.1.1, as a mailbox server
	// answers for an unknown user. Empty accepts any recipient, as a relay
	// does.
	Recipients []string
	// Hostname is the name the sink greets with and its certificate
	// carries; "sink.localhost" when empty.
	Hostname string
}

// Message is one message the sink accepted.
type Message struct {
	From     string   // envelope sender (MAIL FROM), "" for a bounce
	To       []string // envelope recipients (RCPT TO), in order
	Data     []byte   // the message as received, headers and body, CRLF line ends
	TLS      bool     // whether the session was under TLS
	AuthUser string   // who authenticated, "" when nobody did
	Helo     string   // the name the client gave in EHLO/HELO
	QueueID  string   // the id given in the DATA reply
	Received time.Time
}

// Credentials is one AUTH attempt the sink saw, right or wrong.
type Credentials struct {
	Mechanism string // PLAIN or LOGIN
	Username  string
	Password  string
	OK        bool // whether they matched Options
}

// Sink is a running SMTP sink.
type Sink struct {
	opts   Options
	addr   string
	server *smtp.Server
	caPEM  []byte
	pool   *x509.CertPool
	tb     testing.TB

	mu       sync.Mutex
	messages []Message
	auths    []Credentials
	changed  chan struct{} // closed and replaced when a message arrives
	closed   bool
	nextID   int
}

// Start listens on a free loopback port and serves until the test ends.
// It fails the test when it cannot start.
func Start(t testing.TB, opts Options) *Sink {
	t.Helper()
	if opts.RequireTLS {
		opts.STARTTLS = true
	}
	if opts.Hostname == "" {
		opts.Hostname = "sink.localhost"
	}
	s := &Sink{opts: opts, tb: t, changed: make(chan struct{})}

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = opts.Hostname
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ErrorLog = log.New(sinkLog{s}, "", 0)
	// Real relays refuse AUTH in clear text when they offer TLS; a sink
	// without TLS must allow it, or AUTH could never be tested there.
	srv.AllowInsecureAuth = !opts.STARTTLS
	if opts.STARTTLS {
		cert, caPEM, err := selfSigned(opts.Hostname)
		if err != nil {
			t.Fatalf("mailtest: certificate: %v", err)
		}
		s.caPEM = caPEM
		s.pool = x509.NewCertPool()
		s.pool.AppendCertsFromPEM(caPEM)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.server = srv

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true // no more logging into a finished test
		s.mu.Unlock()
		srv.Close()
		// Serve registers the listener only once its goroutine runs: a
		// test that ends at once would leave it accepting forever.
		l.Close()
		<-served
	})
	return s
}

// sinkLog sends go-smtp's error log to the test's log while the test runs.
type sinkLog struct{ s *Sink }

func (w sinkLog) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if !w.s.closed {
		w.s.tb.Logf("mailtest %s: %s", w.s.addr, strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// Addr is the sink's address, "127.0.0.1:PORT".
func (s *Sink) Addr() string { return s.addr }

// Host is the sink's IP address, "127.0.0.1".
func (s *Sink) Host() string {
	h, _, _ := net.SplitHostPort(s.addr)
	return h
}

// Port is the sink's TCP port.
func (s *Sink) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Hostname is the name the sink greets with, and its certificate's name.
func (s *Sink) Hostname() string { return s.opts.Hostname }

// CAPEM is the sink's certificate in PEM; it is self-signed, so it is also
// the authority a client must trust. Nil without STARTTLS.
func (s *Sink) CAPEM() []byte { return slices.Clone(s.caPEM) }

// CAPool is a pool holding the sink's certificate. Nil without STARTTLS.
func (s *Sink) CAPool() *x509.CertPool { return s.pool }

// ClientTLSConfig is a TLS configuration that trusts the sink, for
// go-smtp's client and the like. Nil without STARTTLS.
func (s *Sink) ClientTLSConfig() *tls.Config {
	if s.pool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.pool, ServerName: s.opts.Hostname, MinVersion: tls.VersionTLS12}
}

// WriteCA writes the sink's certificate in PEM to path, mode 0644, for a
// program that reads its trusted authorities from a file (Postfix's
// smtp_tls_CAfile). The file must be readable by whoever reads it: Postfix's
// smtp client runs unprivileged, and t.TempDir() is 0700.
func (s *Sink) WriteCA(path string) error {
	if s.caPEM == nil {
		return errors.New("mailtest: the sink has no certificate (Options.STARTTLS is off)")
	}
	if err := os.WriteFile(path, s.caPEM, 0o644); err != nil {
		return err
	}
	return os.Chmod(path, 0o644) // whatever the umask
}

// Messages returns a copy of the messages accepted so far, in order.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneMessages(s.messages)
}

// AuthAttempts returns every AUTH attempt seen so far, in order.
func (s *Sink) AuthAttempts() []Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auths)
}

// WaitFor waits until the sink holds at least n messages and returns them
// all, or returns those it has and an error after timeout. Postfix delivers
// asynchronously: tests wait, they do not sleep.
func (s *Sink) WaitFor(n int, timeout time.Duration) ([]Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.messages), s.changed
		if got >= n {
			msgs := cloneMessages(s.messages)
			s.mu.Unlock()
			return msgs, nil
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			msgs := s.Messages()
			return msgs, fmt.Errorf("mailtest %s: %d message(s) after %s, want %d", s.addr, len(msgs), timeout, n)
		}
	}
}

func cloneMessages(in []Message) []Message {
	out := make([]Message, len(in))
	for i, m := range in {
		m.To = slices.Clone(m.To)
		m.Data = bytes.Clone(m.Data)
		out[i] = m
	}
	return out
}

// SMTP replies the sink gives, worded as Postfix and common relays word them.
var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errTLSRequired  = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errNoMailbox    = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Recipient address rejected: User unknown"}
)

// session is one SMTP session; go-smtp makes a new one after STARTTLS.
type session struct {
	s        *Sink
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

func (ss *session) tls() bool {
	_, ok := ss.conn.TLSConnectionState()
	return ok
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		ok := user == ss.s.opts.Username && pass == ss.s.opts.Password
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, Credentials{Mechanism: mech, Username: user, Password: pass, OK: ok})
		ss.s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed // 535 5.7.8
		}
		ss.authUser = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.RequireTLS && !ss.tls() {
		return errTLSRequired
	}
	if ss.s.opts.Username != "" && ss.authUser == "" {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if len(ss.s.opts.Recipients) > 0 && !slices.ContainsFunc(ss.s.opts.Recipients, func(r string) bool {
		return strings.EqualFold(r, to)
	}) {
		return errNoMailbox
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	s.nextID++
	m := Message{
		From:     ss.from,
		To:       slices.Clone(ss.to),
		Data:     data,
		TLS:      ss.tls(),
		AuthUser: ss.authUser,
		Helo:     ss.conn.Hostname(),
		QueueID:  fmt.Sprintf("S%06d", s.nextID),
		Received: time.Now(),
	}
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
	if !s.closed {
		s.tb.Logf("mailtest %s: queued %s from <%s> to %v (%d bytes, tls=%v, auth=%q)", s.addr, m.QueueID, m.From, m.To, len(m.Data), m.TLS, m.AuthUser)
	}
	s.mu.Unlock()
	// go-smtp answers a nil error with a fixed "OK: queued"; a reply with
	// code 250 is written as given, which lets the sink name its queue id
	// the way Postfix does.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + m.QueueID}
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl only has as a
// client: obsolete, but some relays and Postfix's SASL client still use it.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil { // no initial response: ask for the user name
			return []byte("Username:"), false, nil
		}
		l.user = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 1:
		l.user = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

// selfSigned makes an ECDSA key and a self-signed certificate for name,
// localhost and 127.0.0.1, valid for a day, that is its own authority (so
// that a client, Go's or OpenSSL's, can trust it as a CA file).
func selfSigned(name string) (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Ruche mailtest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              dedup([]string{name, "localhost"}),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, certPEM, nil
}

func dedup(names []string) []string {
	slices.Sort(names)
	return slices.Compact(names)
}
