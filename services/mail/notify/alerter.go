package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Sender sends one message and returns the server's queue id; *Client is
// the real one.
type Sender interface {
	Send(ctx context.Context, m Message) (queueID string, err error)
}

// DefaultReminder is how long a problem may last before its mail is sent
// again. One mail per problem is the rule, but a backup disk missing for a
// week must not rest on one message buried in a volunteer's inbox: one
// reminder a day is few enough not to be a nuisance, often enough to be
// seen.
const DefaultReminder = 24 * time.Hour

// Alerter mails the admins and technicians about problems, once per
// problem, and about events (tickets), every time. The state of problems
// lives in the box's database (store.OpenAlert...), so that a restart of
// the box, or another ruche process (`ruche backup now`), does not send the
// same alert again.
//
// It implements provision.Alerter and provision.Notifier.
type Alerter struct {
	Sender Sender
	DB     *store.DB
	// Pack returns the live pack, read at each alert: its locale (the
	// language of the mails), its hostname (in the subject) and, for an
	// alert without To, its recipients (Recipients). Nil, or an error,
	// means French and no default recipients.
	Pack func() (*provision.Pack, error)
	// Reminder is how long after its last mail an open problem raised
	// again is mailed again: zero means DefaultReminder, negative never.
	Reminder time.Duration
	// Log is where sent and failed alerts are logged; slog.Default() when
	// nil.
	Log *slog.Logger
	// Now is the clock; time.Now when nil. Tests pin it.
	Now func() time.Time

	// mu keeps two goroutines of one process from both sending the first
	// mail of the same problem.
	mu sync.Mutex
}

var (
	_ provision.Alerter  = (*Alerter)(nil)
	_ provision.Notifier = (*Alerter)(nil)
)

// NewAlerter is an Alerter with the default reminder, clock and log.
func NewAlerter(s Sender, db *store.DB, pack func() (*provision.Pack, error)) *Alerter {
	return &Alerter{Sender: s, DB: db, Pack: pack}
}

// ErrNoRecipients is returned (wrapped) when an alert has nobody to go to:
// no To, and no admin or technician with an e-mail address in the pack.
// The problem is still recorded as open, unsent: the next Raise after an
// address is added sends it.
var ErrNoRecipients = i18n.Errorf(i18n.M{
	FR: "personne à prévenir : aucun admin ni technicien n'a d'adresse de courriel (panel.users[].email)",
	EN: "nobody to tell: no admin or technician has an e-mail address (panel.users[].email)",
})

var (
	msgBadKind = i18n.M{
		FR: "type d'alerte %q inconnu",
		EN: "unknown alert kind %q",
	}
	msgEventRaised = i18n.M{
		FR: "%q est un événement, pas un problème : il s'envoie avec Notify",
		EN: "%q is an event, not a problem: send it with Notify",
	}
	msgNotSent = i18n.M{
		FR: "alerte %s (%s) non envoyée",
		EN: "alert %s (%s) not sent",
	}
	msgSubject = i18n.M{
		FR: "[Ruche %s] %s",
		EN: "[Ruche %s] %s",
	}
	msgReminder = i18n.M{
		FR: "Rappel : %s",
		EN: "Reminder: %s",
	}
	msgFooterProblem = i18n.M{
		FR: "-- \nRuche, boîte « %s ».\nCe courriel n'est envoyé qu'une fois par problème, avec un rappel toutes les %s tant qu'il dure.",
		EN: "-- \nRuche, box \"%s\".\nThis mail is sent once per problem, with a reminder every %s while it lasts.",
	}
	msgFooterOnce = i18n.M{
		FR: "-- \nRuche, boîte « %s ».\nCe courriel n'est envoyé qu'une fois par problème.",
		EN: "-- \nRuche, box \"%s\".\nThis mail is sent once per problem.",
	}
	msgFooterEvent = i18n.M{
		FR: "-- \nRuche, boîte « %s ».",
		EN: "-- \nRuche, box \"%s\".",
	}
)

func (a *Alerter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Alerter) log() *slog.Logger {
	l := a.Log
	if l == nil {
		l = slog.Default()
	}
	return l.With("component", "notify")
}

func (a *Alerter) reminder() time.Duration {
	if a.Reminder == 0 {
		return DefaultReminder
	}
	return a.Reminder
}

// pack is the live pack, or nil when there is none or it cannot be read.
func (a *Alerter) pack() *provision.Pack {
	if a.Pack == nil {
		return nil
	}
	p, err := a.Pack()
	if err != nil {
		a.log().Warn("live pack unreadable for alerts; French and no default recipients", "err", err)
		return nil
	}
	return p
}

