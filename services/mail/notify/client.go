// Package notify is how Ruche writes to people: an SMTP client for the box's
// own Postfix (Client), and alerts to admins and technicians, once per
// problem (Alerter).
//
// It speaks SMTP to Postfix on its loopback port rather than running the
// sendmail binary, so that it works under any --root, as any user, and
// reports Postfix's queue id: "handed to the mail service as 4Xyz" is what
// a technician looks for in the mail log. Postfix then relays, retries and
// bounces as it does for any mail.
package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/idna"

	"github.com/ruche-box/ruche/provision/i18n"
)

// DefaultTimeout bounds one whole SMTP transaction, from dialling to QUIT.
// Postfix on loopback answers in milliseconds; a minute means it is stuck.
const DefaultTimeout = 30 * time.Second

// Client sends mail through one SMTP server, the box's Postfix.
type Client struct {
	// Addr is the server's host:port; an empty host (":25") is 127.0.0.1.
	Addr string
	// From is the sender, a bare address ("ruche@cafe-anais.local") or
	// with a name ("Ruche <ruche@cafe-anais.local>"): the envelope takes
	// the address, the From header all of it.
	From string
	// HelloName is the name given in EHLO; "localhost" when empty.
	HelloName string
	// Timeout bounds the whole transaction; DefaultTimeout when zero.
	Timeout time.Duration
}

// Message is one plain-text mail.
type Message struct {
	To      []string // bare addresses
	Subject string   // one line; non-ASCII is encoded (RFC 2047)
	Body    string   // plain text, any line ends
	// AutoSubmitted marks the mail "Auto-Submitted: auto-generated"
	// (RFC 3834), so that vacation responders and the like do not answer
	// a robot: alerts and notices set it.
	AutoSubmitted bool
}

var (
	msgNoAnswer = i18n.M{
		FR: "le service de courriel de la boîte ne répond pas sur %s — `ruche up` tourne-t-il ? (%s)",
		EN: "the box's mail service does not answer on %s — is `ruche up` running? (%s)",
	}
	msgRefused = i18n.M{
		FR: "le service de courriel sur %s a refusé le message : %s",
		EN: "the mail service on %s refused the message: %s",
	}
	msgRefusedRcpt = i18n.M{
		FR: "le service de courriel sur %s a refusé le destinataire %s : %s",
		EN: "the mail service on %s refused the recipient %s: %s",
	}
	msgBroken = i18n.M{
		FR: "l'échange avec le service de courriel sur %s a échoué",
		EN: "the exchange with the mail service on %s failed",
	}
	msgTimeout = i18n.M{
		FR: "le service de courriel sur %s n'a pas répondu à temps (%s)",
		EN: "the mail service on %s did not answer in time (%s)",
	}
	msgNoRecipient = i18n.M{
		FR: "message sans destinataire",
		EN: "message without a recipient",
	}
	msgBadAddress = i18n.M{
		FR: "%q n'est pas une adresse de courriel",
		EN: "%q is not an e-mail address",
	}
	msgNoUTF8 = i18n.M{
		FR: "le service de courriel sur %s n'accepte pas l'adresse %s (caractères non ASCII, SMTPUTF8 absent)",
		EN: "the mail service on %s does not accept the address %s (non-ASCII characters, no SMTPUTF8)",
	}
)

// ServerAddr is addr with an empty host made 127.0.0.1, as Client dials it.
func ServerAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Send delivers m to the server in one SMTP transaction and returns the
// queue id the server gave in its reply to DATA ("250 2.0.0 Ok: queued as
// 4Xyz" gives "4Xyz"), or "" when it gave none. Errors are in plain words,
// in both languages (i18n.Localize).
func (c *Client) Send(ctx context.Context, m Message) (queueID string, err error) {
	addr := ServerAddr(c.Addr)
	from, err := envelopeSender(c.From)
	if err != nil {
		return "", err
	}
	if len(m.To) == 0 {
		return "", i18n.Errorf(msgNoRecipient)
	}
	to := make([]string, len(m.To))
	for i, r := range m.To {
		if to[i], err = envelopeAddress(r); err != nil {
			return "", err
		}
	}
	data, err := c.compose(m, time.Now())
	if err != nil {
		return "", err
	}

	timeout := c.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", noAnswer(addr, err)
	}
	// go-smtp sets and resets its own deadline around each command: the
	// context, closing the connection, is what bounds the whole exchange.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	defer func() {
		var ne net.Error
		switch {
		case err == nil:
		case errors.Is(ctx.Err(), context.Canceled):
			err = ctx.Err() // the caller gave up: not the server's fault
		case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			err = i18n.Errorf(msgTimeout, addr, timeout)
		}
	}()

	sc := smtp.NewClient(conn)
	sc.CommandTimeout = timeout
	sc.SubmissionTimeout = timeout
	hello := c.HelloName
	if hello == "" {
		hello = "localhost"
	}
	if err := sc.Hello(hello); err != nil {
		return "", smtpError(addr, err, "")
	}
	var opts *smtp.MailOptions
	if !isASCII(from) || !allASCII(to) {
		if ok, _ := sc.Extension("SMTPUTF8"); !ok {
			bad := from
			for _, r := range to {
				if !isASCII(r) {
					bad = r
				}
			}
			return "", i18n.Errorf(msgNoUTF8, addr, bad)
		}
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := sc.Mail(from, opts); err != nil {
		return "", smtpError(addr, err, "")
	}
	for _, r := range to {
		if err := sc.Rcpt(r, nil); err != nil {
			return "", smtpError(addr, err, r)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return "", smtpError(addr, err, "")
	}
	if _, err := w.Write(data); err != nil {
		return "", smtpError(addr, err, "")
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", smtpError(addr, err, "")
	}
	// The message is queued: a failed QUIT changes nothing for it.
	sc.Quit()
	return parseQueueID(resp.StatusText), nil
}

// smtpError words a failed step: a refusal quotes the server, a broken
// connection says so.
func smtpError(addr string, err error, rcpt string) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		reply := fmt.Sprintf("%d %s", se.Code, se.Message)
		if se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode != (smtp.EnhancedCode{}) {
			reply = fmt.Sprintf("%d %d.%d.%d %s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
		}
		if rcpt != "" {
			return i18n.Errorf(msgRefusedRcpt, addr, rcpt, reply)
		}
		return i18n.Errorf(msgRefused, addr, reply)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) {
		return noAnswer(addr, err)
	}
	return i18n.Wrap(err, msgBroken, addr)
}

