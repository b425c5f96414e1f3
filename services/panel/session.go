package panel

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/store"
)

// user is the user of a request with a valid session: the pack's entry
// (name, email and role as the live pack says now) and the session.
type user struct {
	provision.User
	session store.Session
	// csrf is the session's CSRF token (csrf.go).
	csrf string
}

// Cookies. Over HTTPS the names carry the __Host- prefix: the browser then
// accepts them only from a secure origin, for the whole host, with no
// Domain; a machine on the LAN answering plain HTTP for the same name
// cannot plant a session cookie that HTTPS pages would then use.
const (
	sessionCookie = "ruche_session"
	// anonCookie holds the CSRF token of forms shown before a session
	// exists: login, setup link, language (csrf.go).
	anonCookie = "ruche_csrf"
	// langCookie is the language chosen with the switch.
	langCookie = "lang"
)

func cookieName(r *http.Request, name string) string {
	if r.TLS != nil {
		return "__Host-" + name
	}
	return name
}

// setCookie sets a panel cookie: HttpOnly (no script reads it; the panel
// has none, but an injected one would), SameSite=Lax, Secure under TLS.
//
// Lax rather than Strict: the panel is reached by links from elsewhere, the
// wiki (wiki-<hostname>.local is another site for the browser) and, later,
// ticket notification mails; under Strict a logged-in user following such
// a link would land on the login page. Lax sends the cookie on those
// top-level GET navigations only, and GETs change nothing here; every
// state-changing request is checked for its origin and its CSRF token.
//
// maxAge 0 makes a browser-session cookie: gone when the browser closes,
// which matters on the association's shared computer; -1 deletes.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName(r, name),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   r.TLS != nil,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(cookieName(r, name))
	if err != nil {
		return ""
	}
	return c.Value
}

// touchEvery is how often a session's last use is written: the idle
// expiry does not need the second, and SQLite's one writer has better to do
// than a write per page.
const touchEvery = time.Minute

// authenticate returns the user of the request's session, or nil. A
// session is ended (deleted, its cookie cleared) when it expired (idle or
// absolute), when its user is no longer in the pack, is disabled or
// removed, or set a new password since it began (a password changed
// because it leaked must close the thief's sessions). The role is the
// pack's of this moment.
func (p *Panel) authenticate(w http.ResponseWriter, r *http.Request) *user {
	token := cookieValue(r, sessionCookie)
	if token == "" || p.opts.DB == nil {
		return nil
	}
	ctx := r.Context()
	s, err := p.opts.DB.LookupSession(ctx, token)
	if err != nil {
		if !errors.Is(err, store.ErrNoSession) {
			p.log.Error("session lookup", "err", err)
		}
		setCookie(w, r, sessionCookie, "", -1)
		return nil
	}
	now := p.now()
	pu, inPack := packUser(p.pack(), s.Login)
	var reason string
	switch {
	case now.Sub(s.LastSeen) >= p.opts.IdleTimeout:
		reason = "idle"
	case now.Sub(s.CreatedAt) >= p.opts.MaxSessionAge:
		reason = "too old"
	case !inPack || s.User.Removed():
		reason = "user no longer in the pack"
	case s.User.Disabled || pu.Disabled:
		// The pack is read first: a user just disabled is out at their
		// next request, even before the database has followed.
		reason = "account disabled"
	case s.User.PasswordSetAt.After(s.CreatedAt):
		reason = "password changed since login"
	}
	if reason != "" {
		p.endSession(ctx, s.ID)
		setCookie(w, r, sessionCookie, "", -1)
		p.log.Info("session ended", "login", s.Login, "reason", reason)
		return nil
	}
	if now.Sub(s.LastSeen) >= touchEvery {
		if err := p.opts.DB.TouchSession(ctx, s.ID, now); err != nil {
			p.log.Warn("session touch", "err", err)
		}
	}
	return &user{User: pu, session: s, csrf: csrfToken(token)}
}

// startSession opens a session for login and sets its cookie. A session
// the browser already had is ended: a new login never continues an old
// session, whoever started it (session fixation).
func (p *Panel) startSession(w http.ResponseWriter, r *http.Request, login string) (token string, err error) {
	ctx := r.Context()
	now := p.now()
	if old := cookieValue(r, sessionCookie); old != "" {
		p.endSession(ctx, store.TokenID(old))
	}
	// Expired sessions would be refused anyway; deleting them here keeps
	// the table as small as the number of people logged in.
	if _, err := p.opts.DB.DeleteExpiredSessions(ctx, now.Add(-p.opts.IdleTimeout), now.Add(-p.opts.MaxSessionAge)); err != nil {
		p.log.Warn("deleting expired sessions", "err", err)
	}
	token, err = p.opts.DB.NewSession(ctx, login, now)
	if err != nil {
		return "", err
	}
	setCookie(w, r, sessionCookie, token, 0)
	return token, nil
}

// endSession deletes a session; the request may be gone, the deletion
// must not be.
func (p *Panel) endSession(ctx context.Context, id string) {
	if err := p.opts.DB.DeleteSession(context.WithoutCancel(ctx), id); err != nil {
		p.log.Warn("session delete", "err", err)
	}
}
