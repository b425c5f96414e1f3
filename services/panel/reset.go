package panel

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Password reset by e-mail. A member who forgot their password types
// their login or e-mail address on /reset; if the pack gives that account
// an address and it is not disabled, a one-time link to /reset/{token}
// goes there, through the box's mail (Options.Notifier), valid for
// ResetLinkTTL. The answer is the same whatever was typed, so that the
// form tells nobody who has an account. Requests are throttled per typed
// value and per client address, as logins are. The token is never
// logged; only its SHA-256 is stored.

// ResetLinkTTL is how long an e-mailed reset link works.
const ResetLinkTTL = time.Hour

// Reset requests: a few free per typed value and per address, then the
// same doubling delays as logins. Nobody needs ten links an hour; a
// script filling mailboxes does.
const (
	resetFreePerKey  = 3
	resetFreePerAddr = 5
)

var (
	msgResetBad = i18n.M{
		FR: "ce lien de réinitialisation est inconnu, déjà utilisé ou expiré : demandez-en un nouveau",
		EN: "this reset link is unknown, already used or expired: ask for a new one",
	}
	msgResetNeedWho = i18n.M{
		FR: "indiquez votre identifiant ou votre adresse e-mail",
		EN: "give your login or your e-mail address",
	}
	msgResetSubject = i18n.M{
		FR: "Réinitialisation du mot de passe de %s",
		EN: "Password reset for %s",
	}
	msgResetBody = i18n.M{
		FR: "Bonjour %s,\n\nQuelqu'un (vous, sans doute) a demandé à changer le mot de passe du compte « %s » du panneau de la box. Ce lien, valable une heure et une seule fois, permet d'en choisir un nouveau :\n\n%s\n\nSi vous n'avez rien demandé, ignorez ce message : votre mot de passe actuel reste valable.",
		EN: "Hello %s,\n\nSomeone (you, no doubt) asked to change the password of the account \"%s\" of the box's panel. This link, valid once for one hour, lets you choose a new one:\n\n%s\n\nIf you asked for nothing, ignore this message: your current password stays valid.",
	}
)

// resetThrottles count reset requests. They live beside the login
// throttles but apart from them: asking for links must not lock a member
// out of logging in, nor the other way round.
type resetThrottles struct {
	byKey, byAddr *throttle
}

// resetURL is the link to the reset page under the name the request
// reached the panel by, as ticket mails do (ticketURL): the Host header
// was checked against the panel's own names before any handler ran, so a
// forged Host cannot point the mail elsewhere.
func resetURL(c *call, token string) string {
	scheme := "http://"
	if c.r.TLS != nil {
		scheme = "https://"
	}
	return scheme + c.r.Host + "/reset/" + token
}

// resetAskData is the data of the page that asks for a link.
type resetAskData struct {
	Who  string
	Sent bool
	err  string
}

func (d resetAskData) errorText() string { return d.err }

// resetAskPage is GET /reset.
func (p *Panel) resetAskPage(c *call) {
	c.page(http.StatusOK, "reset_ask", text(c.lang, "reset.title"), "",
		resetAskData{Sent: c.r.URL.Query().Get("sent") == "1"})
}

// resetAskForm is POST /reset: the same answer for every account, known
// or not, with an address or not.
func (p *Panel) resetAskForm(c *call) {
	who := strings.TrimSpace(c.r.PostFormValue("who"))
	if who == "" || len(who) > 320 {
		c.page(http.StatusBadRequest, "reset_ask", text(c.lang, "reset.title"), "", resetAskData{err: msgResetNeedWho.In(c.lang)})
		return
	}
	now := p.now()
	kk, ak := loginKey(who), addrKey(c.r.RemoteAddr)
	if wait := max(p.resets.byKey.wait(kk, now), p.resets.byAddr.wait(ak, now)); wait > 0 {
		p.log.Warn("password reset throttled", "remote", c.r.RemoteAddr, "wait", wait)
		c.w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		c.page(http.StatusTooManyRequests, "reset_ask", text(c.lang, "reset.title"), "",
			resetAskData{Who: who, err: msgTooMany.Sprintf(c.lang, waitText(wait))})
		return
	}
	// Every request counts and none is forgiven: the answer never says
	// whether it found someone.
	p.resets.byKey.fail(kk, now)
	p.resets.byAddr.fail(ak, now)
	for _, u := range p.resetTargets(who) {
		if err := p.sendResetLink(c, u); err != nil {
			p.log.Info("password reset: no link sent", "login", u.Login, "reason", err)
		}
	}
	c.redirect("/reset?sent=1")
}

// resetTargets are the pack's users a typed login or address names:
// the login itself, or every user with that address (a family may share
// one). Case does not matter.
func (p *Panel) resetTargets(who string) []provision.User {
	pk := p.pack()
	if pk == nil {
		return nil
	}
	var out []provision.User
	for _, u := range pk.Panel.Users {
		if strings.EqualFold(u.Login, who) ||
			strings.Contains(who, "@") && strings.EqualFold(strings.TrimSpace(u.Email), who) {
			out = append(out, u)
		}
	}
	return out
}

