package panel

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Ticket notifications, through Options.Notifier (the box's mail). The
// notifier writes them in the pack's locale; the panel gives both
// languages. Who is told:
//   - a ticket opened: the admins and technicians (Alert.To empty);
//   - a comment by staff: the ticket's author, at their pack e-mail;
//   - a comment by the author: the assignee, or the staff while nobody is
//     assigned.
//
// A disabled user is told nothing (they left): a disabled author's
// ticket gets no mail, a disabled assignee's goes to the staff.
//
// Mails go out after the answer (a goroutine the panel waits for in
// tests): a mail server that is slow or down never holds a member's
// click, and a mail that fails is logged, never shown as the ticket's
// failure.

var (
	msgOpenedSubject = i18n.M{FR: "Ticket n°%d ouvert par %s : %s", EN: "Ticket #%d opened by %s: %s"}
	msgOpenedBody    = i18n.M{
		FR: "%s a ouvert le ticket n°%d (catégorie : %s, urgence : %s).\n\n%s\n\n%s\n\nVoir le ticket : %s",
		EN: "%s opened ticket #%d (category: %s, urgency: %s).\n\n%s\n\n%s\n\nSee the ticket: %s",
	}
	msgAnsweredSubject = i18n.M{FR: "Réponse au ticket n°%d : %s", EN: "Reply to ticket #%d: %s"}
	msgAnsweredBody    = i18n.M{
		FR: "%s a répondu au ticket n°%d « %s » :\n\n%s\n\nRépondre ou suivre le ticket : %s",
		EN: "%s replied to ticket #%d \"%s\":\n\n%s\n\nReply to or follow the ticket: %s",
	}
)

// mailTimeout bounds one notification: past it the mail is given up and
// logged.
const mailTimeout = 30 * time.Second

// ticketURL is the ticket's page under the name the request reached the
// panel by: the name the association's people already use for it.
func ticketURL(c *call, id int64) string {
	scheme := "http://"
	if c.r.TLS != nil {
		scheme = "https://"
	}
	return scheme + c.r.Host + "/tickets/" + strconv.FormatInt(id, 10)
}

// notifyOpened tells the staff about a new ticket.
func (p *Panel) notifyOpened(c *call, t store.Ticket) {
	u := c.currentUser()
	p.notify(c, provision.Alert{
		Kind:    provision.AlertTicketOpened,
		Key:     strconv.FormatInt(t.ID, 10),
		Subject: i18n.T(msgOpenedSubject, t.ID, displayName(u.User), t.Title),
		Body:    i18n.T(msgOpenedBody, displayName(u.User), t.ID, t.Category, t.Urgency, t.Title, t.Body, ticketURL(c, t.ID)),
	})
}

// notifyAnswered tells the other side of a ticket about a comment.
func (p *Panel) notifyAnswered(c *call, t store.Ticket, cm store.Comment) {
	u := c.currentUser()
	pk := p.pack()
	var to []string
	if u.Login == t.Author {
		// To the assignee; to the staff (To empty) when nobody is assigned
		// or the assignee has no address.
		if a, ok := packUser(pk, t.Assignee); ok && strings.TrimSpace(a.Email) != "" && !a.Disabled {
			to = []string{strings.TrimSpace(a.Email)}
		}
	} else {
		a, ok := packUser(pk, t.Author)
		if !ok || strings.TrimSpace(a.Email) == "" {
			p.log.Info("ticket answered, author not told: no e-mail address in the pack", "id", t.ID, "author", t.Author)
			return
		}
		if a.Disabled {
			p.log.Info("ticket answered, author not told: account disabled", "id", t.ID, "author", t.Author)
			return
		}
		to = []string{strings.TrimSpace(a.Email)}
	}
	p.notify(c, provision.Alert{
		Kind:    provision.AlertTicketAnswered,
		Key:     strconv.FormatInt(t.ID, 10),
		Subject: i18n.T(msgAnsweredSubject, t.ID, t.Title),
		Body:    i18n.T(msgAnsweredBody, displayName(u.User), t.ID, t.Title, cm.Body, ticketURL(c, t.ID)),
		To:      to,
	})
}

// notify hands a to the notifier, after the answer.
func (p *Panel) notify(c *call, a provision.Alert) {
	n := p.opts.Notifier
	if n == nil {
		return
	}
	ctx := context.WithoutCancel(c.r.Context())
	p.mailing.Add(1)
	go func() {
		defer p.mailing.Done()
		ctx, cancel := context.WithTimeout(ctx, mailTimeout)
		defer cancel()
		if err := n.Notify(ctx, a); err != nil {
			p.log.Error("ticket notification not sent", "kind", a.Kind, "ticket", a.Key, "err", err)
		}
	}()
}
