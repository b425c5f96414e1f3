package sites

import (
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/templates"
)

// TemplateInfo describes a site template for the people who pick one: the
// panel's "new site" form lists them (the daemon hands Templates to the
// panel, which does not import this package).
type TemplateInfo struct {
	Name        string
	Description i18n.M
	Params      []ParamInfo
}

// ParamInfo is one param a template reads, with what a form needs to ask
// for it: a label, a hint of the form it takes, and whether it spans
// several lines.
type ParamInfo struct {
	Name      string
	Label     i18n.M
	Hint      i18n.M
	Multiline bool
}

// Templates lists the site templates Ruche knows, in templates.Names
// order, each with the params templates.Params says it reads. A template
// or param without words here still appears, under its name: adding a
// template must not hide it from the panel.
func Templates() []TemplateInfo {
	var out []TemplateInfo
	for _, name := range templates.Names() {
		ti := TemplateInfo{Name: name, Description: templateWords[name]}
		if ti.Description == (i18n.M{}) {
			ti.Description = i18n.M{FR: name, EN: name}
		}
		for _, prm := range templates.Params(name) {
			pi := ParamInfo{Name: prm.Name, Label: paramLabels[prm.Name], Hint: kindHints[prm.Kind],
				Multiline: prm.Kind == templates.ParamLines || prm.Kind == templates.ParamLinks}
			if pi.Label == (i18n.M{}) {
				pi.Label = i18n.M{FR: prm.Name, EN: prm.Name}
			}
			ti.Params = append(ti.Params, pi)
		}
		out = append(out, ti)
	}
	return out
}

// templateWords say what each template is for, as docs/sites.md does.
var templateWords = map[string]i18n.M{
	"showcase": {
		FR: "Vitrine : le site de l'association, des pages de texte avec l'adresse, le téléphone, les horaires et des liens sur le côté.",
		EN: "Showcase: the association's site, pages of text with the address, phone, opening hours and links on the side.",
	},
	"event": {
		FR: "Événement : une fête, une journée portes ouvertes ; quand, où, un bouton « S'inscrire » et un fichier agenda.",
		EN: "Event: a party, an open day; when, where, a \"Register\" button and a calendar file.",
	},
	"news": {
		FR: "Journal : des articles datés (une page avec une date), listés sur l'accueil et dans un flux Atom.",
		EN: "News: dated posts (a page with a date), listed on the home page and in an Atom feed.",
	},
}

var paramLabels = map[string]i18n.M{
	"tagline":      {FR: "Sous-titre", EN: "Tagline"},
	"address":      {FR: "Adresse", EN: "Address"},
	"phone":        {FR: "Téléphone", EN: "Phone"},
	"email":        {FR: "E-mail", EN: "E-mail"},
	"hours":        {FR: "Horaires", EN: "Opening hours"},
	"links":        {FR: "Liens", EN: "Links"},
	"date":         {FR: "Date", EN: "Date"},
	"time":         {FR: "Heure de début", EN: "Start time"},
	"end":          {FR: "Fin", EN: "End"},
	"place":        {FR: "Lieu", EN: "Place"},
	"registration": {FR: "Inscription (adresse)", EN: "Registration (address)"},
}

var kindHints = map[templates.ParamKind]i18n.M{
	templates.ParamText:  {FR: "une ligne", EN: "one line"},
	templates.ParamLines: {FR: "une ou plusieurs lignes", EN: "one or more lines"},
	templates.ParamDate:  {FR: "AAAA-MM-JJ, comme 2026-06-21", EN: "YYYY-MM-DD, like 2026-06-21"},
	templates.ParamTime:  {FR: "HH:MM, comme 18:30", EN: "HH:MM, like 18:30"},
	templates.ParamEnd:   {FR: "HH:MM, AAAA-MM-JJ ou « AAAA-MM-JJ HH:MM »", EN: "HH:MM, YYYY-MM-DD or \"YYYY-MM-DD HH:MM\""},
	templates.ParamURL:   {FR: "https://… ou un chemin du site comme /uploads/bulletin.pdf", EN: "https://… or a path on the site like /uploads/form.pdf"},
	templates.ParamEmail: {FR: "une adresse e-mail", EN: "an e-mail address"},
	templates.ParamPhone: {FR: "comme 04 72 00 00 00 ou +33 4 72 00 00 00", EN: "like +44 20 7946 0000"},
	templates.ParamLinks: {FR: "une ligne par lien : Texte|https://…", EN: "one link per line: Label|https://…"},
}