var (
	errResetNoEmail = i18n.Errorf(i18n.M{
		FR: "pas d'adresse e-mail dans le pack pour ce compte",
		EN: "no e-mail address in the pack for this account",
	})
	errResetNoMail = i18n.Errorf(i18n.M{
		FR: "la box n'envoie pas de courrier (pas de service mail)",
		EN: "the box sends no mail (no mail service)",
	})
)

// sendResetLink makes a reset token for u and mails the link to u's pack
// address, after the answer. A disabled user, one without an address, or a
// box without mail gets no link (and no token).
func (p *Panel) sendResetLink(c *call, u provision.User) error {
	email := strings.TrimSpace(u.Email)
	switch {
	case p.opts.DB == nil:
		return errResetNoMail
	case u.Disabled:
		return store.ErrDisabled
	case email == "":
		return errResetNoEmail
	case p.opts.Notifier == nil:
		return errResetNoMail
	}
	now := p.now()
	token, err := p.opts.DB.NewPasswordReset(c.r.Context(), u.Login, now, now.Add(ResetLinkTTL))
	if err != nil {
		return err
	}
	p.notify(c, provision.Alert{
		Kind:    provision.AlertPasswordReset,
		Key:     u.Login,
		Subject: i18n.T(msgResetSubject, u.Login),
		Body:    i18n.T(msgResetBody, displayName(u), u.Login, resetURL(c, token)),
		To:      []string{email},
	})
	p.log.Info("password reset link sent", "login", u.Login, "remote", c.r.RemoteAddr)
	return nil
}

// resetData is the data of the page that sets the new password.
type resetData struct {
	Login string
	Min   int
	err   string
}

func (d resetData) errorText() string { return d.err }

// resetUser is the user a reset link is for, or nil after answering 404.
func (p *Panel) resetUser(c *call) *store.User {
	if p.opts.DB == nil {
		c.fail(http.StatusNotFound, msgResetBad)
		return nil
	}
	u, err := p.opts.DB.ResetTokenUser(c.r.Context(), c.param("token"), p.now())
	if err == nil {
		if pu, ok := packUser(p.pack(), u.Login); !ok || pu.Disabled {
			err = store.ErrBadResetToken
		}
	}
	if err != nil {
		if !errors.Is(err, store.ErrBadResetToken) {
			p.log.Error("reset link", "err", err)
		}
		c.fail(http.StatusNotFound, msgResetBad)
		return nil
	}
	return &u
}

// resetPage is GET /reset/{token}.
func (p *Panel) resetPage(c *call) {
	u := p.resetUser(c)
	if u == nil {
		return
	}
	c.page(http.StatusOK, "reset_set", text(c.lang, "reset.set.title"), "", resetData{Login: u.Login, Min: MinSetupPassword})
}

// resetForm is POST /reset/{token}: the new password, with the rules of
// the setup page; every session of the user ends (a password reset
// because someone else got in must throw them out), and this browser is
// logged in.
func (p *Panel) resetForm(c *call) {
	u := p.resetUser(c)
	if u == nil {
		return
	}
	password, confirm := c.r.PostFormValue("password"), c.r.PostFormValue("confirm")
	again := func(msg string) {
		c.page(http.StatusBadRequest, "reset_set", text(c.lang, "reset.set.title"), "",
			resetData{Login: u.Login, Min: MinSetupPassword, err: msg})
	}
	if n := utf8.RuneCountInString(password); n < MinSetupPassword {
		again(msgPassShort.Sprintf(c.lang, n, MinSetupPassword))
		return
	}
	if password != confirm {
		again(msgPassDiffer.In(c.lang))
		return
	}
	ctx := c.r.Context()
	_, ended, err := p.opts.DB.RedeemPasswordReset(ctx, c.param("token"), []byte(password), p.now())
	switch {
	case errors.Is(err, store.ErrBadPassword):
		again(i18n.Localize(err, c.lang))
		return
	case errors.Is(err, store.ErrBadResetToken):
		c.fail(http.StatusNotFound, msgResetBad)
		return
	case err != nil:
		p.log.Error("reset link", "login", u.Login, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	p.log.Info("password set through a reset link", "login", u.Login, "sessions_ended", ended, "remote", c.r.RemoteAddr)
	if p.opts.PasswordChanged != nil {
		p.opts.PasswordChanged(context.WithoutCancel(ctx))
	}
	if _, err := p.startSession(c.w, c.r, u.Login); err != nil {
		p.log.Error("reset link: new session", "login", u.Login, "err", err)
		c.redirect("/login")
		return
	}
	c.redirect("/")
}