// noAnswer says nobody answers on addr, with the system's reason in short
// ("connection refused"): the question is what matters, the reason helps.
func noAnswer(addr string, err error) error {
	cause := err.Error()
	var se *os.SyscallError
	if errors.As(err, &se) {
		cause = se.Err.Error()
	}
	return &causeError{Text: i18n.T(msgNoAnswer, addr, cause), err: err}
}

// causeError is a bilingual error that already quotes its cause: errors.Is
// still reaches the cause, the message does not repeat it.
type causeError struct {
	i18n.Text
	err error
}

func (e *causeError) Error() string                  { return e.Localize(i18n.FR) }
func (e *causeError) Localize(lang i18n.Lang) string { return e.String(lang) }
func (e *causeError) Unwrap() error                  { return e.err }

// queuedAs finds Postfix's queue id ("Ok: queued as 4Xyz"); other servers
// word it alike ("queued as <id>").
var queuedAs = regexp.MustCompile(`(?i)queued as ([0-9A-Za-z][0-9A-Za-z._@-]*)`)

func parseQueueID(reply string) string {
	m := queuedAs.FindStringSubmatch(reply)
	if m == nil {
		return ""
	}
	return strings.TrimRight(m[1], ".")
}

// envelopeSender is the bare address of from, its domain in ASCII.
func envelopeSender(from string) (string, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", i18n.Errorf(msgBadAddress, from)
	}
	return asciiDomain(a.Address), nil
}

// envelopeAddress checks a recipient is a bare address and gives it with
// its domain in ASCII (an internationalised domain as punycode), which
// every server accepts; only a non-ASCII local part needs SMTPUTF8.
func envelopeAddress(addr string) (string, error) {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(addr) {
		return "", i18n.Errorf(msgBadAddress, addr)
	}
	return asciiDomain(a.Address), nil
}

func asciiDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || isASCII(addr[at+1:]) {
		return addr
	}
	d, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil {
		return addr // the server will say what it thinks
	}
	return addr[:at+1] + d
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}

// compose writes the message: headers, a blank line, the body in
// quoted-printable UTF-8, CRLF line ends throughout.
func (c *Client) compose(m Message, now time.Time) ([]byte, error) {
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, i18n.Errorf(msgBadAddress, c.From)
	}
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name + ": " + value + "\r\n")
	}
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", messageID(from.Address, now))
	header("From", from.String())
	to := make([]string, len(m.To))
	for i, r := range m.To {
		to[i] = (&mail.Address{Address: r}).String()
	}
	header("To", strings.Join(to, ", "))
	header("Subject", encodeSubject(m.Subject))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	if m.AutoSubmitted {
		header("Auto-Submitted", "auto-generated")
	}
	b.WriteString("\r\n")

	body := strings.ReplaceAll(m.Body, "\r\n", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	qp := quotedprintable.NewWriter(&b) // text mode: "\n" becomes CRLF
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeSubject makes one header line of s: line breaks become spaces (a
// subject must not smuggle headers in), non-ASCII becomes RFC 2047 encoded
// words, folded so that no line runs past the length mail software likes.
func encodeSubject(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if isASCII(s) {
		return s
	}
	enc := mime.QEncoding.Encode("utf-8", s)
	// Encoded words are separated by spaces; folding there is allowed and
	// invisible once decoded.
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// messageID is a unique id in the sender's domain.
func messageID(from string, now time.Time) string {
	domain := "localhost"
	a := asciiDomain(from)
	if at := strings.LastIndexByte(a, '@'); at >= 0 && at < len(a)-1 {
		domain = a[at+1:]
	}
	var r [8]byte
	rand.Read(r[:])
	return fmt.Sprintf("<%d.%s.ruche@%s>", now.UnixNano(), hex.EncodeToString(r[:]), domain)
}
