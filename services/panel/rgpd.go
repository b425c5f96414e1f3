package panel

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/packedit"
	"github.com/ruche-box/ruche/provision/store"
)

// The RGPD (GDPR) duties of an association towards a member, in the
// panel: the export of their data (a member their own, from « Mon compte
// »; an admin anyone's) and its erasure (admins, after a confirmation
// page). The database's part is in provision/store/rgpd.go; the pack's
// part (name, e-mail, role, disabled) is added here, and the erasure
// removes the person from the pack first, as a revision.

var (
	msgRGPDUnknown = i18n.M{
		FR: "la box ne garde rien sous l'identifiant « %s »",
		EN: "the box keeps nothing under the login %q",
	}
	msgEraseSelf = i18n.M{
		FR: "on n'efface pas son propre compte depuis sa session : demandez-le à un autre administrateur",
		EN: "you cannot erase your own account from your session: ask another admin",
	}
)

// rgpdExport is the file a member downloads. Pack is what the pack says
// of them (nil once they left it); Data what the database keeps, without
// a token, a token's hash or the password hash.
type rgpdExport struct {
	Format     string              `json:"format"`
	ExportedAt string              `json:"exported_at"`
	Box        string              `json:"box"`
	Pack       *provision.User     `json:"pack_profile"`
	Data       *store.PersonalData `json:"data"`
	Note       string              `json:"note"`
}

// exportFor answers the JSON export of login as a download.
func (p *Panel) exportFor(c *call, login string) {
	if p.opts.DB == nil {
		c.fail(http.StatusServiceUnavailable, msgNoDB)
		return
	}
	d, err := p.opts.DB.PersonalData(c.r.Context(), login)
	if errors.Is(err, store.ErrNoSuchUser) {
		c.fail(http.StatusNotFound, msgRGPDUnknown, login)
		return
	}
	if err != nil {
		p.log.Error("rgpd export", "login", login, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	out := rgpdExport{
		Format:     "ruche-rgpd-export/1",
		ExportedAt: p.now().UTC().Format("2006-01-02T15:04:05Z"),
		Box:        p.associationName(),
		Data:       &d,
		Note: "Données que la box garde sur cette personne (RGPD, art. 15 et 20). " +
			"Data the box keeps about this person (GDPR, art. 15 and 20).",
	}
	if pu, ok := packUser(p.pack(), login); ok {
		out.Pack = &pu
	}
	p.log.Info("rgpd export", "login", login, "by", c.currentUser().Login)
	// Personal data: no cache keeps it.
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="ruche-export-%s.json"`, safeFileName(login)))
	writeJSON(c.w, http.StatusOK, out)
}

// safeFileName keeps the characters of a login a file name can carry in
// a header without quoting trouble.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// accountExport is GET /account/export: a member's own data.
func (p *Panel) accountExport(c *call) { p.exportFor(c, c.currentUser().Login) }

// userExport is GET /users/{login}/export: an admin exports anyone's,
// also someone the pack no longer names (the database still keeps their
// tickets).
func (p *Panel) userExport(c *call) { p.exportFor(c, c.param("login")) }

// pseudonymIn is the name an erased person gets, in the pack's language:
// a login-like word (it stands where logins stand).
func pseudonymIn(lang i18n.Lang) func(n int64) string {
	return func(n int64) string {
		if lang == i18n.EN {
			return fmt.Sprintf("former-member-%d", n)
		}
		return fmt.Sprintf("ancien-membre-%d", n)
	}
}

// eraseData is the erasure's confirmation page.
type eraseData struct {
	Login  string
	Pseudo string // the pseudonym the erasure will most likely give
	err    string
}

func (d eraseData) errorText() string { return d.err }

// eraseTarget is the login of the route, known to the pack or the
// database, or "" after a 404.
func (p *Panel) eraseTarget(c *call) string {
	login := c.param("login")
	if _, ok := packUser(p.pack(), login); ok {
		return login
	}
	if p.opts.DB != nil {
		if _, err := p.opts.DB.LookupUser(c.r.Context(), login); err == nil {
			return login
		}
	}
	c.fail(http.StatusNotFound, msgRGPDUnknown, login)
	return ""
}

// erasePage is GET /users/{login}/erase: what the erasure does, and the
// export to offer first.
func (p *Panel) erasePage(c *call) {
	login := p.eraseTarget(c)
	if login == "" {
		return
	}
	code, msg := p.eraseRefusal(c, login)
	c.page(code, "erase", text(c.lang, "life.erase.title", login), "users",
		eraseData{Login: login, Pseudo: pseudonymIn(p.packLang())(1), err: msg})
}

// eraseRefusal says why login may not be erased now (200, "" when it
// may): not oneself, not the last active admin.
func (p *Panel) eraseRefusal(c *call, login string) (int, string) {
	switch {
	case login == c.currentUser().Login:
		return http.StatusConflict, msgEraseSelf.In(c.lang)
	case lastAdmin(p.pack(), login):
		return http.StatusConflict, msgLastAdmin.Sprintf(c.lang, login)
	}
	return http.StatusOK, ""
}

// eraseForm is POST /users/{login}/erase: out of the pack (a revision),
// then out of the database (store.EraseUser).
func (p *Panel) eraseForm(c *call) {
	login := p.eraseTarget(c)
	if login == "" {
		return
	}
	again := func(code int, msg string) {
		c.page(code, "erase", text(c.lang, "life.erase.title", login), "users",
			eraseData{Login: login, Pseudo: pseudonymIn(p.packLang())(1), err: msg})
	}
	if code, msg := p.eraseRefusal(c, login); msg != "" {
		again(code, msg)
		return
	}
	if p.opts.DB == nil {
		again(http.StatusServiceUnavailable, msgNoDB.In(c.lang))
		return
	}
	actor := c.currentUser().Login
	if _, inPack := packUser(p.pack(), login); inPack {
		// The revision's note does not name the person. Older
		// revisions still do, as backups do: the erasure cannot
		// rewrite the pack's history (docs/panel.md says so).
		_, err := p.editPack(c.r.Context(), actor, "effacement RGPD / GDPR erasure", func(d *packedit.Doc) error {
			return d.RemoveUser(login)
		})
		if err != nil {
			again(editStatus(err), editMessage(err, c.lang))
			return
		}
	}
	pseudo, err := p.opts.DB.EraseUser(c.r.Context(), login, actor, p.now(), pseudonymIn(p.packLang()))
	if err != nil {
		p.log.Error("rgpd erasure", "err", err)
		again(http.StatusInternalServerError, i18n.Localize(err, c.lang))
		return
	}
	// The log names the pseudonym, never the erased login.
	p.log.Info("rgpd erasure done", "pseudonym", pseudo, "by", actor)
	c.page(http.StatusOK, "lifedone", text(c.lang, "life.erased.title"), "users", lifeDone{
		Message: text(c.lang, "life.erase.done", pseudo), Back: "/users",
	})
}
