package panel

import (
	"errors"
	"maps"
	"net/http"
	"net/url"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/packedit"
	"github.com/ruche-box/ruche/provision/store"
)

// Account lifecycle, for admins: disable a volunteer who leaves (their
// tickets, comments and audit entries keep their author; they can no
// longer log in, to the panel or the wiki, and get no mail), enable them
// again, and mail a member a password reset link (reset.go). Disabling is
// a pack change (panel.users[].disabled), made as a revision like every
// other panel edit (edit.go): the pack stays the one truth, and `ruche
// apply` of an older pack shows the change in its diff.
//
// The RGPD export and erasure are in rgpd.go.

var lifecycleTexts = map[string]i18n.M{
	"life.title":          {FR: "Cycle de vie du compte", EN: "Account lifecycle"},
	"life.disabled":       {FR: "Ce compte est désactivé : personne ne peut s'y connecter, ni au panneau ni au wiki, et il ne reçoit aucun courrier. Ses tickets et son historique restent.", EN: "This account is disabled: nobody can log in with it, to the panel or the wiki, and it gets no mail. Its tickets and history stay."},
	"life.disable":        {FR: "Désactiver", EN: "Disable"},
	"life.enable":         {FR: "Réactiver", EN: "Enable"},
	"life.disable.title":  {FR: "Désactiver %s", EN: "Disable %s"},
	"life.enable.title":   {FR: "Réactiver %s", EN: "Enable %s"},
	"life.disable.q":      {FR: "Désactiver le compte « %s » ? La personne ne pourra plus se connecter (panneau et wiki), ses sessions ouvertes se terminent à sa prochaine requête et elle ne recevra plus de courrier. Ses tickets, commentaires et entrées du journal restent. Vous pourrez la réactiver.", EN: "Disable the account %q? The person can no longer log in (panel and wiki), their open sessions end at their next request and they get no more mail. Their tickets, comments and log entries stay. You can enable them again."},
	"life.enable.q":       {FR: "Réactiver le compte « %s » ? La personne pourra se connecter avec son ancien mot de passe.", EN: "Enable the account %q? The person can log in with their former password."},
	"life.disable.help":   {FR: "Pour un·e bénévole qui part : le compte reste, sans accès.", EN: "For a volunteer who leaves: the account stays, without access."},
	"life.reset":          {FR: "Envoyer un lien de réinitialisation", EN: "Send a reset link"},
	"life.reset.help":     {FR: "Un lien valable une heure part à l'adresse e-mail du compte.", EN: "A link valid for one hour goes to the account's e-mail address."},
	"life.reset.sent":     {FR: "Un lien de réinitialisation a été envoyé à %s.", EN: "A reset link was sent to %s."},
	"life.export":         {FR: "Exporter ses données (RGPD)", EN: "Export their data (GDPR)"},
	"life.erase":          {FR: "Effacer ses données (RGPD)", EN: "Erase their data (GDPR)"},
	"life.erase.title":    {FR: "Effacer les données de %s", EN: "Erase the data of %s"},
	"life.erase.intro":    {FR: "À la demande de la personne, l'effacement :", EN: "At the person's request, the erasure:"},
	"life.erase.pack":     {FR: "la retire du pack (une nouvelle révision), donc du panneau, du wiki et des alias ;", EN: "removes them from the pack (a new revision), so from the panel, the wiki and the aliases;"},
	"life.erase.secrets":  {FR: "supprime son mot de passe, ses sessions et ses liens en cours ;", EN: "deletes their password, sessions and pending links;"},
	"life.erase.pseudo":   {FR: "remplace son identifiant, son nom et son adresse partout par « %s » (ou le numéro suivant) ;", EN: "replaces their login, name and address everywhere by %q (or the next number);"},
	"life.erase.texts":    {FR: "remplace les textes qu'elle a écrits (tickets, commentaires) par « effacé à la demande de la personne » ; les tickets, leur catégorie, leurs dates et leurs minutes restent ;", EN: "replaces the texts they wrote (tickets, comments) by \"erased at the person's request\"; the tickets, their category, dates and minutes stay;"},
	"life.erase.audit":    {FR: "note l'effacement au journal, sous le pseudonyme.", EN: "records the erasure in the log, under the pseudonym."},
	"life.erase.undo":     {FR: "C'est définitif. Les sauvegardes déjà faites gardent leur copie jusqu'à ce que leur durée de conservation les efface.", EN: "It cannot be undone. Backups already made keep their copy until their retention drops them."},
	"life.erase.export":   {FR: "Proposez d'abord à la personne l'export de ses données :", EN: "Offer the person the export of their data first:"},
	"life.erase.button":   {FR: "Effacer définitivement", EN: "Erase for good"},
	"life.erase.done":     {FR: "Données effacées : la personne s'appelle désormais « %s » dans les tickets et le journal.", EN: "Data erased: the person is now %q in the tickets and the log."},
	"life.erased.title":   {FR: "Effacement fait", EN: "Erasure done"},
	"account.export":      {FR: "Exporter mes données", EN: "Export my data"},
	"account.export.help": {FR: "Un fichier JSON avec ce que la box garde de vous : profil, tickets, commentaires, journal, sessions (RGPD).", EN: "A JSON file with what the box keeps about you: profile, tickets, comments, log, sessions (GDPR)."},
	"reset.title":         {FR: "Mot de passe oublié", EN: "Forgotten password"},
	"reset.intro":         {FR: "Indiquez votre identifiant ou votre adresse e-mail : un lien pour choisir un nouveau mot de passe sera envoyé à l'adresse du compte.", EN: "Give your login or your e-mail address: a link to choose a new password will go to the account's address."},
	"reset.who":           {FR: "Identifiant ou adresse e-mail", EN: "Login or e-mail address"},
	"reset.submit":        {FR: "Recevoir un lien", EN: "Get a link"},
	"reset.sent":          {FR: "Si ce compte existe et a une adresse e-mail, un lien y a été envoyé. Il est valable une heure.", EN: "If this account exists and has an e-mail address, a link was sent to it. It is valid for one hour."},
	"reset.back":          {FR: "Retour à la connexion", EN: "Back to logging in"},
	"reset.link":          {FR: "Mot de passe oublié ?", EN: "Forgot your password?"},
	"reset.set.title":     {FR: "Nouveau mot de passe", EN: "New password"},
	"reset.set.intro":     {FR: "Choisissez le nouveau mot de passe du compte %s. Vos autres sessions seront fermées.", EN: "Choose the new password of the account %s. Your other sessions will be closed."},
}

