package panel

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/packedit"
	"github.com/ruche-box/ruche/provision/store"
)

// Users and roles (admins): the pack's panel.users, edited as pack
// revisions (edit.go). The database follows at the apply (SyncUsers): a
// user removed from the pack keeps their row, so their tickets and
// comments stay. Passwords never go through the pack: an admin gives a
// new user a one-time setup link (the first admin's machinery, setup.go).

// UserSetupLinkTTL is how long a setup link made in the panel for a user
// works.
const UserSetupLinkTTL = 24 * time.Hour

var (
	msgUserNeedLogin = i18n.M{FR: "l'identifiant est obligatoire", EN: "the login is required"}
	msgUserBadRole   = i18n.M{FR: "rôle inconnu « %s » (au choix : admin, technician, member)", EN: "unknown role %q (one of: admin, technician, member)"}
	msgUserExists    = i18n.M{FR: "l'utilisateur « %s » existe déjà : modifiez-le plutôt", EN: "user %q already exists: edit them instead"}
	msgUserUnknown   = i18n.M{FR: "l'utilisateur « %s » n'existe pas", EN: "user %q does not exist"}
	msgLastAdmin     = i18n.M{
		FR: "« %s » est le dernier administrateur actif de la box : nommez d'abord un autre administrateur",
		EN: "%q is the box's last active admin: make someone else an admin first",
	}
	msgSetupLinkFailed = i18n.M{FR: "le lien n'a pas pu être créé : %s", EN: "the link could not be made: %s"}
)

var userTexts = map[string]i18n.M{
	"nav.users":               {FR: "Utilisateurs", EN: "Users"},
	"edit.users.title":        {FR: "Utilisateurs et rôles", EN: "Users and roles"},
	"edit.users.intro":        {FR: "Les comptes du panneau sont déclarés dans le pack : chaque modification devient une révision. Les mots de passe restent dans la base de la box, jamais dans le pack.", EN: "Panel accounts are declared in the pack: each change becomes a revision. Passwords stay in the box's database, never in the pack."},
	"edit.users.login":        {FR: "Identifiant", EN: "Login"},
	"edit.users.login.help":   {FR: "Minuscules, chiffres, « . », « _ » ou « - » ; ne change plus ensuite.", EN: "Lower-case letters, digits, \".\", \"_\" or \"-\"; it cannot change later."},
	"edit.users.name":         {FR: "Nom", EN: "Name"},
	"edit.users.email":        {FR: "Adresse mail", EN: "E-mail address"},
	"edit.users.role":         {FR: "Rôle", EN: "Role"},
	"edit.users.password":     {FR: "Mot de passe", EN: "Password"},
	"edit.users.password.yes": {FR: "défini", EN: "set"},
	"edit.users.password.no":  {FR: "pas encore", EN: "not yet"},
	"edit.users.disabled":     {FR: "désactivé", EN: "disabled"},
	"edit.users.add":          {FR: "Ajouter un utilisateur", EN: "Add a user"},
	"edit.users.save":         {FR: "Enregistrer", EN: "Save"},
	"edit.users.edit":         {FR: "Modifier", EN: "Edit"},
	"edit.users.remove":       {FR: "Retirer du pack", EN: "Remove from the pack"},
	"edit.users.edit.title":   {FR: "Utilisateur %s", EN: "User %s"},
	"edit.users.remove.title": {FR: "Retirer %s du pack ?", EN: "Remove %s from the pack?"},
	"edit.users.remove.q":     {FR: "%s ne pourra plus se connecter. Ses tickets et commentaires restent. Une nouvelle révision du pack sera appliquée.", EN: "%s will no longer be able to log in. Their tickets and comments stay. A new pack revision will be applied."},
	"edit.users.link":         {FR: "Créer un lien pour choisir le mot de passe", EN: "Make a link to choose the password"},
	"edit.users.link.help":    {FR: "Le lien marche une seule fois, pendant 24 heures ; il remplace tout lien non utilisé. Il n'est montré qu'une fois : transmettez-le à la personne.", EN: "The link works once, for 24 hours; it replaces any unused link. It is shown only once: pass it on to the person."},
	"edit.users.link.title":   {FR: "Lien pour %s", EN: "Link for %s"},
	"edit.users.link.intro":   {FR: "Transmettez ce lien à %s : il lui permet de choisir son mot de passe, une seule fois, avant %s.", EN: "Pass this link on to %s: it lets them choose their password, once, before %s."},
	"edit.users.link.after":   {FR: "Le compte existe. Donnez-lui maintenant un lien pour choisir son mot de passe :", EN: "The account exists. Now give it a link to choose its password:"},
}