func checkKind(k provision.AlertKind) error {
	if !k.Valid() {
		return i18n.Errorf(msgBadKind, string(k))
	}
	return nil
}

// Raise mails the problem al to its recipients unless it is already open:
// a second Raise while it lasts sends nothing and writes nothing, except a
// reminder once Reminder has passed since the last mail. A problem whose
// mail could not be sent stays open and unsent: the next Raise tries again.
func (a *Alerter) Raise(ctx context.Context, al provision.Alert) error {
	if err := checkKind(al.Kind); err != nil {
		return err
	}
	if al.Kind.Event() {
		return i18n.Errorf(msgEventRaised, string(al.Kind))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	p := a.pack()
	lang := i18n.Lang(p.Locale())
	st, already, err := a.DB.OpenAlert(ctx, al.Kind, al.Key, al.Subject.String(lang), now)
	if err != nil {
		return err
	}
	reminder := false
	if already && !st.LastSent.IsZero() {
		r := a.reminder()
		if r < 0 || now.Sub(st.LastSent) < r {
			return nil // told already
		}
		reminder = true
	}
	m, err := a.message(p, al, reminder)
	if err != nil {
		return i18n.Wrap(err, msgNotSent, string(al.Kind), al.Key)
	}
	id, err := a.Sender.Send(ctx, m)
	if err != nil {
		a.log().Error("alert not sent", "kind", al.Kind, "key", al.Key, "err", err)
		return i18n.Wrap(err, msgNotSent, string(al.Kind), al.Key)
	}
	a.log().Info("alert sent", "kind", al.Kind, "key", al.Key, "queue_id", id, "to", m.To, "reminder", reminder)
	// The mail is queued: should recording it fail, the worst is one more
	// mail at the next Raise.
	return a.DB.AlertSent(ctx, al.Kind, al.Key, now)
}

// Clear records that the problem (kind, key) is gone, so that the next
// Raise of it mails again. It sends nothing: a volunteer needs to hear of
// a problem, not of every return to normal.
func (a *Alerter) Clear(ctx context.Context, kind provision.AlertKind, key string) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cleared, err := a.DB.ClearAlert(ctx, kind, key, a.now())
	if cleared {
		a.log().Info("alert cleared", "kind", kind, "key", key)
	}
	return err
}

// Notify mails the event al (a ticket opened or answered) every time it is
// called. Problems may be notified too; nothing is recorded.
func (a *Alerter) Notify(ctx context.Context, al provision.Alert) error {
	if err := checkKind(al.Kind); err != nil {
		return err
	}
	m, err := a.message(a.pack(), al, false)
	if err != nil {
		return i18n.Wrap(err, msgNotSent, string(al.Kind), al.Key)
	}
	id, err := a.Sender.Send(ctx, m)
	if err != nil {
		a.log().Error("notice not sent", "kind", al.Kind, "key", al.Key, "err", err)
		return i18n.Wrap(err, msgNotSent, string(al.Kind), al.Key)
	}
	a.log().Info("notice sent", "kind", al.Kind, "key", al.Key, "queue_id", id, "to", m.To)
	return nil
}

// message writes al in the pack's language: the box's name in the subject,
// a footer that says how often such mails come.
func (a *Alerter) message(p *provision.Pack, al provision.Alert, reminder bool) (Message, error) {
	lang := i18n.Lang(p.Locale())
	to := al.To
	if len(to) == 0 {
		to = Recipients(p)
	}
	if len(to) == 0 {
		return Message{}, ErrNoRecipients
	}
	box := "ruche"
	if p != nil && p.Box.Hostname != "" {
		box = p.Box.Hostname
	}
	subject := al.Subject.String(lang)
	if reminder {
		subject = msgReminder.Sprintf(lang, subject)
	}
	var footer string
	switch r := a.reminder(); {
	case al.Kind.Event():
		footer = msgFooterEvent.Sprintf(lang, box)
	case r < 0:
		footer = msgFooterOnce.Sprintf(lang, box)
	default:
		footer = msgFooterProblem.Sprintf(lang, box, every(r))
	}
	return Message{
		To:            to,
		Subject:       msgSubject.Sprintf(lang, box, subject),
		Body:          al.Body.String(lang) + "\n\n" + footer + "\n",
		AutoSubmitted: true,
	}, nil
}

// every words a reminder interval: "24 h", "90 min".
func every(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return fmt.Sprintf("%d min", (d+time.Minute-1)/time.Minute)
}
