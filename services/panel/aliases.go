package panel

import (
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/packedit"
)

// Mail aliases (admins): the pack's mail.aliases, edited as pack revisions
// (edit.go). The checks are the pack's own (provision.Load): an address in
// one of the box's mail domains, recipients that are addresses or panel
// logins with an e-mail, no loop. Pages and the API share them.

var (
	msgAliasNeedAddress = i18n.M{FR: "l'adresse de l'alias est obligatoire", EN: "the alias's address is required"}
	msgAliasNeedTo      = i18n.M{FR: "donnez au moins un destinataire (une adresse ou un identifiant par ligne)", EN: "give at least one recipient (one address or login per line)"}
	msgAliasExists      = i18n.M{FR: "l'alias « %s » existe déjà : modifiez-le plutôt", EN: "alias %q already exists: edit it instead"}
	msgAliasUnknown     = i18n.M{FR: "l'alias « %s » n'existe pas", EN: "alias %q does not exist"}
)

var aliasTexts = map[string]i18n.M{
	"nav.aliases":               {FR: "Adresses mail", EN: "Mail addresses"},
	"edit.aliases.title":        {FR: "Adresses mail", EN: "Mail addresses"},
	"edit.aliases.intro":        {FR: "Les alias font suivre le courrier d'une adresse de la box vers d'autres. Chaque modification devient une révision du pack.", EN: "Aliases forward the mail of one of the box's addresses to others. Each change becomes a pack revision."},
	"edit.aliases.none":         {FR: "Aucun alias pour l'instant.", EN: "No alias yet."},
	"edit.aliases.address":      {FR: "Adresse", EN: "Address"},
	"edit.aliases.to":           {FR: "Destinataires", EN: "Recipients"},
	"edit.aliases.to.help":      {FR: "Une adresse ou un identifiant du panneau par ligne.", EN: "One address or panel login per line."},
	"edit.aliases.add":          {FR: "Ajouter un alias", EN: "Add an alias"},
	"edit.aliases.save":         {FR: "Enregistrer", EN: "Save"},
	"edit.aliases.edit":         {FR: "Modifier", EN: "Edit"},
	"edit.aliases.delete":       {FR: "Supprimer", EN: "Delete"},
	"edit.aliases.edit.title":   {FR: "Alias %s", EN: "Alias %s"},
	"edit.aliases.delete.title": {FR: "Supprimer l'alias %s ?", EN: "Delete alias %s?"},
	"edit.aliases.delete.q":     {FR: "Le courrier envoyé à %s ne sera plus distribué. Une nouvelle révision du pack sera appliquée.", EN: "Mail sent to %s will no longer be delivered. A new pack revision will be applied."},
	"edit.aliases.domains":      {FR: "Domaines de courrier de la box : %s", EN: "The box's mail domains: %s"},
	"edit.applied":              {FR: "Révision %d appliquée.", EN: "Revision %d applied."},
	"edit.back":                 {FR: "Retour", EN: "Back"},
	"edit.confirm":              {FR: "Confirmer", EN: "Confirm"},
}

func init() { maps.Copy(texts, aliasTexts) }

// aliasInput is an alias from a form or the API.
type aliasInput struct {
	Address string   `json:"address"`
	To      []string `json:"to"`
}

