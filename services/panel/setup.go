package panel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// First admin setup. While no admin of the pack has a password, `ruche up`
// prints a link on its terminal that sets the first admin's password, once,
// within SetupLinkTTL. The link's token is stored hashed; a new start
// withdraws the link printed before.

// SetupLinkTTL is how long a setup link works.
const SetupLinkTTL = time.Hour

// MinSetupPassword is the shortest password the setup page accepts: the
// first admin's password guards the whole box.
const MinSetupPassword = 10

var (
	msgSetupLink = i18n.M{
		FR: "  premier accès : aucun administrateur n'a de mot de passe ; ce lien, valable une heure et une seule fois, définit celui de %s : %s",
		EN: "  first access: no admin has a password; this link, valid once for one hour, sets the password of %s: %s",
	}
	msgSetupJournal = i18n.M{
		FR: "  premier accès : aucun administrateur n'a de mot de passe ; le lien d'installation n'est pas écrit dans le journal : définissez-le avec « ruche user passwd %s »",
		EN: "  first access: no admin has a password; the setup link is not written to the journal: set it with \"ruche user passwd %s\"",
	}
)

// PrintSetupLink prints the setup link on w when no admin of the pack has a
// usable password yet, for the first admin of the pack; bases are the
// panel's addresses ("http://panel.localhost:8080/"), the link is printed
// under each. It prints nothing when an admin has a password, or when the
// pack has no admin the database knows.
//
// The link is a secret for an hour: it goes to the terminal of whoever
// started the box, never to a log. When w is the systemd journal (stdout of
// the box's unit), the link is not printed and the line says how to set
// the password instead.
func PrintSetupLink(ctx context.Context, w io.Writer, lang i18n.Lang, db *store.DB, pk *provision.Pack, bases []string) error {
	login, err := setupLogin(ctx, db, pk)
	if err != nil || login == "" {
		return err
	}
	if toJournal(w) {
		_, err := fmt.Fprintln(w, msgSetupJournal.Sprintf(lang, login))
		return err
	}
	now := time.Now()
	token, err := db.NewSetupToken(ctx, login, now, now.Add(SetupLinkTTL))
	if err != nil {
		return err
	}
	links := make([]string, len(bases))
	for i, b := range bases {
		links[i] = strings.TrimSuffix(b, "/") + "/setup/" + token
	}
	_, err = fmt.Fprintln(w, msgSetupLink.Sprintf(lang, login, strings.Join(links, "  ")))
	return err
}

// setupLogin is the admin a setup link is for: the first admin of the pack
// the database knows (applied, not disabled), when no admin has a
// password; "" otherwise.
func setupLogin(ctx context.Context, db *store.DB, pk *provision.Pack) (string, error) {
	if db == nil || pk == nil {
		return "", nil
	}
	users, err := db.Users(ctx)
	if err != nil {
		return "", err
	}
	known := map[string]store.User{}
	for _, u := range users {
		if !u.Removed() && !u.Disabled {
			known[u.Login] = u
		}
	}
	first := ""
	for _, u := range pk.Panel.Users {
		k, ok := known[u.Login]
		if u.Role != provision.RoleAdmin || !ok {
			continue
		}
		if k.HasPassword {
			return "", nil
		}
		if first == "" {
			first = u.Login
		}
	}
	return first, nil
}

// toJournal reports whether w is a stream to the systemd journal: systemd
// sets JOURNAL_STREAM to the device and inode of that stream.
func toJournal(w io.Writer) bool {
	f, ok := w.(*os.File)
	want := os.Getenv("JOURNAL_STREAM")
	if !ok || want == "" {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return want == strconv.FormatUint(uint64(st.Dev), 10)+":"+strconv.FormatUint(st.Ino, 10)
}

// setupData is the setup page's data.
type setupData struct {
	Login string
	Min   int
	err   string
}

func (d setupData) errorText() string { return d.err }

// setupUser is the user a setup link is for, or nil after answering 404:
// an unknown, used or expired link, or a user the pack no longer names.
func (p *Panel) setupUser(c *call) *store.User {
	if p.opts.DB == nil {
		c.fail(http.StatusNotFound, msgSetupBad)
		return nil
	}
	u, err := p.opts.DB.SetupTokenUser(c.r.Context(), c.param("token"), p.now())
	if err == nil {
		if _, ok := packUser(p.pack(), u.Login); !ok {
			err = store.ErrBadSetupToken
		}
	}
	if err != nil {
		if !errors.Is(err, store.ErrBadSetupToken) {
			p.log.Error("setup link", "err", err)
		}
		c.fail(http.StatusNotFound, msgSetupBad)
		return nil
	}
	return &u
}

// setupPage is GET /setup/{token}.
func (p *Panel) setupPage(c *call) {
	u := p.setupUser(c)
	if u == nil {
		return
	}
	c.page(http.StatusOK, "setup", text(c.lang, "setup.title"), "", setupData{Login: u.Login, Min: MinSetupPassword})
}

// setupForm is POST /setup/{token}: sets the password and logs the admin
// in.
func (p *Panel) setupForm(c *call) {
	u := p.setupUser(c)
	if u == nil {
		return
	}
	password, confirm := c.r.PostFormValue("password"), c.r.PostFormValue("confirm")
	again := func(m i18n.M, args ...any) {
		c.page(http.StatusBadRequest, "setup", text(c.lang, "setup.title"), "",
			setupData{Login: u.Login, Min: MinSetupPassword, err: m.Sprintf(c.lang, args...)})
	}
	if n := utf8.RuneCountInString(password); n < MinSetupPassword {
		again(msgPassShort, n, MinSetupPassword)
		return
	}
	if password != confirm {
		again(msgPassDiffer)
		return
	}
	ctx := c.r.Context()
	_, err := p.opts.DB.RedeemSetupToken(ctx, c.param("token"), []byte(password), p.now())
	switch {
	case errors.Is(err, store.ErrBadPassword):
		c.page(http.StatusBadRequest, "setup", text(c.lang, "setup.title"), "",
			setupData{Login: u.Login, Min: MinSetupPassword, err: i18n.Localize(err, c.lang)})
		return
	case errors.Is(err, store.ErrBadSetupToken):
		c.fail(http.StatusNotFound, msgSetupBad)
		return
	case err != nil:
		p.log.Error("setup link", "login", u.Login, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	p.log.Info("password set through the setup link", "login", u.Login, "remote", c.r.RemoteAddr)
	if p.opts.PasswordChanged != nil {
		p.opts.PasswordChanged(context.WithoutCancel(ctx))
	}
	if _, err := p.startSession(c.w, c.r, u.Login); err != nil {
		p.log.Error("setup link: new session", "login", u.Login, "err", err)
		c.redirect("/login")
		return
	}
	c.redirect("/")
}
