package panel

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

// Cross-site request forgery, in two layers.
//
// 1. Every state-changing request (POST, PUT, PATCH, DELETE) goes through
// Go's http.CrossOriginProtection first (ServeHTTP): Sec-Fetch-Site
// cross-site or same-site, or an Origin other than the Host, gets 403. A
// client sending neither header (a script, curl) passes, as DESIGN.md
// says. This alone stops every browser of the last years.
//
// 2. Tokens, for browsers too old to send either header:
//   - forms carry a hidden field "csrf": the session's token, or before a
//     session exists (login, setup link, language) a random token also
//     held in a cookie (double submit);
//   - the JSON API takes the session's token in the X-CSRF-Token header
//     (POST /api/session and GET /api/session give it). A request without
//     the header is refused when it comes from a browser (it sent
//     Sec-Fetch-Site or Origin); without either header it is a script and
//     passes on its cookie alone (DESIGN.md). An old browser cannot send a
//     cross-site request with a JSON body without a CORS preflight, which
//     the panel never grants, and the API refuses bodies that are not
//     JSON.
//
// The session's token is derived from the session's own secret (an HMAC
// keyed by the cookie's token), so it is stored nowhere: the database holds
// only the hash of the session token, from which it cannot be computed.

// csrfField is the forms' hidden field; csrfHeader the API's header.
const (
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// csrfToken is a session's CSRF token.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("ruche panel csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// formToken is the token a page's forms carry: the session's, or the
// anonymous one, set in its cookie when missing.
func (c *call) formToken() string {
	if u := c.currentUser(); u != nil {
		return u.csrf
	}
	if c.anon != "" {
		return c.anon
	}
	if t := cookieValue(c.r, anonCookie); len(t) == 43 {
		c.anon = t
		return t
	}
	b := make([]byte, 32)
	rand.Read(b)
	c.anon = base64.RawURLEncoding.EncodeToString(b)
	setCookie(c.w, c.r, anonCookie, c.anon, 0)
	return c.anon
}

// tokenOK checks the CSRF token of a state-changing request (layer 2).
func (c *call) tokenOK() bool {
	u := c.currentUser()
	if c.route.api() {
		sent := c.r.Header.Get(csrfHeader)
		if sent == "" {
			browser := c.r.Header.Get("Sec-Fetch-Site") != "" || c.r.Header.Get("Origin") != ""
			return !browser
		}
		return u != nil && sameToken(sent, u.csrf)
	}
	if c.route.upload && isMultipart(c.r) {
		return c.uploadTokenOK() // files: a stream, not a 64 KiB form
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxFormBytes)
	sent := c.r.PostFormValue(csrfField)
	if u != nil && sameToken(sent, u.csrf) {
		return true
	}
	// The anonymous token is good only where no session is needed: a
	// page of a logged-in user carries the session's token.
	return c.route.access.public && sameToken(sent, cookieValue(c.r, anonCookie))
}

// maxFormBytes bounds a form's body: the panel's forms are a few fields.
const maxFormBytes = 64 << 10