func init() { maps.Copy(texts, userTexts) }

// roleNames are the roles a form offers, in this order.
var roleNames = []string{provision.RoleMember, provision.RoleTechnician, provision.RoleAdmin}

// userInput is a user from a form.
type userInput struct {
	Login, Name, Email, Role string
}

func (in *userInput) clean(lang i18n.Lang) string {
	in.Login = strings.TrimSpace(in.Login)
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	in.Role = strings.TrimSpace(in.Role)
	switch {
	case in.Login == "":
		return msgUserNeedLogin.In(lang)
	case !slices.Contains(roleNames, in.Role):
		return msgUserBadRole.Sprintf(lang, in.Role)
	}
	return ""
}

// lastAdmin reports whether login is the pack's only active admin: it may
// not be removed, demoted (or disabled) without leaving the box with
// nobody to run it.
func lastAdmin(pk *provision.Pack, login string) bool {
	if pk == nil {
		return false
	}
	target := false
	for _, u := range pk.Panel.Users {
		if u.Role != provision.RoleAdmin || u.Disabled {
			continue
		}
		if u.Login != login {
			return false
		}
		target = true
	}
	return target
}

// saveUser adds (create) or changes a user as a pack revision.
func (p *Panel) saveUser(c *call, in userInput, create bool) (rev provision.Revision, code int, msg string) {
	if m := in.clean(c.lang); m != "" {
		return rev, http.StatusBadRequest, m
	}
	pk := p.pack()
	old, exists := packUser(pk, in.Login)
	switch {
	case create && exists:
		return rev, http.StatusConflict, msgUserExists.Sprintf(c.lang, in.Login)
	case !create && !exists:
		return rev, http.StatusNotFound, msgUserUnknown.Sprintf(c.lang, in.Login)
	case !create && old.Role == provision.RoleAdmin && in.Role != provision.RoleAdmin && lastAdmin(pk, in.Login):
		return rev, http.StatusConflict, msgLastAdmin.Sprintf(c.lang, in.Login)
	}
	note := "utilisateur modifié / user changed: " + in.Login
	if create {
		note = "utilisateur ajouté / user added: " + in.Login
	}
	rev, err := p.editPack(c.r.Context(), c.currentUser().Login, note, func(d *packedit.Doc) error {
		return d.SetUser(provision.User{Login: in.Login, Name: in.Name, Role: in.Role, Email: in.Email})
	})
	if err != nil {
		return rev, editStatus(err), editMessage(err, c.lang)
	}
	return rev, http.StatusOK, ""
}

// removeUser removes a user from the pack as a pack revision.
func (p *Panel) removeUser(c *call, login string) (rev provision.Revision, code int, msg string) {
	pk := p.pack()
	if _, ok := packUser(pk, login); !ok {
		return rev, http.StatusNotFound, msgUserUnknown.Sprintf(c.lang, login)
	}
	if lastAdmin(pk, login) {
		return rev, http.StatusConflict, msgLastAdmin.Sprintf(c.lang, login)
	}
	rev, err := p.editPack(c.r.Context(), c.currentUser().Login, "utilisateur retiré / user removed: "+login, func(d *packedit.Doc) error {
		return d.RemoveUser(login)
	})
	if err != nil {
		return rev, editStatus(err), editMessage(err, c.lang)
	}
	return rev, http.StatusOK, ""
}

