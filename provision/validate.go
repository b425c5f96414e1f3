package provision

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata"
	"unicode" // zone names validate the same on a box without tzdata

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/idna"

	"github.com/ruche-box/ruche/provision/calendar"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/templates"
)

// KnownTemplates are the site templates a pack may name: those embedded in
// the binary (package templates), in the order the messages list them.
var KnownTemplates = templates.Names()

// ReservedSiteNames are taken by the box's own LAN names
// (<hostname>.local is the panel, wiki-<hostname>.local the wiki).
var ReservedSiteNames = []string{"panel", "wiki"}

// Defaults a pack gets for what it leaves out (see Defaults).
const (
	DefaultLocale   = "fr"
	DefaultTimezone = "UTC"
	DefaultTLS      = "internal"
	DefaultSchedule = "*-*-* 02:30"
	DefaultSMTPPort = 587
)

// Load decodes and validates a pack, returning every problem at once, in
// file order. On success the pack has its defaults applied (Defaults), so
// render sees a complete pack. On failure the error is an ErrorList; the
// pack, when the file could be read at all, is returned too so that the
// caller can speak its locale, and must not be applied.
func Load(file string, data []byte) (*Pack, error) {
	p, err := Decode(file, data)
	if p == nil {
		return nil, err
	}
	var errs ErrorList
	if err != nil {
		errs = err.(ErrorList)
	}
	hidden := map[string]bool{}
	for _, e := range errs {
		if e.hides != "" {
			hidden[e.hides] = true
		}
	}
	for _, e := range Validate(p) {
		if !isHidden(e.Path, hidden) {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return p, errs
	}
	p.Defaults()
	return p, nil
}

// isHidden reports whether a validation error at path is about a field a
// decoding error already covers (see FieldError.hides), or inside one.
func isHidden(path string, hidden map[string]bool) bool {
	if len(hidden) == 0 {
		return false
	}
	for {
		if hidden[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

// Defaults fills what a pack may leave out, so that render sees a complete
// pack. Load calls it after validation; it is idempotent.
//
// The time zone defaults to UTC: the box cannot guess where it is, and UTC
// never shifts a backup by an hour twice a year behind anyone's back; an
// association in France writes "timezone: Europe/Paris".
func (p *Pack) Defaults() {
	if p.Association.Locale == "" {
		p.Association.Locale = DefaultLocale
	}
	if p.Box.Timezone == "" {
		p.Box.Timezone = DefaultTimezone
	}
	if p.Box.TLS == "" {
		p.Box.TLS = DefaultTLS
	}
	// A wiki with no editors line is edited by the association: admins and
	// members. "editors: []" (read-only) is kept as written.
	if p.Wiki.Enabled && p.Wiki.Editors == nil {
		p.Wiki.Editors = []string{RoleAdmin, RoleMember}
	}
	if p.Mail.Relay != nil && p.Mail.Relay.Port == 0 {
		p.Mail.Relay.Port = DefaultSMTPPort
	}
	if p.Backup.Schedule == "" {
		p.Backup.Schedule = DefaultSchedule
	}
}

// Messages of validation. French quotes values as « x », English as "x".
var (
	msgRequired = i18n.M{
		FR: "ce champ est obligatoire",
		EN: "this field is required",
	}
	msgSlug = i18n.M{
		FR: "« %s » ne convient pas : de 2 à 40 lettres minuscules, chiffres ou « - », sans « - » au début ni à la fin",
		EN: "%q is not a valid slug: 2 to 40 lowercase letters, digits or '-', not starting or ending with '-'",
	}
	msgLocale = i18n.M{
		FR: "« %s » n'est pas une langue connue : fr ou en",
		EN: "%q is not a known language: fr or en",
	}
	msgEmail = i18n.M{
		FR: "« %s » n'est pas une adresse e-mail",
		EN: "%q is not an e-mail address",
	}
	msgHostname = i18n.M{
		FR: "« %s » n'est pas un nom de machine : jusqu'à 63 lettres minuscules, chiffres ou « - », sans « - » au début ni à la fin",
		EN: "%q is not a machine name: up to 63 lowercase letters, digits or '-', not starting or ending with '-'",
	}
	msgWikiLabel = i18n.M{
		FR: "nom trop long pour le wiki : wiki-%s.local dépasse 63 caractères",
		EN: "name too long for the wiki: wiki-%s.local is over 63 characters",
	}
	msgTimezone = i18n.M{
		FR: "« %s » n'est pas un fuseau horaire connu (par exemple Europe/Paris)",
		EN: "%q is not a known time zone (for example Europe/Paris)",
	}
	msgTLS = i18n.M{
		FR: "« %s » ne convient pas : internal, acme ou off",
		EN: "%q is not a TLS mode: internal, acme or off",
	}
	msgACMENoDomain = i18n.M{
		FR: "acme demande un nom de domaine public : donnez box.domain ou les domains d'un site",
		EN: "acme needs a public domain name: give box.domain or a site's domains",
	}
	msgDomain = i18n.M{
		FR: "« %s » n'est pas un nom de domaine",
		EN: "%q is not a domain name",
	}
	msgDomainEmpty = i18n.M{
		FR: "nom de domaine vide",
		EN: "empty domain name",
	}
	msgDomainDot = i18n.M{
		FR: "« %s » finit par un point : écrivez-le sans",
		EN: "%q ends with a dot: write it without",
	}
	msgDomainIP = i18n.M{
		FR: "« %s » est une adresse IP, pas un nom de domaine",
		EN: "%q is an IP address, not a domain name",
	}
	msgDomainOneLabel = i18n.M{
		FR: "« %s » n'est pas un nom de domaine complet (comme cafe-anais.org)",
		EN: "%q is not a full domain name (like cafe-anais.org)",
	}
	msgDomainLocal = i18n.M{
		FR: "« %s » : la box fabrique elle-même les noms en .local et .localhost, donnez un domaine public",
		EN: "%q: the box makes the .local and .localhost names itself; give a public domain",
	}
	msgUsedBy = i18n.M{
		FR: "« %s » est déjà utilisé par %s",
		EN: "%q is already used by %s",
	}
	msgGivenTwice = i18n.M{
		FR: "« %s » est déjà donné en %s",
		EN: "%q is already given at %s",
	}
	msgRole = i18n.M{
		FR: "« %s » n'est pas un rôle : admin, technician ou member",
		EN: "%q is not a role: admin, technician or member",
	}
	msgSiteName = i18n.M{
		FR: "« %s » ne convient pas comme nom de site : de 1 à 40 lettres minuscules, chiffres ou « - », sans « - » au début ni à la fin",
		EN: "%q is not a valid site name: 1 to 40 lowercase letters, digits or '-', not starting or ending with '-'",
	}
	msgSiteReserved = i18n.M{
		FR: "« %s » est réservé à la box : choisissez un autre nom de site",
		EN: "%q is reserved by the box: choose another site name",
	}
	msgSiteLabel = i18n.M{
		FR: "nom trop long : %s-%s.local dépasse 63 caractères",
		EN: "name too long: %s-%s.local is over 63 characters",
	}
	msgTemplate = i18n.M{
		FR: "« %s » n'est pas un modèle connu : %s",
		EN: "%q is not a known template: %s",
	}
	msgPageSlash = i18n.M{
		FR: "« %s » doit commencer par « / » (comme /contact)",
		EN: "%q must start with '/' (like /contact)",
	}
	msgPageDots = i18n.M{
		FR: "« %s » ne peut pas contenir « . » ou « .. » comme partie du chemin",
		EN: "%q must not have '.' or '..' as a part of the path",
	}
	msgPagePath = i18n.M{
		FR: "« %s » n'est pas un chemin de page : pas d'espace, de « ? », de « # », de « %% », de « \\ » ni de « // »",
		EN: `%q is not a page path: no spaces, '?', '#', '%%', '\' or '//'`,
	}
	msgPageReserved = i18n.M{
		FR: "« %s » est réservé par la box (/uploads/, /404.html, index.html) : choisissez un autre chemin",
		EN: "%q is reserved by the box (/uploads/, /404.html, index.html): choose another path",
	}
	msgPageReservedFile = i18n.M{
		FR: "« %s » est réservé : %s est un fichier que la box met à la racine des sites ; choisissez un autre chemin",
		EN: "%q is reserved: %s is a file the box puts at the root of sites; choose another path",
	}
	msgParamUnknown = i18n.M{
		FR: "« %s » n'est pas un paramètre du modèle %s : %s",
		EN: "%q is not a parameter of the %s template: %s",
	}
	msgParamSuggest = i18n.M{
		FR: "« %s » n'est pas un paramètre du modèle %s : vouliez-vous dire « %s » ?",
		EN: "%q is not a parameter of the %s template: did you mean %q?",
	}
	msgParamOneLine = i18n.M{
		FR: "ce texte doit tenir sur une ligne",
		EN: "this text must fit on one line",
	}
	msgParamDate = i18n.M{
		FR: "« %s » n'est pas une date : écrivez-la AAAA-MM-JJ (comme 2026-06-21)",
		EN: "%q is not a date: write it YYYY-MM-DD (like 2026-06-21)",
	}
	msgParamTime = i18n.M{
		FR: "« %s » n'est pas une heure : écrivez-la HH:MM (comme 18:30)",
		EN: "%q is not a time: write it HH:MM (like 18:30)",
	}
	msgParamEnd = i18n.M{
		FR: "« %s » ne convient pas comme fin : une heure (23:00), une date (2026-06-22) ou les deux (2026-06-22 02:00)",
		EN: "%q is not a valid end: a time (23:00), a date (2026-06-22) or both (2026-06-22 02:00)",
	}
	msgParamNeedsDate = i18n.M{
		FR: "%s ne va pas sans date : donnez aussi date (comme 2026-06-21)",
		EN: "%s needs a date: give date too (like 2026-06-21)",
	}
	msgParamEndNeedsTime = i18n.M{
		FR: "la fin a une heure mais le début n'en a pas : donnez time, ou une fin sans heure",
		EN: "the end has a time but the start has none: give time, or an end without a time",
	}
	msgParamEndWantsTime = i18n.M{
		FR: "le début a une heure : donnez aussi celle de la fin (comme « 2026-06-22 02:00 » ou « 23:00 »)",
		EN: `the start has a time: give the end's too (like "2026-06-22 02:00" or "23:00")`,
	}
	msgParamEndBefore = i18n.M{
		FR: "la fin « %s » n'est pas après le début",
		EN: "the end %q is not after the start",
	}
	msgParamURL = i18n.M{
		FR: "« %s » n'est pas une adresse web : elle commence par https:// ou http://, ou c'est un chemin du site comme /uploads/inscription.pdf",
		EN: "%q is not a web address: it starts with https:// or http://, or is a path on the site like /uploads/form.pdf",
	}
	msgParamPhone = i18n.M{
		FR: "« %s » n'est pas un numéro de téléphone : des chiffres et des espaces, + au début pour l'international (comme 04 72 00 00 00 ou +33 4 72 00 00 00)",
		EN: "%q is not a phone number: digits and spaces, + first for an international number (like 04 72 00 00 00 or +33 4 72 00 00 00)",
	}
	msgParamLinks = i18n.M{
		FR: "ligne %d : « %s » n'est pas un lien : écrivez Texte|https://adresse, un lien par ligne",
		EN: "line %d: %q is not a link: write Label|https://address, one link per line",
	}
	msgParamKey = i18n.M{
		FR: "« %s » ne convient pas comme nom de paramètre : lettres minuscules, chiffres ou « _ »",
		EN: "%q is not a valid parameter name: lowercase letters, digits or '_'",
	}
	msgRelayHost = i18n.M{
		FR: "« %s » n'est ni un nom de domaine ni une adresse IP",
		EN: "%q is neither a domain name nor an IP address",
	}
	msgPort = i18n.M{
		FR: "%d n'est pas un port : de 1 à 65535",
		EN: "%d is not a port: 1 to 65535",
	}
	msgPasswordForUser = i18n.M{
		FR: "obligatoire quand username est donné : le nom du secret qui tient le mot de passe du relais",
		EN: "required when username is given: the name of the secret holding the relay's password",
	}
	msgAliasDomain = i18n.M{
		FR: "le domaine « %s » n'est pas dans mail.domains",
		EN: "domain %q is not one of mail.domains",
	}
	msgAliasNoTo = i18n.M{
		FR: "donnez au moins une adresse où faire suivre",
		EN: "give at least one address to forward to",
	}
	msgAliasUnknownLogin = i18n.M{
		FR: "« %s » n'est ni une adresse e-mail ni l'identifiant d'un utilisateur du panneau (panel.users)",
		EN: "%q is neither an e-mail address nor the login of a panel user (panel.users)",
	}
	msgAliasLoginNoEmail = i18n.M{
		FR: "l'utilisateur « %s » n'a pas d'adresse e-mail : ajoutez-la (%s)",
		EN: "user %q has no e-mail address: add one (%s)",
	}
	msgAliasLocalUnknown = i18n.M{
		FR: "« %s » est dans un domaine de la boîte mais n'est pas un alias : le courrier serait refusé",
		EN: "%q is in one of the box's mail domains but is not an alias: mail to it would be refused",
	}
	msgAliasLoop = i18n.M{
		FR: "boucle d'alias : %s",
		EN: "alias loop: %s",
	}
	msgSchedule = i18n.M{
		FR: "« %s » n'est pas un horaire systemd (OnCalendar, comme « *-*-* 02:30 »)",
		EN: `%q is not a systemd calendar expression (OnCalendar, like "*-*-* 02:30")`,
	}
	msgKeepNegative = i18n.M{
		FR: "%d ne convient pas : un nombre de sauvegardes à garder est 0 ou plus",
		EN: "%d is not valid: a number of backups to keep is 0 or more",
	}
	msgKeepNothing = i18n.M{
		FR: "rien ne serait gardé : donnez au moins un de daily, weekly ou monthly au-dessus de 0 (par exemple daily: 7)",
		EN: "nothing would be kept: set at least one of daily, weekly or monthly above 0 (for example daily: 7)",
	}
	msgBackupPassword = i18n.M{
		FR: "obligatoire quand il y a des destinations : le nom du secret qui chiffre les sauvegardes",
		EN: "required when there are targets: the name of the secret that encrypts the backups",
	}
	msgTargetName = i18n.M{
		FR: "« %s » ne convient pas comme nom de destination : de 1 à 40 lettres minuscules, chiffres ou « - », sans « - » au début ni à la fin",
		EN: "%q is not a valid target name: 1 to 40 lowercase letters, digits or '-', not starting or ending with '-'",
	}
	msgRepoRelative = i18n.M{
		FR: "« %s » est un chemin relatif : un dépôt local est un chemin absolu (comme /media/sauvegarde/restic)",
		EN: "%q is a relative path: a local repository is an absolute path (like /media/backup/restic)",
	}
	msgRepoBad = i18n.M{
		FR: "« %s » n'est pas un dépôt restic : un chemin absolu, sftp:utilisateur@machine:/chemin, rest:https://…, s3:…, b2:…",
		EN: "%q is not a restic repository: an absolute path, sftp:user@host:/path, rest:https://…, s3:…, b2:…",
	}
	msgRemovable = i18n.M{
		FR: "removable ne vaut que pour un dépôt local (un disque qu'on branche)",
		EN: "removable is only for a local repository (a disk that gets plugged in)",
	}
	msgSFTPOnly = i18n.M{
		FR: "ne vaut que pour un dépôt sftp:",
		EN: "only for an sftp: repository",
	}
	msgHostKey = i18n.M{
		FR: "ce n'est pas une clé publique SSH (comme « ssh-ed25519 AAAA… »)",
		EN: `this is not an SSH public key (like "ssh-ed25519 AAAA…")`,
	}
	// A secret's value is never printed back: the volunteer may have pasted
	// the password itself.
	msgSecretValue = i18n.M{
		FR: "ceci ressemble à un mot de passe ou à un chemin : un pack nomme un secret sans jamais le contenir ; mettez le secret dans /etc/ruche/secrets/NOM et écrivez ici NOM",
		EN: "this looks like a password or a path: a pack names a secret and never holds it; put the secret in /etc/ruche/secrets/NAME and write NAME here",
	}
	msgSecretName = i18n.M{
		FR: "ce n'est pas un nom de secret : lettres minuscules, chiffres, « . », « _ » ou « - » (le secret lui-même va dans /etc/ruche/secrets/NOM)",
		EN: "this is not a secret name: lowercase letters, digits, '.', '_' or '-' (the secret itself goes in /etc/ruche/secrets/NAME)",
	}
	msgLogin = i18n.M{
		FR: "« %s » ne convient pas comme identifiant : de 2 à 32 lettres minuscules, chiffres, « . », « _ » ou « - », en commençant par une lettre",
		EN: "%q is not a valid login: 2 to 32 lowercase letters, digits, '.', '_' or '-', starting with a letter",
	}
	msgNoAdmin = i18n.M{
		FR: "aucun utilisateur n'a le rôle admin : sans admin, personne ne peut gérer la box depuis le panneau",
		EN: "no user has the role admin: without one, nobody can run the box from the panel",
	}
	msgAllAdminsDisabled = i18n.M{
		FR: "tous les admins sont désactivés (disabled: true) : sans admin actif, personne ne peut gérer la box depuis le panneau",
		EN: "every admin is disabled (disabled: true): without an active one, nobody can run the box from the panel",
	}
	msgAliasLoginDisabled = i18n.M{
		FR: "l'utilisateur « %s » est désactivé (%s) : retirez-le de cet alias ou remplacez-le, sinon le courrier qui lui est destiné se perdrait",
		EN: "user %q is disabled (%s): remove them from this alias or replace them, or the mail meant for them would be lost",
	}
)

var (
	reSlug     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$`)
	reName     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)
	reHostname = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	reLabel    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	reParamKey = regexp.MustCompile(`^[a-z0-9_]+$`)
	reLogin    = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)
	reSecret   = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	reZone     = regexp.MustCompile(`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`)
	reScheme   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// maxSecretName: past this a "name" is a pasted key or password.
const maxSecretName = 64

// Validate checks a decoded pack against the v1 schema of DESIGN.md, every
// section, even those whose service comes later. It returns every problem,
// in file order. It is pure: it writes nothing and reads no file the pack
// names (secret files are plan's and apply's business, see CheckSecrets);
// only time zone names are looked up in the zone database, the system's or
// the one embedded in the binary.
func Validate(p *Pack) ErrorList {
	if p == nil {
		return nil
	}
	v := &validator{p: p, domains: map[string]string{}}
	v.association()
	v.box()
	v.hostedDomains()
	v.wiki()
	v.sites()
	v.mail()
	v.backup()
	v.secrets()
	v.panel()
	v.errs.Sort()
	return v.errs
}

type validator struct {
	p    *Pack
	errs ErrorList
	// domains maps each domain the box serves (ASCII, lowercase) to the
	// path of its first use, for "already used by".
	domains map[string]string
}

func (v *validator) add(path string, m i18n.M, args ...any) *FieldError {
	return v.addAt(v.p.Pos(path), path, m, args...)
}

func (v *validator) addAt(pos Pos, path string, m i18n.M, args ...any) *FieldError {
	e := &FieldError{File: v.p.File, Line: pos.Line, Col: pos.Col, Path: path, Text: i18n.T(m, args...)}
	v.errs = append(v.errs, e)
	return e
}

// required reports an empty field; true when it has a value.
func (v *validator) required(path, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.add(path, msgRequired)
		return false
	}
	return true
}

func (v *validator) association() {
	a := &v.p.Association
	v.required("association.name", a.Name)
	if v.required("association.slug", a.Slug) && !reSlug.MatchString(a.Slug) {
		v.add("association.slug", msgSlug, quoted(a.Slug))
	}
	if a.Locale != "" && a.Locale != "fr" && a.Locale != "en" {
		v.add("association.locale", msgLocale, quoted(a.Locale))
	}
	if a.Contact != "" {
		v.email("association.contact", a.Contact)
	}
}

func (v *validator) box() {
	b := &v.p.Box
	if v.required("box.hostname", b.Hostname) {
		if !reHostname.MatchString(b.Hostname) {
			v.add("box.hostname", msgHostname, quoted(b.Hostname))
		} else if v.p.Wiki.Enabled && len("wiki-"+b.Hostname) > 63 {
			// mDNS names are one label: wiki-<hostname>.local must fit.
			v.add("box.hostname", msgWikiLabel, b.Hostname)
		}
	}
	if b.Domain != "" {
		v.hosted("box.domain", b.Domain)
	}
	if b.Timezone != "" && !validZone(b.Timezone) {
		v.add("box.timezone", msgTimezone, quoted(b.Timezone))
	}
	switch b.TLS {
	case "", "internal", "off":
	case "acme":
		if b.Domain == "" && !(v.p.Wiki.Enabled && v.p.Wiki.Domain != "") && !slices.ContainsFunc(v.p.Sites, func(s Site) bool { return len(s.Domains) > 0 }) {
			v.add("box.tls", msgACMENoDomain)
		}
	default:
		v.add("box.tls", msgTLS, quoted(b.TLS))
	}
}

// validZone accepts IANA zone names only: time.LoadLocation also takes
// "Local" and would look names up as files.
func validZone(name string) bool {
	if name == "Local" || !reZone.MatchString(name) {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// hostedDomains checks that no domain the box serves is given twice: the
// wiki's and every site's, in file order, the second use naming the first.
func (v *validator) hostedDomains() {
	type use struct {
		path, domain string
		pos          Pos
	}
	var uses []use
	if v.p.Wiki.Enabled && v.p.Wiki.Domain != "" {
		uses = append(uses, use{"wiki.domain", v.p.Wiki.Domain, v.p.Pos("wiki.domain")})
	}
	for i, s := range v.p.Sites {
		for j, d := range s.Domains {
			path := fmt.Sprintf("sites[%d].domains[%d]", i, j)
			uses = append(uses, use{path, d, v.p.Pos(path)})
		}
	}
	sort.SliceStable(uses, func(i, j int) bool { return posLess(uses[i].pos, uses[j].pos) })
	for _, u := range uses {
		ascii, ok := v.hosted(u.path, u.domain)
		if !ok {
			continue
		}
		if first, dup := v.domains[ascii]; dup {
			v.add(u.path, msgUsedBy, quoted(u.domain), usedBy(first, u.path))
			continue
		}
		v.domains[ascii] = u.path
	}
}

// usedBy names the first user of a value: "sites[0]" for another site,
// the full path within the same site or for the wiki.
func usedBy(first, second string) string {
	fo, _, _ := strings.Cut(first, ".")
	so, _, _ := strings.Cut(second, ".")
	if fo != so && strings.HasPrefix(fo, "sites[") {
		return fo
	}
	return first
}

func posLess(a, b Pos) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

func (v *validator) wiki() {
	w := &v.p.Wiki
	if w.Enabled {
		v.required("wiki.title", w.Title)
	}
	if w.Domain != "" && !w.Enabled {
		v.hosted("wiki.domain", w.Domain) // checked, though not served
	}
	v.roles("wiki.editors", w.Editors)
}

// roles checks a list of panel roles, each once.
func (v *validator) roles(path string, roles []string) {
	seen := map[string]string{}
	for i, r := range roles {
		rp := fmt.Sprintf("%s[%d]", path, i)
		if !validRole(r) {
			v.add(rp, msgRole, quoted(r))
			continue
		}
		if first, dup := seen[r]; dup {
			v.add(rp, msgGivenTwice, quoted(r), first)
			continue
		}
		seen[r] = rp
	}
}

func validRole(r string) bool {
	return r == RoleAdmin || r == RoleTechnician || r == RoleMember
}

func (v *validator) sites() {
	names := map[string]string{}
	for i := range v.p.Sites {
		s := &v.p.Sites[i]
		sp := fmt.Sprintf("sites[%d]", i)
		if v.required(sp+".name", s.Name) {
			switch {
			case !reName.MatchString(s.Name):
				v.add(sp+".name", msgSiteName, quoted(s.Name))
			case slices.Contains(ReservedSiteNames, s.Name):
				v.add(sp+".name", msgSiteReserved, quoted(s.Name))
			case names[s.Name] != "":
				v.add(sp+".name", msgUsedBy, quoted(s.Name), names[s.Name])
			case reHostname.MatchString(v.p.Box.Hostname) && len(s.Name+"-"+v.p.Box.Hostname) > 63:
				// Its LAN name <site>-<hostname>.local is one mDNS label.
				v.add(sp+".name", msgSiteLabel, s.Name, v.p.Box.Hostname)
			}
			if names[s.Name] == "" {
				names[s.Name] = sp
			}
		}
		if v.required(sp+".template", s.Template) && !slices.Contains(KnownTemplates, s.Template) {
			v.add(sp+".template", msgTemplate, quoted(s.Template), strings.Join(KnownTemplates, ", "))
		}
		v.required(sp+".title", s.Title)
		v.pages(sp, s.Pages)
		v.params(sp, s)
	}
}

// params checks a site's params against what its template reads
// (templates.Params): names it knows, values of the form each one takes,
// and an event's start and end that make sense together.
func (v *validator) params(sp string, s *Site) {
	spec := map[string]templates.ParamKind{}
	var names []string
	for _, prm := range templates.Params(s.Template) {
		spec[prm.Name] = prm.Kind
		names = append(names, prm.Name)
	}
	keys := make([]string, 0, len(s.Params))
	for k := range s.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := sp + ".params." + k
		if !reParamKey.MatchString(k) {
			v.addAt(v.p.KeyPos(kp), kp, msgParamKey, quoted(k))
			continue
		}
		kind, known := spec[k]
		if !known {
			// A template Ruche does not describe (a test's) reads anything.
			if len(names) > 0 {
				v.unknownParam(kp, k, s.Template, names)
			}
			continue
		}
		v.param(kp, kind, s.Params[k])
	}
	if s.Template == "event" {
		v.eventTimes(sp, s.Params)
	}
}

// unknownParam reports a param the template does not read, suggesting the
// nearest name when it looks like a typo ("adress").
func (v *validator) unknownParam(kp, name, tpl string, names []string) {
	best, bestDist := "", len(name)+1
	for _, n := range names {
		if d := editDistance(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if bestDist*3 <= max(len(name), len(best)) {
		v.addAt(v.p.KeyPos(kp), kp, msgParamSuggest, quoted(name), tpl, quoted(best))
		return
	}
	v.addAt(v.p.KeyPos(kp), kp, msgParamUnknown, quoted(name), tpl, strings.Join(names, ", "))
}

// param checks one value against the form its template expects.
func (v *validator) param(at string, kind templates.ParamKind, value string) {
	trimmed := strings.TrimSpace(value)
	if trimmed == "" {
		return // an empty param shows nothing, as if absent
	}
	switch kind {
	case templates.ParamText:
		if strings.ContainsAny(trimmed, "\r\n") {
			v.add(at, msgParamOneLine)
		}
	case templates.ParamDate:
		if _, ok := templates.ParseDate(trimmed); !ok {
			v.add(at, msgParamDate, quoted(value))
		}
	case templates.ParamTime:
		if _, ok := templates.ParseClock(trimmed); !ok {
			v.add(at, msgParamTime, quoted(value))
		}
	case templates.ParamEnd:
		if _, _, ok := templates.ParseEnd(trimmed); !ok {
			v.add(at, msgParamEnd, quoted(value))
		}
	case templates.ParamURL:
		if !templates.SafeURL(trimmed) {
			v.add(at, msgParamURL, quoted(value))
		}
	case templates.ParamEmail:
		v.email(at, trimmed)
	case templates.ParamPhone:
		if _, ok := templates.PhoneURI(trimmed); !ok {
			v.add(at, msgParamPhone, quoted(value))
		}
	case templates.ParamLinks:
		if _, bad := templates.ParseLinks(value); bad > 0 {
			v.add(at, msgParamLinks, bad, quoted(strings.TrimSpace(strings.Split(value, "\n")[bad-1])))
		}
	}
}

// eventTimes checks that an event's time and end go with its date: a
// calendar file needs a start, and an end after it of the same kind (a
// day, or a day and a time).
func (v *validator) eventTimes(sp string, params map[string]string) {
	get := func(k string) string { return strings.TrimSpace(params[k]) }
	start, okDate := templates.ParseDate(get("date"))
	clock, okTime := templates.ParseClock(get("time"))
	endDate, endClock, okEnd := templates.ParseEnd(get("end"))
	if get("date") == "" {
		for _, k := range []string{"time", "end"} {
			if get(k) != "" {
				v.add(sp+".params."+k, msgParamNeedsDate, k)
			}
		}
		return
	}
	if !okDate || get("end") == "" || !okEnd || get("time") != "" && !okTime {
		return // the bad value is already reported
	}
	at := sp + ".params.end"
	switch {
	case endClock != "" && !okTime:
		v.add(at, msgParamEndNeedsTime)
	case endClock == "" && okTime:
		v.add(at, msgParamEndWantsTime)
	case endDate == "":
		// A time alone: the same day, or the next when not after the start.
	case endDate < start.Format(time.DateOnly) || endDate == start.Format(time.DateOnly) && endClock != "" && endClock <= clock:
		v.add(at, msgParamEndBefore, quoted(get("end")))
	}
}

func (v *validator) pages(sp string, pages []Page) {
	seen := map[string]string{}
	for j, pg := range pages {
		pp := fmt.Sprintf("%s.pages[%d]", sp, j)
		v.required(pp+".title", pg.Title)
		if pg.Date != "" {
			if _, ok := templates.ParseDate(pg.Date); !ok {
				v.add(pp+".date", msgParamDate, quoted(pg.Date))
			}
		}
		if !v.required(pp+".path", pg.Path) {
			continue
		}
		if !v.pagePath(pp+".path", pg.Path) {
			continue
		}
		// "/about" and "/about/" are the same page.
		key := path.Clean(pg.Path)
		if first, dup := seen[key]; dup {
			v.add(pp+".path", msgGivenTwice, quoted(pg.Path), first)
			continue
		}
		seen[key] = pp + ".path"
	}
}

func (v *validator) pagePath(at, p string) bool {
	if !strings.HasPrefix(p, "/") {
		v.add(at, msgPageSlash, quoted(p))
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			v.add(at, msgPageDots, quoted(p))
			return false
		}
	}
	if strings.Contains(p, "//") || strings.ContainsAny(p, "?#%\\") || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		v.add(at, msgPagePath, quoted(p))
		return false
	}
	// The sites' own files: uploads, the 404 page, the index of a folder.
	segments := strings.Split(strings.Trim(p, "/"), "/")
	if segments[0] == "uploads" || segments[0] == "404.html" || slices.Contains(segments, "index.html") {
		v.add(at, msgPageReserved, quoted(p))
		return false
	}
	// The files a template puts at the root of a site beside its pages.
	if segments[0] == "feed.atom" || segments[0] == "event.ics" {
		v.add(at, msgPageReservedFile, quoted(p), "/"+segments[0])
		return false
	}
	return true
}

func (v *validator) mail() {
	m := &v.p.Mail
	mailDomains := map[string]string{}
	for i, d := range m.Domains {
		dp := fmt.Sprintf("mail.domains[%d]", i)
		ascii, ok := v.domain(dp, d)
		if !ok {
			continue
		}
		if first, dup := mailDomains[ascii]; dup {
			v.add(dp, msgGivenTwice, quoted(d), first)
			continue
		}
		mailDomains[ascii] = dp
	}
	if r := m.Relay; r != nil {
		if v.required("mail.relay.host", r.Host) && !validHost(r.Host) {
			v.add("mail.relay.host", msgRelayHost, quoted(r.Host))
		}
		if r.Port < 0 || r.Port > 65535 || r.Port == 0 && v.p.has("mail.relay.port") {
			v.add("mail.relay.port", msgPort, r.Port)
		}
		if r.Username != "" && r.PasswordSecret == "" {
			v.add("mail.relay.password_secret", msgPasswordForUser)
		}
	}
	v.aliases(mailDomains)
}

// aliasRecipient checks one recipient of an alias: a panel user's login
// (expanded to their e-mail), another alias of the box, or an outside
// address. An address in one of the box's own mail domains that is no alias
// would be refused by Postfix (550): better said now than bounced later.
func (v *validator) aliasRecipient(at, to string, mailDomains map[string]string, aliases []Alias) {
	if reLogin.MatchString(to) {
		i := slices.IndexFunc(v.p.Panel.Users, func(u User) bool { return u.Login == to })
		switch {
		case i < 0:
			v.add(at, msgAliasUnknownLogin, quoted(to))
		case v.p.Panel.Users[i].Email == "":
			v.add(at, msgAliasLoginNoEmail, quoted(to), fmt.Sprintf("panel.users[%d].email", i))
		case v.p.Panel.Users[i].Disabled:
			// Refused rather than skipped: a skipped recipient would drop
			// the alias's mail without a word, and delivering to the
			// address of someone who left would leak it.
			v.add(at, msgAliasLoginDisabled, quoted(to), fmt.Sprintf("panel.users[%d].disabled", i))
		}
		return
	}
	key, dom, ok := v.email(at, to)
	if !ok {
		return
	}
	if _, local := mailDomains[dom]; !local {
		return
	}
	if !slices.ContainsFunc(aliases, func(a Alias) bool { k, _, _ := emailKey(a.Address); return k == key }) {
		v.add(at, msgAliasLocalUnknown, quoted(to))
	}
}

// EmailASCII is an address with its domain in ASCII (IDN as punycode) and
// its local part lowercased, as Postfix's tables want it; ok is false when
// addr is not a bare e-mail address.
func EmailASCII(addr string) (string, bool) {
	key, _, ok := emailKey(addr)
	return key, ok
}

// validHost accepts a domain name or an IP address (a relay's host).
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	_, reason := domainASCII(h)
	return reason == nil
}

// aliases checks each alias and that no chain of aliases comes back to
// where it started (Postfix would bounce the mail, or loop until it does).
func (v *validator) aliases(mailDomains map[string]string) {
	aliases := v.p.Mail.Aliases
	index := map[string]int{} // normalized address -> alias
	for i, a := range aliases {
		ap := fmt.Sprintf("mail.aliases[%d]", i)
		if v.required(ap+".address", a.Address) {
			if key, dom, ok := v.email(ap+".address", a.Address); ok {
				if _, ok := mailDomains[dom]; !ok {
					v.add(ap+".address", msgAliasDomain, quoted(a.Address[strings.LastIndexByte(a.Address, '@')+1:]))
				}
				if first, dup := index[key]; dup {
					v.add(ap+".address", msgGivenTwice, quoted(a.Address), fmt.Sprintf("mail.aliases[%d]", first))
				} else {
					index[key] = i
				}
			}
		}
		if len(a.To) == 0 {
			v.add(ap+".to", msgAliasNoTo)
		}
		for j, to := range a.To {
			v.aliasRecipient(fmt.Sprintf("%s.to[%d]", ap, j), to, mailDomains, aliases)
		}
	}

	// Depth-first search over alias → alias edges; a grey node met again
	// closes a cycle. Each cycle is reported once, at the entry that
	// closes it, in the words of the file.
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(aliases))
	var stack []int
	reported := map[string]bool{}
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		stack = append(stack, i)
		for j, to := range aliases[i].To {
			key, _, ok := emailKey(to)
			if !ok {
				continue
			}
			next, isAlias := index[key]
			if !isAlias {
				continue
			}
			switch color[next] {
			case white:
				visit(next)
			case grey:
				start := slices.Index(stack, next)
				cycle := append([]int(nil), stack[start:]...)
				members := slices.Clone(cycle)
				slices.Sort(members)
				id := fmt.Sprint(members)
				if reported[id] {
					continue
				}
				reported[id] = true
				words := make([]string, 0, len(cycle)+1)
				for _, c := range cycle {
					words = append(words, aliases[c].Address)
				}
				words = append(words, aliases[next].Address)
				v.add(fmt.Sprintf("mail.aliases[%d].to[%d]", i, j), msgAliasLoop, strings.Join(words, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
	}
	for i, a := range aliases {
		// Only the first alias of an address is in index: a duplicate
		// was already reported and would only repeat its loops.
		key, _, ok := emailKey(a.Address)
		if ok && index[key] == i && color[i] == white {
			visit(i)
		}
	}
}

func (v *validator) backup() {
	b := &v.p.Backup
	if b.Schedule != "" {
		// The parser's own words follow ours: they say what is wrong in
		// the expression, in the parser's language when it has only one.
		if _, err := calendar.Parse(b.Schedule); err != nil {
			v.add("backup.schedule", msgSchedule, quoted(b.Schedule)).Err = err
		}
	}
	keeps := []struct {
		name string
		n    int
	}{{"daily", b.Keep.Daily}, {"weekly", b.Keep.Weekly}, {"monthly", b.Keep.Monthly}}
	anyKept := false
	for _, k := range keeps {
		if k.n < 0 {
			v.add("backup.keep."+k.name, msgKeepNegative, k.n)
		}
		anyKept = anyKept || k.n > 0
	}
	if len(b.Targets) > 0 {
		if !anyKept {
			v.add("backup.keep", msgKeepNothing)
		}
		if b.PasswordSecret == "" {
			v.add("backup.password_secret", msgBackupPassword)
		}
	}
	names := map[string]string{}
	for i, t := range b.Targets {
		tp := fmt.Sprintf("backup.targets[%d]", i)
		if v.required(tp+".name", t.Name) {
			if !reName.MatchString(t.Name) {
				v.add(tp+".name", msgTargetName, quoted(t.Name))
			} else if first, dup := names[t.Name]; dup {
				v.add(tp+".name", msgUsedBy, quoted(t.Name), first)
			} else {
				names[t.Name] = tp
			}
		}
		kind := repoUnknown
		if v.required(tp+".repository", t.Repository) {
			var bad i18n.M
			kind, bad = repositoryKind(t.Repository)
			if kind == repoUnknown {
				v.add(tp+".repository", bad, quoted(t.Repository))
			}
		}
		if t.Removable && kind != repoLocal && kind != repoUnknown {
			v.add(tp+".removable", msgRemovable)
		}
		if kind != repoSFTP && kind != repoUnknown {
			if t.KeySecret != "" {
				v.add(tp+".key_secret", msgSFTPOnly)
			}
			if t.HostKey != "" {
				v.add(tp+".host_key", msgSFTPOnly)
			}
		}
		if t.HostKey != "" {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(t.HostKey)); err != nil {
				v.add(tp+".host_key", msgHostKey)
			}
		}
	}
}

type repoKind int

const (
	repoUnknown repoKind = iota
	repoLocal
	repoSFTP
	repoRemote // rest, s3, b2 and the other restic back ends
)

// repositoryKind recognises restic's repository forms, rejecting the ones
// that are obviously malformed; restic itself has the last word.
func repositoryKind(r string) (repoKind, i18n.M) {
	if strings.ContainsFunc(r, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return repoUnknown, msgRepoBad
	}
	if rest, ok := strings.CutPrefix(r, "local:"); ok {
		r = rest
		if !strings.HasPrefix(r, "/") {
			return repoUnknown, msgRepoRelative
		}
	}
	if strings.HasPrefix(r, "/") {
		for _, seg := range strings.Split(r, "/") {
			if seg == ".." {
				return repoUnknown, msgRepoBad
			}
		}
		if path.Clean(r) == "/" {
			return repoUnknown, msgRepoBad
		}
		return repoLocal, i18n.M{}
	}
	scheme := reScheme.FindString(r)
	if scheme == "" {
		return repoUnknown, msgRepoRelative
	}
	rest := r[len(scheme):]
	switch strings.ToLower(scheme) {
	case "sftp:":
		if validSFTP(rest) {
			return repoSFTP, i18n.M{}
		}
	case "rest:":
		u, err := url.Parse(rest)
		if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return repoRemote, i18n.M{}
		}
	case "s3:":
		if strings.Contains(rest, "://") {
			u, err := url.Parse(rest)
			if err == nil && u.Host != "" && strings.Trim(u.Path, "/") != "" {
				return repoRemote, i18n.M{}
			}
		} else if host, bucket, ok := strings.Cut(rest, "/"); ok && host != "" && bucket != "" && !strings.ContainsAny(rest, " ") {
			return repoRemote, i18n.M{}
		}
	case "b2:", "azure:", "gs:", "swift:", "rclone:":
		// name:path, the path may be empty ("b2:bucket:").
		if name, _, ok := strings.Cut(rest, ":"); ok && name != "" && !strings.ContainsAny(name, " /") {
			return repoRemote, i18n.M{}
		}
	}
	return repoUnknown, msgRepoBad
}

// validSFTP accepts restic's sftp:[user@]host:path and sftp://[user@]host[:port]//path.
func validSFTP(rest string) bool {
	if strings.HasPrefix(rest, "//") {
		u, err := url.Parse("sftp:" + rest)
		return err == nil && u.Hostname() != "" && strings.Trim(u.Path, "/") != ""
	}
	host, p, ok := strings.Cut(rest, ":")
	if !ok || p == "" || strings.ContainsAny(host, " /") {
		return false
	}
	if user, h, hasUser := strings.Cut(host, "@"); hasUser {
		if user == "" {
			return false
		}
		host = h
	}
	// A LAN host may be a single label ("nas"): that is fine for ssh.
	if reHostname.MatchString(strings.ToLower(host)) {
		return true
	}
	return validHost(host)
}

// secrets checks every field whose name ends in _secret: it names a
// secret, it never holds one.
func (v *validator) secrets() {
	for _, s := range secretFields(v.p) {
		if s.value == "" {
			continue
		}
		switch {
		case strings.ContainsAny(s.value, "/\\") || strings.ContainsFunc(s.value, func(r rune) bool { return r <= ' ' || r == 0x7f }) || len(s.value) > maxSecretName:
			v.add(s.path, msgSecretValue)
		case !reSecret.MatchString(s.value):
			v.add(s.path, msgSecretName)
		}
	}
}

// SecretRef is a secret the pack names: Name is the file under
// /etc/ruche/secrets/, Path the field naming it ("backup.password_secret"),
// Pos where that field's value stands.
type SecretRef struct {
	Name, Path string
	Pos        Pos
}

// Secrets lists every secret the pack names, one entry per field (a secret
// named twice is listed twice, so that each field gets its error), in file
// order. Every yaml field ending in "_secret" is one, so a field added to
// the schema later is listed without touching this function.
func (p *Pack) Secrets() []SecretRef {
	var out []SecretRef
	for _, s := range secretFields(p) {
		if s.value != "" {
			out = append(out, SecretRef{Name: s.value, Path: s.path, Pos: p.Pos(s.path)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return posLess(out[i].Pos, out[j].Pos) })
	return out
}

type secretField struct{ path, value string }

// secretFields walks the pack by reflection for string fields whose yaml
// name ends in "_secret".
func secretFields(p *Pack) []secretField {
	var out []secretField
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if !f.IsExported() || name == "-" || name == "" {
					continue
				}
				fp := joinPath(path, name)
				if f.Type.Kind() == reflect.String && strings.HasSuffix(name, "_secret") {
					out = append(out, secretField{fp, v.Field(i).String()})
					continue
				}
				walk(v.Field(i), fp)
			}
		}
	}
	walk(reflect.ValueOf(p).Elem(), "")
	return out
}

func (v *validator) panel() {
	users := v.p.Panel.Users
	logins := map[string]string{}
	admin, activeAdmin, badRole := false, false, false
	for i, u := range users {
		up := fmt.Sprintf("panel.users[%d]", i)
		if v.required(up+".login", u.Login) {
			if !reLogin.MatchString(u.Login) {
				v.add(up+".login", msgLogin, quoted(u.Login))
			} else if first, dup := logins[u.Login]; dup {
				v.add(up+".login", msgUsedBy, quoted(u.Login), first)
			} else {
				logins[u.Login] = up
			}
		}
		switch {
		case u.Role == "":
			v.add(up+".role", msgRequired)
			badRole = true
		case !validRole(u.Role):
			v.add(up+".role", msgRole, quoted(u.Role))
			badRole = true
		case u.Role == RoleAdmin:
			admin = true
			activeAdmin = activeAdmin || !u.Disabled
		}
		if u.Email != "" {
			v.email(up+".email", u.Email)
		}
	}
	// A box nobody can administer is a support call; but when a role is
	// already wrong, the admin may be the one mistyped: say that only.
	if len(users) > 0 && !admin && !badRole {
		v.add("panel.users", msgNoAdmin)
	} else if admin && !activeAdmin {
		v.add("panel.users", msgAllAdminsDisabled)
	}
}

// email checks an e-mail address and returns its comparison key (local
// part lowercased, domain in ASCII) and its ASCII domain.
func (v *validator) email(at, addr string) (key, domain string, ok bool) {
	key, domain, ok = emailKey(addr)
	if !ok {
		v.add(at, msgEmail, quoted(addr))
	}
	return key, domain, ok
}

// emailKey parses a bare address (no "Name <...>"): net/mail for the
// syntax, then the domain as a domain name (IDN allowed).
func emailKey(addr string) (key, domain string, ok bool) {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return "", "", false
	}
	at := strings.LastIndexByte(addr, '@')
	// A quoted local part ("a b"@x.org) is valid mail syntax that no
	// volunteer means and Postfix's alias tables do not want.
	if at <= 0 || strings.ContainsAny(addr[:at], "\"\\ ") {
		return "", "", false
	}
	domain, reason := domainASCII(addr[at+1:])
	if reason != nil {
		return "", "", false
	}
	return strings.ToLower(addr[:at]) + "@" + domain, domain, true
}

// domain checks a domain name and returns its ASCII form.
func (v *validator) domain(at, d string) (string, bool) {
	ascii, reason := domainASCII(d)
	if reason != nil {
		if *reason == msgDomainEmpty {
			v.add(at, *reason)
		} else {
			v.add(at, *reason, quoted(d))
		}
		return "", false
	}
	return ascii, true
}

// hosted checks a domain the box serves over HTTP: a public name, since
// the box makes its .local and .localhost names itself.
func (v *validator) hosted(at, d string) (string, bool) {
	ascii, ok := v.domain(at, d)
	if !ok {
		return "", false
	}
	if strings.HasSuffix(ascii, ".local") || strings.HasSuffix(ascii, ".localhost") {
		v.add(at, msgDomainLocal, quoted(d))
		return "", false
	}
	return ascii, true
}

// idnaProfile maps a domain as for lookup (case, width, IDN to punycode)
// and also checks label lengths, which idna.Lookup does not: with it,
// "fete..org" would pass.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true), idna.Transitional(false))

// ASCIIDomain returns a domain name in the form DNS, certificates and
// comparisons use: punycode, lowercase ("café-anais.fr" →
// "xn--caf-anais-e4a.fr"). It is what validation compares, for render.
func ASCIIDomain(d string) (string, bool) {
	ascii, reason := domainASCII(d)
	return ascii, reason == nil
}

// domainASCII converts d to ASCII or says why it is not a domain name.
func domainASCII(d string) (string, *i18n.M) {
	switch {
	case d == "":
		return "", &msgDomainEmpty
	case strings.HasSuffix(d, ".") && len(d) > 1 && !strings.HasSuffix(d, ".."):
		return "", &msgDomainDot
	case strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]"):
		return "", &msgDomainIP
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return "", &msgDomainIP
	}
	ascii, err := idnaProfile.ToASCII(d)
	if err != nil || len(ascii) > 253 {
		return "", &msgDomain
	}
	// UTS #46 lets symbols through ("café☕.fr"); IDNA2008, which
	// registries follow, does not: letters, marks and digits only.
	if u, err := idnaProfile.ToUnicode(ascii); err != nil || strings.ContainsFunc(u, func(r rune) bool {
		return r != '-' && r != '.' && unicode.In(r, unicode.S, unicode.P, unicode.Z, unicode.C)
	}) {
		return "", &msgDomain
	}
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if !reLabel.MatchString(l) || len(l) > 63 {
			return "", &msgDomain
		}
	}
	if len(labels) < 2 {
		return "", &msgDomainOneLabel
	}
	// An all-digit top level is an IP address written oddly ("10.1.2"),
	// never a real domain.
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", &msgDomainIP
	}
	return ascii, nil
}