func init() { maps.Copy(texts, lifecycleTexts) }

var (
	msgLifeNotInPack = i18n.M{
		FR: "« %s » n'est plus dans le pack : rien à désactiver ni à réactiver",
		EN: "%q is no longer in the pack: nothing to disable or enable",
	}
	msgLifeNoLink = i18n.M{
		FR: "aucun lien envoyé à « %s » : %s",
		EN: "no link sent to %q: %s",
	}
)

// setDisabled disables or enables login as a pack revision. The last
// active admin cannot be disabled: the box would have nobody to run it
// (validation refuses it too; said here with the user's name).
func (p *Panel) setDisabled(c *call, login string, disabled bool) (rev provision.Revision, code int, msg string) {
	pk := p.pack()
	u, ok := packUser(pk, login)
	switch {
	case !ok:
		return rev, http.StatusNotFound, msgLifeNotInPack.Sprintf(c.lang, login)
	case disabled && u.Role == provision.RoleAdmin && lastAdmin(pk, login):
		return rev, http.StatusConflict, msgLastAdmin.Sprintf(c.lang, login)
	}
	if u.Disabled == disabled {
		// Already so (a form posted twice): nothing to change, no
		// empty revision, and no error either.
		return rev, http.StatusOK, ""
	}
	note := "utilisateur désactivé / user disabled: " + login
	if !disabled {
		note = "utilisateur réactivé / user enabled: " + login
	}
	rev, err := p.editPack(c.r.Context(), c.currentUser().Login, note, func(d *packedit.Doc) error {
		return d.SetUserDisabled(login, disabled)
	})
	if err != nil {
		return rev, editStatus(err), editMessage(err, c.lang)
	}
	p.log.Info("user "+map[bool]string{true: "disabled", false: "enabled"}[disabled], "login", login, "by", c.currentUser().Login, "revision", rev.Number)
	return rev, http.StatusOK, ""
}