// newSetupLink makes a one-time link that sets login's password, valid for
// ttl, and returns its path on the panel ("/setup/TOKEN"): the caller puts
// the panel's address before it (absURL for a request). The token is
// stored hashed; any unused link made before is withdrawn (store).
func (p *Panel) newSetupLink(ctx context.Context, login string, ttl time.Duration) (string, error) {
	if p.opts.DB == nil {
		return "", i18n.Errorf(msgNoDB)
	}
	if _, ok := packUser(p.pack(), login); !ok {
		return "", i18n.Errorf(msgUserUnknown, login)
	}
	now := p.now()
	token, err := p.opts.DB.NewSetupToken(ctx, login, now, now.Add(ttl))
	if err != nil {
		return "", err
	}
	return "/setup/" + token, nil
}

// absURL is path on the panel as the request reached it.
func (c *call) absURL(path string) string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.r.Host + path
}

// ---- Pages ----

// userRow is one line of the users page.
type userRow struct {
	provision.User
	HasPassword bool
}

type usersData struct {
	Users []userRow
	Roles []string
	Form  userInput
	Flash string
	err   string
}

func (d usersData) errorText() string { return d.err }

// userRows are the pack's users with what the database knows of them.
func (p *Panel) userRows(ctx context.Context) []userRow {
	pk := p.pack()
	if pk == nil {
		return nil
	}
	known := map[string]store.User{}
	if p.opts.DB != nil {
		if list, err := p.opts.DB.Users(ctx); err == nil {
			for _, u := range list {
				known[u.Login] = u
			}
		} else {
			p.log.Error("users: list", "err", err)
		}
	}
	rows := make([]userRow, 0, len(pk.Panel.Users))
	for _, u := range pk.Panel.Users {
		k := known[u.Login]
		u.Disabled = u.Disabled || k.Disabled
		rows = append(rows, userRow{User: u, HasPassword: k.HasPassword})
	}
	return rows
}

func (p *Panel) usersPageWith(c *call, code int, form userInput, err string) {
	if form.Role == "" {
		form.Role = provision.RoleMember
	}
	c.page(code, "users", text(c.lang, "edit.users.title"), "users",
		usersData{Users: p.userRows(c.r.Context()), Roles: roleNames, Form: form, Flash: flash(c), err: err})
}

// usersPage is GET /users.
func (p *Panel) usersPage(c *call) { p.usersPageWith(c, http.StatusOK, userInput{}, "") }

func userFormInput(c *call, login string) userInput {
	return userInput{Login: login, Name: c.r.PostFormValue("name"), Email: c.r.PostFormValue("email"), Role: c.r.PostFormValue("role")}
}

// addUserForm is POST /users: the user is added, then their page offers
// the setup link.
func (p *Panel) addUserForm(c *call) {
	in := userFormInput(c, c.r.PostFormValue("login"))
	rev, code, msg := p.saveUser(c, in, true)
	if msg != "" {
		p.usersPageWith(c, code, in, msg)
		return
	}
	revisionDone(c, "/users/"+url.PathEscape(strings.TrimSpace(in.Login))+"?new=1", rev)
}

type userData struct {
	Form  userInput
	Roles []string
	User  userRow
	Flash string
	New   bool
	err   string
}

func (d userData) errorText() string { return d.err }

// userFor is the pack's user of the route's {login}, or false after a 404.
func (p *Panel) userFor(c *call) (userRow, bool) {
	login := c.param("login")
	for _, r := range p.userRows(c.r.Context()) {
		if r.Login == login {
			return r, true
		}
	}
	c.fail(http.StatusNotFound, msgUserUnknown, login)
	return userRow{}, false
}