// recipients reads the form's recipients: one per line (commas too).
func recipients(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// clean trims the input and returns its first problem, "" when none.
func (in *aliasInput) clean(lang i18n.Lang) string {
	in.Address = strings.TrimSpace(in.Address)
	to := in.To[:0:0]
	for _, t := range in.To {
		if t = strings.TrimSpace(t); t != "" {
			to = append(to, t)
		}
	}
	in.To = to
	switch {
	case in.Address == "":
		return msgAliasNeedAddress.In(lang)
	case len(in.To) == 0:
		return msgAliasNeedTo.In(lang)
	}
	return ""
}

// findAlias is the applied pack's alias for address (compared as Postfix
// does), ok=false when none.
func findAlias(pk *provision.Pack, address string) (provision.Alias, bool) {
	if pk == nil {
		return provision.Alias{}, false
	}
	key, ok := provision.EmailASCII(address)
	for _, a := range pk.Mail.Aliases {
		if k, _ := provision.EmailASCII(a.Address); ok && k == key || a.Address == address {
			return a, true
		}
	}
	return provision.Alias{}, false
}

// saveAlias adds (create) or changes an alias as a pack revision. code is
// 200/201 or an error's status with its message.
func (p *Panel) saveAlias(c *call, in aliasInput, create bool) (rev provision.Revision, code int, msg string) {
	if m := in.clean(c.lang); m != "" {
		return rev, http.StatusBadRequest, m
	}
	_, exists := findAlias(p.pack(), in.Address)
	switch {
	case create && exists:
		return rev, http.StatusConflict, msgAliasExists.Sprintf(c.lang, in.Address)
	case !create && !exists:
		return rev, http.StatusNotFound, msgAliasUnknown.Sprintf(c.lang, in.Address)
	}
	verb := "alias modifié / alias changed: "
	if create {
		verb = "alias ajouté / alias added: "
	}
	rev, err := p.editPack(c.r.Context(), c.currentUser().Login, verb+in.Address, func(d *packedit.Doc) error {
		return d.SetAlias(in.Address, in.To)
	})
	if err != nil {
		return rev, editStatus(err), editMessage(err, c.lang)
	}
	if create {
		return rev, http.StatusCreated, ""
	}
	return rev, http.StatusOK, ""
}

// deleteAlias removes an alias as a pack revision.
func (p *Panel) deleteAlias(c *call, address string) (rev provision.Revision, code int, msg string) {
	a, ok := findAlias(p.pack(), address)
	if !ok {
		return rev, http.StatusNotFound, msgAliasUnknown.Sprintf(c.lang, address)
	}
	rev, err := p.editPack(c.r.Context(), c.currentUser().Login, "alias supprimé / alias removed: "+a.Address, func(d *packedit.Doc) error {
		return d.RemoveAlias(a.Address)
	})
	if err != nil {
		return rev, editStatus(err), editMessage(err, c.lang)
	}
	return rev, http.StatusOK, ""
}

// ---- Pages ----

// aliasesData is the aliases page: the list, the add form (kept after an
// error) and the flash of the last edit.
type aliasesData struct {
	Aliases []provision.Alias
	Domains string
	Form    aliasForm
	Flash   string
	err     string
}

func (d aliasesData) errorText() string { return d.err }

// aliasForm is the add or edit form's fields, as typed.
type aliasForm struct {
	Address, To string
}

func (p *Panel) aliasesPageWith(c *call, code int, form aliasForm, err string) {
	d := aliasesData{Form: form, Flash: flash(c), err: err}
	if pk := p.pack(); pk != nil {
		d.Aliases = pk.Mail.Aliases
		d.Domains = strings.Join(pk.Mail.Domains, ", ")
	}
	c.page(code, "aliases", text(c.lang, "edit.aliases.title"), "aliases", d)
}

// aliasesPage is GET /aliases.
func (p *Panel) aliasesPage(c *call) { p.aliasesPageWith(c, http.StatusOK, aliasForm{}, "") }

// addAliasForm is POST /aliases.
func (p *Panel) addAliasForm(c *call) {
	form := aliasForm{Address: c.r.PostFormValue("address"), To: c.r.PostFormValue("to")}
	rev, code, msg := p.saveAlias(c, aliasInput{Address: form.Address, To: recipients(form.To)}, true)
	if msg != "" {
		p.aliasesPageWith(c, code, form, msg)
		return
	}
	revisionDone(c, "/aliases", rev)
}

// aliasData is the page of one alias: its edit form, or the question
// before deleting it.
type aliasData struct {
	Address string
	Form    aliasForm
	err     string
}

func (d aliasData) errorText() string { return d.err }

// aliasFor is the alias of the route's {address}, or nil after a 404.
func (p *Panel) aliasFor(c *call) *provision.Alias {
	a, ok := findAlias(p.pack(), c.param("address"))
	if !ok {
		c.fail(http.StatusNotFound, msgAliasUnknown, c.param("address"))
		return nil
	}
	return &a
}

// aliasPage is GET /aliases/{address}.
func (p *Panel) aliasPage(c *call) {
	a := p.aliasFor(c)
	if a == nil {
		return
	}
	c.page(http.StatusOK, "alias", text(c.lang, "edit.aliases.edit.title", a.Address), "aliases",
		aliasData{Address: a.Address, Form: aliasForm{Address: a.Address, To: strings.Join(a.To, "\n")}})
}

// changeAliasForm is POST /aliases/{address}.
func (p *Panel) changeAliasForm(c *call) {
	a := p.aliasFor(c)
	if a == nil {
		return
	}
	form := aliasForm{Address: a.Address, To: c.r.PostFormValue("to")}
	rev, code, msg := p.saveAlias(c, aliasInput{Address: a.Address, To: recipients(form.To)}, false)
	if msg != "" {
		c.page(code, "alias", text(c.lang, "edit.aliases.edit.title", a.Address), "aliases", aliasData{Address: a.Address, Form: form, err: msg})
		return
	}
	revisionDone(c, "/aliases", rev)
}

// confirmData is a page that asks before a change that cannot be taken
// back by a click (a deletion, going back to an old revision).
type confirmData struct {
	Question string
	Action   string // where the form posts
	Button   string
	Back     string
	err      string
}

func (d confirmData) errorText() string { return d.err }

// deleteAliasPage is GET /aliases/{address}/delete: the question.
func (p *Panel) deleteAliasPage(c *call) {
	a := p.aliasFor(c)
	if a == nil {
		return
	}
	c.page(http.StatusOK, "confirm", text(c.lang, "edit.aliases.delete.title", a.Address), "aliases", confirmData{
		Question: text(c.lang, "edit.aliases.delete.q", a.Address),
		Action:   "/aliases/" + url.PathEscape(a.Address) + "/delete",
		Button:   text(c.lang, "edit.aliases.delete"),
		Back:     "/aliases",
	})
}

// deleteAliasForm is POST /aliases/{address}/delete.
func (p *Panel) deleteAliasForm(c *call) {
	a := p.aliasFor(c)
	if a == nil {
		return
	}
	rev, code, msg := p.deleteAlias(c, a.Address)
	if msg != "" {
		c.page(code, "confirm", text(c.lang, "edit.aliases.delete.title", a.Address), "aliases", confirmData{
			Question: text(c.lang, "edit.aliases.delete.q", a.Address),
			Action:   "/aliases/" + url.PathEscape(a.Address) + "/delete",
			Button:   text(c.lang, "edit.aliases.delete"),
			Back:     "/aliases",
			err:      msg,
		})
		return
	}
	revisionDone(c, "/aliases", rev)
}

// ---- API ----

// apiAliases is GET /api/aliases.
func (p *Panel) apiAliases(c *call) {
	list := []provision.Alias{}
	if pk := p.pack(); pk != nil {
		list = append(list, pk.Mail.Aliases...)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"aliases": list})
}