func (p *Panel) disableConfirm(c *call, login string, disabled bool, err string) confirmData {
	verb := "enable"
	if disabled {
		verb = "disable"
	}
	return confirmData{
		Question: text(c.lang, "life."+verb+".q", login),
		Action:   "/users/" + url.PathEscape(login) + "/" + verb,
		Button:   text(c.lang, "life."+verb),
		Back:     "/users/" + url.PathEscape(login),
		err:      err,
	}
}

// disablePage is GET /users/{login}/disable, enablePage GET
// /users/{login}/enable: the question, before a POST.
func (p *Panel) disablePage(c *call) { p.disableQuestion(c, true) }
func (p *Panel) enablePage(c *call)  { p.disableQuestion(c, false) }

func (p *Panel) disableQuestion(c *call, disabled bool) {
	u, ok := p.userFor(c)
	if !ok {
		return
	}
	d := p.disableConfirm(c, u.Login, disabled, "")
	code := http.StatusOK
	if disabled && u.Role == provision.RoleAdmin && lastAdmin(p.pack(), u.Login) {
		d.err, code = msgLastAdmin.Sprintf(c.lang, u.Login), http.StatusConflict
	}
	c.page(code, "confirm", text(c.lang, "life."+map[bool]string{true: "disable", false: "enable"}[disabled]+".title", u.Login), "users", d)
}

// disableForm is POST /users/{login}/disable, enableForm POST
// /users/{login}/enable. Two routes rather than a toggle: a form posted
// twice (a reload) leaves the account as the admin asked.
func (p *Panel) disableForm(c *call) { p.disableAnswer(c, true) }
func (p *Panel) enableForm(c *call)  { p.disableAnswer(c, false) }

func (p *Panel) disableAnswer(c *call, disabled bool) {
	u, ok := p.userFor(c)
	if !ok {
		return
	}
	rev, code, msg := p.setDisabled(c, u.Login, disabled)
	if msg != "" {
		c.page(code, "confirm", text(c.lang, "life."+map[bool]string{true: "disable", false: "enable"}[disabled]+".title", u.Login), "users",
			p.disableConfirm(c, u.Login, disabled, msg))
		return
	}
	if rev.Number == 0 {
		c.redirect("/users/" + url.PathEscape(u.Login))
		return
	}
	revisionDone(c, "/users/"+url.PathEscape(u.Login), rev)
}

// resetLinkForm is POST /users/{login}/reset-link: an admin mails a member
// a reset link (the member's own address, from the pack; the admin never
// sees the link). Unlike the public form, the admin is told why no link
// went: they may fix it.
func (p *Panel) resetLinkForm(c *call) {
	u, ok := p.userFor(c)
	if !ok {
		return
	}
	pu, _ := packUser(p.pack(), u.Login)
	if err := p.sendResetLink(c, pu); err != nil {
		code := http.StatusConflict
		if !errors.Is(err, store.ErrDisabled) && !errors.Is(err, errResetNoEmail) && !errors.Is(err, errResetNoMail) {
			p.log.Error("reset link by an admin", "login", u.Login, "err", err)
			code = http.StatusInternalServerError
		}
		c.fail(code, msgLifeNoLink, u.Login, i18n.Localize(err, c.lang))
		return
	}
	// The page says where the link went (the address the pack gives,
	// which the admin can see anyway), never the link.
	c.page(http.StatusOK, "lifedone", text(c.lang, "life.reset"), "users", lifeDone{
		Message: text(c.lang, "life.reset.sent", pu.Email), Back: "/users/" + url.PathEscape(u.Login),
	})
}

// lifeDone is the page after an action that has nothing to go back to:
// a message and a link.
type lifeDone struct {
	Message, Back string
}
