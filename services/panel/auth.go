package panel

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// loginOutcome is how a login attempt ended, for the form and the API.
type loginOutcome struct {
	user  provision.User
	token string // the new session's
	code  int    // http.StatusOK when logged in
	msg   string // the error, in the request's language
	wait  int    // seconds, with 429
}

// login checks a login and password and opens a session. Throttling comes
// first (no bcrypt for a throttled attempt), and every attempt counts as a
// failure until it succeeds; the user must be in the live pack, whose role
// is the one that counts.
func (p *Panel) login(c *call, login, password string) loginOutcome {
	if p.opts.DB == nil {
		return loginOutcome{code: http.StatusServiceUnavailable, msg: msgNoDB.In(c.lang)}
	}
	if login == "" || password == "" {
		return loginOutcome{code: http.StatusBadRequest, msg: msgNeedLogin.In(c.lang)}
	}
	now := p.now()
	lk, ak := loginKey(login), addrKey(c.r.RemoteAddr)
	if wait := max(p.byLogin.wait(lk, now), p.byAddr.wait(ak, now)); wait > 0 {
		p.log.Warn("login throttled", "login", lk, "remote", c.r.RemoteAddr, "wait", wait)
		secs := int((wait + time.Second - 1) / time.Second)
		return loginOutcome{code: http.StatusTooManyRequests, msg: msgTooMany.Sprintf(c.lang, waitText(wait)), wait: secs}
	}
	p.byLogin.fail(lk, now)
	p.byAddr.fail(ak, now)

	_, err := p.opts.DB.CheckPassword(c.r.Context(), login, []byte(password))
	pu, inPack := packUser(p.pack(), login)
	switch {
	case err == nil && !inPack:
		// The database still knows a user the pack has just dropped.
		err = store.ErrBadCredentials
	case err == nil && pu.Disabled:
		// The pack has just disabled them; the database follows at the
		// apply.
		err = store.ErrDisabled
	case errors.Is(err, store.ErrBadCredentials), errors.Is(err, store.ErrDisabled):
	case err != nil:
		p.log.Error("login", "login", login, "err", err)
		return loginOutcome{code: http.StatusInternalServerError, msg: msgInternal.In(c.lang)}
	}
	if err != nil {
		p.log.Info("login failed", "login", lk, "remote", c.r.RemoteAddr)
		code := http.StatusUnauthorized
		if errors.Is(err, store.ErrDisabled) {
			code = http.StatusForbidden
		}
		return loginOutcome{code: code, msg: i18n.Localize(err, c.lang)}
	}
	p.byLogin.reset(lk)
	p.byAddr.forgive(ak)
	token, err := p.startSession(c.w, c.r, pu.Login)
	if err != nil {
		p.log.Error("login: new session", "login", login, "err", err)
		return loginOutcome{code: http.StatusInternalServerError, msg: msgInternal.In(c.lang)}
	}
	p.log.Info("login", "login", pu.Login, "role", pu.Role, "remote", c.r.RemoteAddr)
	return loginOutcome{user: pu, token: token, code: http.StatusOK}
}

// loginData is the login page's data.
type loginData struct {
	Login string // typed before, shown again after a failure
	Next  string
}

// loginPage is GET /login; a logged-in user goes home.
func (p *Panel) loginPage(c *call) {
	if c.currentUser() != nil {
		c.redirect(localPath(c.r.URL.Query().Get("next")))
		return
	}
	next := c.r.URL.Query().Get("next")
	if localPath(next) != next {
		next = ""
	}
	c.page(http.StatusOK, "login", text(c.lang, "login.title"), "", loginData{Next: next})
}

// loginForm is POST /login.
func (p *Panel) loginForm(c *call) {
	login := strings.TrimSpace(c.r.PostFormValue("login"))
	next := localPath(c.r.PostFormValue("next"))
	out := p.login(c, login, c.r.PostFormValue("password"))
	if out.code != http.StatusOK {
		if out.wait > 0 {
			c.w.Header().Set("Retry-After", strconv.Itoa(out.wait))
		}
		if next == "/" {
			next = ""
		}
		c.page(out.code, "login", text(c.lang, "login.title"), "", loginPageError{loginData{Login: login, Next: next}, out.msg})
		return
	}
	c.redirect(next)
}

// loginPageError is the login page shown again with an error.
type loginPageError struct {
	loginData
	msg string
}

func (e loginPageError) errorText() string { return e.msg }

// logoutForm is POST /logout.
func (p *Panel) logoutForm(c *call) {
	p.logout(c)
	c.redirect("/login")
}

// logout ends the request's session and clears its cookie.
func (p *Panel) logout(c *call) {
	if u := c.currentUser(); u != nil {
		p.endSession(c.r.Context(), u.session.ID)
		p.log.Info("logout", "login", u.Login)
	}
	setCookie(c.w, c.r, sessionCookie, "", -1)
}

// sessionJSON is what the session API answers: who is logged in, and the
// token state-changing API calls from a browser carry in X-CSRF-Token.
type sessionJSON struct {
	Login     string `json:"login"`
	Name      string `json:"name,omitempty"`
	Role      string `json:"role"`
	CSRFToken string `json:"csrf_token"`
}

// credentials is POST /api/session's body.
type credentials struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// maxJSONBytes bounds an API request's body.
const maxJSONBytes = 64 << 10

// decodeJSON reads a JSON body into v. A body of another type is refused:
// it is what a cross-site form could send from an old browser.
func (c *call) decodeJSON(v any) bool {
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt != "application/json" {
		c.fail(http.StatusUnsupportedMediaType, msgNeedJSON)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, maxJSONBytes))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		c.fail(http.StatusBadRequest, msgBadJSON, err.Error())
		return false
	}
	return true
}

// apiLogin is POST /api/session: {"login","password"} → 200 with the
// session (and its cookie), 401 for a wrong password, 429 while throttled.
func (p *Panel) apiLogin(c *call) {
	var cred credentials
	if !c.decodeJSON(&cred) {
		return
	}
	out := p.login(c, strings.TrimSpace(cred.Login), cred.Password)
	if out.code != http.StatusOK {
		if out.wait > 0 {
			c.w.Header().Set("Retry-After", strconv.Itoa(out.wait))
		}
		c.jsonError(out.code, out.msg)
		return
	}
	writeJSON(c.w, http.StatusOK, sessionJSON{
		Login: out.user.Login, Name: out.user.Name, Role: out.user.Role, CSRFToken: csrfToken(out.token),
	})
}

// apiSession is GET /api/session: who the session is.
func (p *Panel) apiSession(c *call) {
	u := c.currentUser()
	writeJSON(c.w, http.StatusOK, sessionJSON{Login: u.Login, Name: u.Name, Role: u.Role, CSRFToken: u.csrf})
}

// apiLogout is DELETE /api/session: 204, the session ended.
func (p *Panel) apiLogout(c *call) {
	p.logout(c)
	c.w.WriteHeader(http.StatusNoContent)
}