// userPage is GET /users/{login}.
func (p *Panel) userPage(c *call) {
	u, ok := p.userFor(c)
	if !ok {
		return
	}
	c.page(http.StatusOK, "user", text(c.lang, "edit.users.edit.title", u.Login), "users", userData{
		Form: userInput{Login: u.Login, Name: u.Name, Email: u.Email, Role: u.Role}, Roles: roleNames, User: u,
		Flash: flash(c), New: c.r.URL.Query().Get("new") == "1" && !u.HasPassword,
	})
}

// changeUserForm is POST /users/{login}.
func (p *Panel) changeUserForm(c *call) {
	u, ok := p.userFor(c)
	if !ok {
		return
	}
	in := userFormInput(c, u.Login)
	rev, code, msg := p.saveUser(c, in, false)
	if msg != "" {
		c.page(code, "user", text(c.lang, "edit.users.edit.title", u.Login), "users", userData{Form: in, Roles: roleNames, User: u, err: msg})
		return
	}
	revisionDone(c, "/users", rev)
}

func (p *Panel) removeUserConfirm(c *call, login, err string) confirmData {
	return confirmData{
		Question: text(c.lang, "edit.users.remove.q", login),
		Action:   "/users/" + url.PathEscape(login) + "/delete",
		Button:   text(c.lang, "edit.users.remove"),
		Back:     "/users/" + url.PathEscape(login),
		err:      err,
	}
}

// removeUserPage is GET /users/{login}/delete: the question.
func (p *Panel) removeUserPage(c *call) {
	u, ok := p.userFor(c)
	if !ok {
		return
	}
	d := p.removeUserConfirm(c, u.Login, "")
	code := http.StatusOK
	if lastAdmin(p.pack(), u.Login) {
		// Said before the click, not after.
		d.err, code = msgLastAdmin.Sprintf(c.lang, u.Login), http.StatusConflict
	}
	c.page(code, "confirm", text(c.lang, "edit.users.remove.title", u.Login), "users", d)
}

// removeUserForm is POST /users/{login}/delete.
func (p *Panel) removeUserForm(c *call) {
	u, ok := p.userFor(c)
	if !ok {
		return
	}
	rev, code, msg := p.removeUser(c, u.Login)
	if msg != "" {
		c.page(code, "confirm", text(c.lang, "edit.users.remove.title", u.Login), "users", p.removeUserConfirm(c, u.Login, msg))
		return
	}
	revisionDone(c, "/users", rev)
}

type setupLinkData struct {
	Login, URL string
	Expires    time.Time
}

// setupLinkForm is POST /users/{login}/setup-link: a new link, shown once
// to the admin (never logged, never stored in clear).
func (p *Panel) setupLinkForm(c *call) {
	u, ok := p.userFor(c)
	if !ok {
		return
	}
	path, err := p.newSetupLink(c.r.Context(), u.Login, UserSetupLinkTTL)
	if err != nil {
		p.log.Error("setup link for a user", "login", u.Login, "err", err)
		c.fail(http.StatusInternalServerError, msgSetupLinkFailed, i18n.Localize(err, c.lang))
		return
	}
	p.log.Info("setup link made", "login", u.Login, "by", c.currentUser().Login)
	// The link is a secret: no cache may keep the page.
	c.w.Header().Set("Cache-Control", "no-store")
	c.page(http.StatusOK, "setuplink", text(c.lang, "edit.users.link.title", u.Login), "users",
		setupLinkData{Login: u.Login, URL: c.absURL(path), Expires: p.now().Add(UserSetupLinkTTL)})
}

// apiUsers is GET /api/users: the pack's users, with whether they have a
// password (never the hash).
func (p *Panel) apiUsers(c *call) {
	type out struct {
		provision.User
		HasPassword bool `json:"has_password"`
	}
	list := []out{}
	for _, r := range p.userRows(c.r.Context()) {
		list = append(list, out{r.User, r.HasPassword})
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"users": list})
}