// apiAddAlias is POST /api/aliases: {"address","to"} → 201 with the new
// revision.
func (p *Panel) apiAddAlias(c *call) {
	var in aliasInput
	if !c.decodeJSON(&in) {
		return
	}
	rev, code, msg := p.saveAlias(c, in, true)
	if msg != "" {
		c.jsonError(code, msg)
		return
	}
	c.w.Header().Set("Location", "/api/aliases/"+url.PathEscape(in.Address))
	writeJSON(c.w, code, map[string]any{"alias": in, "revision": rev})
}

// apiAlias is GET /api/aliases/{address}.
func (p *Panel) apiAlias(c *call) {
	a, ok := findAlias(p.pack(), c.param("address"))
	if !ok {
		c.fail(http.StatusNotFound, msgAliasUnknown, c.param("address"))
		return
	}
	writeJSON(c.w, http.StatusOK, a)
}

// apiPutAlias is PUT /api/aliases/{address}: {"to": [...]} replaces the
// recipients of an alias, or creates it.
func (p *Panel) apiPutAlias(c *call) {
	var in aliasInput
	if !c.decodeJSON(&in) {
		return
	}
	address := c.param("address")
	if in.Address != "" && in.Address != address {
		c.jsonError(http.StatusBadRequest, msgAliasNeedAddress.In(c.lang))
		return
	}
	in.Address = address
	_, exists := findAlias(p.pack(), address)
	rev, code, msg := p.saveAlias(c, in, !exists)
	if msg != "" {
		c.jsonError(code, msg)
		return
	}
	writeJSON(c.w, code, map[string]any{"alias": in, "revision": rev})
}

// apiDeleteAlias is DELETE /api/aliases/{address}.
func (p *Panel) apiDeleteAlias(c *call) {
	rev, code, msg := p.deleteAlias(c, c.param("address"))
	if msg != "" {
		c.jsonError(code, msg)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"revision": rev})
}
