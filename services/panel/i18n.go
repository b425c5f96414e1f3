package panel

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
)

// langOf is the language of a request: the one chosen with the switch (the
// "lang" cookie), else the first of French and English the browser asks
// for (Accept-Language), else the pack's locale, else French.
func (p *Panel) langOf(r *http.Request) i18n.Lang {
	switch cookieValue(r, langCookie) {
	case "fr":
		return i18n.FR
	case "en":
		return i18n.EN
	}
	if l, ok := acceptLanguage(r.Header.Get("Accept-Language")); ok {
		return l
	}
	if p.opts.Lang != nil {
		return p.opts.Lang()
	}
	return i18n.FR
}

// acceptLanguage picks French or English from an Accept-Language header
// ("fr-FR,fr;q=0.9,en;q=0.8"): the one with the higher weight, the first
// on a tie; ok is false when the header names neither.
func acceptLanguage(header string) (lang i18n.Lang, ok bool) {
	best := -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, found := strings.CutPrefix(strings.TrimSpace(params), "q="); found {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		var l i18n.Lang
		switch primary {
		case "fr":
			l = i18n.FR
		case "en":
			l = i18n.EN
		default:
			continue
		}
		if q > 0 && q > best {
			best, lang, ok = q, l, true
		}
	}
	return lang, ok
}

// Messages of errors and refusals, API and pages alike.
var (
	msgNotFound    = i18n.M{FR: "page introuvable", EN: "page not found"}
	msgMethod      = i18n.M{FR: "méthode non autorisée", EN: "method not allowed"}
	msgLANOnly     = i18n.M{FR: "les métriques ne sont servies qu'au réseau local", EN: "metrics are served to the local network only"}
	msgBadHost     = i18n.M{FR: "ce nom n'est pas celui du panneau de la box", EN: "this name is not the box panel's"}
	msgCrossSite   = i18n.M{FR: "requête venue d'un autre site : refusée", EN: "request from another site: refused"}
	msgLoginNeeded = i18n.M{FR: "connexion nécessaire", EN: "login required"}
	msgForbidden   = i18n.M{FR: "votre rôle ne donne pas accès à cette page", EN: "your role gives no access to this page"}
	msgBadToken    = i18n.M{FR: "jeton de sécurité absent ou périmé : rechargez la page et recommencez", EN: "security token missing or stale: reload the page and try again"}
	msgTooMany     = i18n.M{FR: "trop d'essais : réessayez dans %s", EN: "too many attempts: try again in %s"}
	msgNeedJSON    = i18n.M{FR: "le corps de la requête doit être du JSON (Content-Type: application/json)", EN: "the request body must be JSON (Content-Type: application/json)"}
	msgBadJSON     = i18n.M{FR: "JSON illisible : %s", EN: "unreadable JSON: %s"}
	msgNeedLogin   = i18n.M{FR: "identifiant et mot de passe sont nécessaires", EN: "login and password are required"}
	msgInternal    = i18n.M{FR: "erreur interne du panneau ; le journal de la box en dit plus", EN: "internal panel error; the box's log says more"}
	msgSetupBad    = i18n.M{FR: "ce lien d'installation est inconnu, déjà utilisé ou expiré ; relancez la box pour en obtenir un autre, ou utilisez « ruche user passwd »", EN: "this setup link is unknown, already used or expired; restart the box to get another, or use \"ruche user passwd\""}
	msgPassShort   = i18n.M{FR: "mot de passe trop court : %d caractères, il en faut au moins %d", EN: "password too short: %d characters, at least %d needed"}
	msgPassDiffer  = i18n.M{FR: "les deux mots de passe diffèrent", EN: "the two passwords differ"}
	msgNoDB        = i18n.M{FR: "le panneau n'a pas de base de données : connexion impossible", EN: "the panel has no database: nobody can log in"}
)

// texts are the pages' words, by key; templates say {{t .Lang "key"}}.
// A missing key shows as "!key", and TestTemplatesTexts fails on it.
var texts = map[string]i18n.M{
	"panel":       {FR: "Panneau de la box", EN: "Box panel"},
	"skip":        {FR: "Aller au contenu", EN: "Skip to content"},
	"nav.label":   {FR: "Menu principal", EN: "Main menu"},
	"nav.home":    {FR: "Accueil", EN: "Home"},
	"nav.account": {FR: "Mon compte", EN: "My account"},
	"nav.tickets": {FR: "Tickets", EN: "Tickets"},
	"nav.audit":   {FR: "Journal", EN: "Audit log"},
	"nav.logout":  {FR: "Se déconnecter", EN: "Log out"},
	"nav.user":    {FR: "Connecté·e : %s", EN: "Logged in: %s"},
	"lang.label":  {FR: "Langue :", EN: "Language:"},

	"login.title":    {FR: "Connexion", EN: "Log in"},
	"login.intro":    {FR: "Connectez-vous avec l'identifiant que l'association vous a donné.", EN: "Log in with the login your association gave you."},
	"login.login":    {FR: "Identifiant", EN: "Login"},
	"login.password": {FR: "Mot de passe", EN: "Password"},
	"login.submit":   {FR: "Se connecter", EN: "Log in"},
	"login.help":     {FR: "Mot de passe oublié ? Demandez à un·e administrateur·rice de l'association.", EN: "Forgot your password? Ask an admin of your association."},

	"setup.title":    {FR: "Premier accès", EN: "First access"},
	"setup.intro":    {FR: "Choisissez le mot de passe de l'administrateur·rice %s. Ce lien ne sert qu'une fois.", EN: "Choose the password of the admin %s. This link works only once."},
	"setup.login":    {FR: "Identifiant", EN: "Login"},
	"setup.password": {FR: "Nouveau mot de passe", EN: "New password"},
	"setup.confirm":  {FR: "Le même, une seconde fois", EN: "The same, once more"},
	"setup.hint":     {FR: "Au moins %d caractères. Une phrase de quelques mots se retient mieux qu'un mot compliqué.", EN: "At least %d characters. A sentence of a few words is easier to remember than a complicated word."},
	"setup.submit":   {FR: "Enregistrer et se connecter", EN: "Save and log in"},

	"home.welcome": {FR: "Bonjour %s", EN: "Hello %s"},
	"home.intro":   {FR: "Les services de l'association sur ce réseau :", EN: "The association's services on this network:"},
	"home.wiki":    {FR: "Le wiki", EN: "The wiki"},
	"home.sites":   {FR: "Les sites", EN: "The websites"},
	"home.public":  {FR: "adresse publique :", EN: "public address:"},
	"home.none":    {FR: "Aucun wiki ni site pour l'instant.", EN: "No wiki and no website yet."},
	"home.account": {FR: "Voir mon profil", EN: "See my profile"},

	"dash.title":             {FR: "Tableau de bord", EN: "Dashboard"},
	"dash.healthy":           {FR: "Tout fonctionne.", EN: "Everything works."},
	"dash.unhealthy":         {FR: "Quelque chose ne va pas : voir ci-dessous.", EN: "Something is wrong: see below."},
	"dash.services":          {FR: "Services", EN: "Services"},
	"dash.service":           {FR: "Service", EN: "Service"},
	"dash.state":             {FR: "État", EN: "State"},
	"dash.since":             {FR: "Depuis", EN: "Since"},
	"dash.restarts":          {FR: "Redémarrages", EN: "Restarts"},
	"dash.noservices":        {FR: "Aucun service supervisé.", EN: "No supervised service."},
	"dash.disk":              {FR: "Disque", EN: "Disk"},
	"dash.disk.line":         {FR: "%s : %s utilisés, %s libres sur %s", EN: "%s: %s used, %s free of %s"},
	"dash.disk.none":         {FR: "Espace disque inconnu.", EN: "Disk space unknown."},
	"dash.memory":            {FR: "Mémoire", EN: "Memory"},
	"dash.memory.col":        {FR: "Mémoire", EN: "Memory"},
	"dash.memory.line":       {FR: "%s utilisés, %s disponibles sur %s", EN: "%s used, %s available of %s"},
	"dash.memory.ruche":      {FR: "Ruche lui-même (sans les services) : %s.", EN: "Ruche itself (services aside): %s."},
	"dash.memory.none":       {FR: "Mémoire inconnue.", EN: "Memory unknown."},
	"dash.drill":             {FR: "Restauration vérifiée", EN: "Verified restore"},
	"dash.drill.never.badge": {FR: "jamais", EN: "never"},
	"dash.drill.never":       {FR: "Aucune restauration n'a encore été vérifiée : l'exercice hebdomadaire la fera, ou lancez « ruche backup drill ».", EN: "No restore has been verified yet: the weekly drill will do it, or run \"ruche backup drill\"."},
	"dash.drill.ok":          {FR: "vérifiée", EN: "verified"},
	"dash.drill.failed":      {FR: "dernier essai en échec", EN: "last attempt failed"},
	"dash.drill.success":     {FR: "Dernière restauration vérifiée (exercice : la box restaurée a démarré et servi wiki, sites et tickets) : %s.", EN: "Last verified restore (drill: the restored box started and served the wiki, sites and tickets): %s."},
	"dash.drill.error":       {FR: "L'exercice du %s a échoué : %s", EN: "The drill of %s failed: %s"},
	"dash.pack":              {FR: "Configuration (pack)", EN: "Configuration (pack)"},
	"dash.revision":          {FR: "Révision %d, du %s, par %s.", EN: "Revision %d, of %s, by %s."},
	"dash.norevision":        {FR: "Aucune révision enregistrée.", EN: "No revision recorded."},
	"dash.apply.ok":          {FR: "Dernière application réussie.", EN: "Last apply succeeded."},
	"dash.apply.fail":        {FR: "La dernière application a échoué : %s", EN: "The last apply failed: %s"},
	"dash.backups":           {FR: "Sauvegardes", EN: "Backups"},
	"dash.running":           {FR: "Sauvegarde en cours vers « %s » : %d fichiers sur %d", EN: "Backup running to %q: %d of %d files"},
	"dash.eta":               {FR: "encore environ %d min", EN: "about %d min left"},
	"dash.target":            {FR: "Destination", EN: "Target"},
	"dash.lastsuccess":       {FR: "Dernière réussie", EN: "Last success"},
	"dash.lastattempt":       {FR: "Dernier essai", EN: "Last attempt"},
	"dash.nobackup":          {FR: "Aucune destination de sauvegarde dans le pack.", EN: "No backup target in the pack."},
	"dash.never":             {FR: "jamais", EN: "never"},
	"dash.links":             {FR: "Wiki et sites", EN: "Wiki and websites"},

	"account.title": {FR: "Mon compte", EN: "My account"},
	"account.login": {FR: "Identifiant", EN: "Login"},
	"account.name":  {FR: "Nom", EN: "Name"},
	"account.email": {FR: "Courriel", EN: "E-mail"},
	"account.role":  {FR: "Rôle", EN: "Role"},
	"account.none":  {FR: "non renseigné", EN: "not given"},
	"account.note":  {FR: "Ces informations viennent de la configuration de la box ; un·e administrateur·rice peut les changer.", EN: "This comes from the box's configuration; an admin can change it."},

	"role.admin":      {FR: "administrateur·rice", EN: "admin"},
	"role.technician": {FR: "technicien·ne", EN: "technician"},
	"role.member":     {FR: "membre", EN: "member"},

	"state.running":  {FR: "en marche", EN: "running"},
	"state.starting": {FR: "démarre", EN: "starting"},
	"state.backoff":  {FR: "redémarre après une panne", EN: "restarting after a crash"},
	"state.stopped":  {FR: "arrêté", EN: "stopped"},
	"state.failed":   {FR: "en échec", EN: "failed"},

	"backup.ok":      {FR: "réussie", EN: "succeeded"},
	"backup.partial": {FR: "partielle", EN: "partial"},
	"backup.missing": {FR: "disque absent", EN: "disk missing"},
	"backup.failed":  {FR: "échouée", EN: "failed"},

	"level.ok":      {FR: "bon", EN: "good"},
	"level.warning": {FR: "à surveiller", EN: "to watch"},
	"level.problem": {FR: "problème", EN: "problem"},

	"tickets.title":    {FR: "Tickets d'intervention", EN: "Intervention tickets"},
	"tickets.intro":    {FR: "Un souci avec la box, le wiki, les sites, le courriel ou un ordinateur ? Ouvrez un ticket : les technicien·nes de l'association d'accompagnement le reçoivent par courriel.", EN: "A problem with the box, the wiki, the websites, mail or a computer? Open a ticket: the support association's technicians get it by e-mail."},
	"tickets.new":      {FR: "Ouvrir un ticket", EN: "Open a ticket"},
	"tickets.none":     {FR: "Aucun ticket.", EN: "No ticket."},
	"tickets.filter":   {FR: "Statut", EN: "Status"},
	"tickets.all":      {FR: "tous", EN: "all"},
	"tickets.show":     {FR: "Afficher", EN: "Show"},
	"tickets.pages":    {FR: "Pages de la liste", EN: "List pages"},
	"tickets.pageof":   {FR: "Page %d sur %d (%d tickets)", EN: "Page %d of %d (%d tickets)"},
	"tickets.newer":    {FR: "← Plus récents", EN: "← Newer"},
	"tickets.older":    {FR: "Plus anciens →", EN: "Older →"},
	"tickets.id":       {FR: "N°", EN: "#"},
	"tickets.subject":  {FR: "Sujet", EN: "Subject"},
	"tickets.status":   {FR: "Statut", EN: "Status"},
	"tickets.urgency":  {FR: "Urgence", EN: "Urgency"},
	"tickets.author":   {FR: "Demandé par", EN: "Asked by"},
	"tickets.assignee": {FR: "Suivi par", EN: "Handled by"},
	"tickets.updated":  {FR: "Mis à jour", EN: "Updated"},
	"tickets.time":     {FR: "Temps passé", EN: "Time spent"},

	"ticket.title":       {FR: "Ticket n°%d : %s", EN: "Ticket #%d: %s"},
	"ticket.intro":       {FR: "Décrivez ce qui ne va pas : ce que vous faisiez, ce qui s'est passé, depuis quand. L'état de la box est joint automatiquement pour les technicien·nes (sans aucun mot de passe).", EN: "Describe what is wrong: what you were doing, what happened, since when. The box's state is attached for the technicians (without any password)."},
	"ticket.f.title":     {FR: "Titre", EN: "Title"},
	"ticket.f.body":      {FR: "Description", EN: "Description"},
	"ticket.f.category":  {FR: "Catégorie", EN: "Category"},
	"ticket.f.urgency":   {FR: "Urgence", EN: "Urgency"},
	"ticket.f.submit":    {FR: "Envoyer le ticket", EN: "Send the ticket"},
	"ticket.opened":      {FR: "Ouvert le %s par %s.", EN: "Opened on %s by %s."},
	"ticket.facts":       {FR: "Catégorie : %s · urgence : %s · statut : %s", EN: "Category: %s · urgency: %s · status: %s"},
	"ticket.assigned":    {FR: "Suivi par %s.", EN: "Handled by %s."},
	"ticket.unassigned":  {FR: "Personne ne suit encore ce ticket.", EN: "Nobody handles this ticket yet."},
	"ticket.total":       {FR: "Temps passé au total : %s.", EN: "Total time spent: %s."},
	"ticket.thread":      {FR: "Échanges", EN: "Messages"},
	"ticket.nocomment":   {FR: "Pas encore de réponse.", EN: "No reply yet."},
	"ticket.by":          {FR: "%s, le %s", EN: "%s, on %s"},
	"ticket.timeonly":    {FR: "Intervention de %s notée.", EN: "Intervention of %s recorded."},
	"ticket.spent":       {FR: "temps passé : %s", EN: "time spent: %s"},
	"ticket.reply":       {FR: "Répondre", EN: "Reply"},
	"ticket.f.message":   {FR: "Message", EN: "Message"},
	"ticket.f.minutes":   {FR: "Temps passé pour cette intervention (minutes)", EN: "Time spent on this intervention (minutes)"},
	"ticket.f.send":      {FR: "Envoyer", EN: "Send"},
	"ticket.manage":      {FR: "Suivi du ticket", EN: "Handling"},
	"ticket.f.status":    {FR: "Statut", EN: "Status"},
	"ticket.f.assignee":  {FR: "Suivi par", EN: "Handled by"},
	"ticket.f.nobody":    {FR: "personne", EN: "nobody"},
	"ticket.f.time":      {FR: "Ajouter du temps passé (minutes)", EN: "Add time spent (minutes)"},
	"ticket.f.save":      {FR: "Enregistrer", EN: "Save"},
	"ticket.back":        {FR: "Tous les tickets", EN: "All tickets"},
	"ticket.diag":        {FR: "Diagnostic de la box", EN: "Box diagnostic"},
	"ticket.diag.at":     {FR: "Pris le %s. Les secrets sont masqués.", EN: "Taken on %s. Secrets are masked."},
	"ticket.diag.none":   {FR: "Aucun diagnostic.", EN: "No diagnostic."},
	"ticket.diag.again":  {FR: "Refaire le diagnostic maintenant", EN: "Take the diagnostic again now"},
	"ticket.diag.log":    {FR: "Dernières lignes du journal de %s", EN: "Last lines of %s's log"},
	"ticket.diag.clock":  {FR: "Horloge", EN: "Clock"},
	"ticket.diag.sync":   {FR: "synchronisée", EN: "synchronised"},
	"ticket.diag.unsync": {FR: "non synchronisée (erreur possible : %s)", EN: "not synchronised (possible error: %s)"},

	"status.new":         {FR: "nouveau", EN: "new"},
	"status.in_progress": {FR: "en cours", EN: "in progress"},
	"status.waiting":     {FR: "en attente", EN: "waiting"},
	"status.resolved":    {FR: "résolu", EN: "resolved"},
	"category.wiki":      {FR: "wiki", EN: "wiki"},
	"category.sites":     {FR: "sites", EN: "websites"},
	"category.mail":      {FR: "courriel", EN: "mail"},
	"category.backups":   {FR: "sauvegardes", EN: "backups"},
	"category.computer":  {FR: "ordinateur", EN: "computer"},
	"category.other":     {FR: "autre", EN: "other"},
	"urgency.low":        {FR: "faible", EN: "low"},
	"urgency.normal":     {FR: "normale", EN: "normal"},
	"urgency.high":       {FR: "haute", EN: "high"},

	"audit.title":             {FR: "Journal des interventions", EN: "Audit log"},
	"audit.intro":             {FR: "Ce que les technicien·nes et administrateur·rices ont fait sur les tickets, les services et les sauvegardes, du plus récent au plus ancien. Les modifications du pack sont dans les révisions.", EN: "What technicians and admins did on tickets, services and backups, newest first. Pack changes are in the revisions."},
	"audit.none":              {FR: "Journal vide.", EN: "The log is empty."},
	"audit.at":                {FR: "Quand", EN: "When"},
	"audit.actor":             {FR: "Qui", EN: "Who"},
	"audit.action":            {FR: "Action", EN: "Action"},
	"audit.ticket":            {FR: "Ticket", EN: "Ticket"},
	"audit.detail":            {FR: "Détail", EN: "Detail"},
	"audit.action.open":       {FR: "ouverture", EN: "opened"},
	"audit.action.comment":    {FR: "réponse", EN: "reply"},
	"audit.action.status":     {FR: "statut", EN: "status"},
	"audit.action.assign":     {FR: "attribution", EN: "assignment"},
	"audit.action.time":       {FR: "temps passé", EN: "time spent"},
	"audit.action.diagnostic": {FR: "diagnostic", EN: "diagnostic"},

	"ca.link":        {FR: "Installer le certificat de la box (HTTPS)", EN: "Install the box's certificate (HTTPS)"},
	"ca.title":       {FR: "Certificat de la box", EN: "The box's certificate"},
	"ca.intro":       {FR: "Le panneau, le wiki et les sites de la box sont servis en HTTPS avec un certificat créé par la box elle-même. Pour que votre appareil leur fasse confiance sans avertissement, installez-y une fois le certificat de la box.", EN: "The box's panel, wiki and websites are served over HTTPS with a certificate the box made itself. For your device to trust them without a warning, install the box's certificate on it once."},
	"ca.download":    {FR: "Télécharger le certificat", EN: "Download the certificate"},
	"ca.file":        {FR: "Fichier : %s", EN: "File: %s"},
	"ca.fingerprint": {FR: "Empreinte SHA-256, à comparer avec celle que montre votre appareil :", EN: "SHA-256 fingerprint, to compare with the one your device shows:"},
	"ca.warn":        {FR: "N'installez ce certificat que depuis le réseau de l'association. Si l'empreinte diffère, arrêtez-vous là et prévenez un·e technicien·ne.", EN: "Install this certificate only from the association's network. If the fingerprint differs, stop there and tell a technician."},
	"ca.devices":     {FR: "Installation selon l'appareil", EN: "Installing it, device by device"},
	"ca.missing":     {FR: "La box n'a pas encore créé son certificat : revenez dans une minute. Si ce message reste, prévenez un·e technicien·ne.", EN: "The box has not created its certificate yet: come back in a minute. If this message stays, tell a technician."},
	"ca.acme":        {FR: "La box utilise des certificats publics (Let's Encrypt) : vos appareils leur font déjà confiance. Aucun certificat à installer.", EN: "The box uses public certificates (Let's Encrypt): your devices already trust them. No certificate to install."},
	"ca.off":         {FR: "La box ne sert pas de HTTPS (box.tls: off) : aucun certificat à installer.", EN: "The box serves no HTTPS (box.tls: off): no certificate to install."},
	"ca.none":        {FR: "La box n'est pas encore configurée : aucun certificat à installer pour l'instant.", EN: "The box is not configured yet: no certificate to install for now."},

	"ca.android":   {FR: "Android", EN: "Android"},
	"ca.android.1": {FR: "Touchez « Télécharger le certificat » ci-dessus.", EN: "Tap \"Download the certificate\" above."},
	"ca.android.2": {FR: "Ouvrez Paramètres, cherchez « certificat » et choisissez « Installer un certificat », puis « Certificat CA ».", EN: "Open Settings, search for \"certificate\" and choose \"Install a certificate\", then \"CA certificate\"."},
	"ca.android.3": {FR: "Touchez « Installer quand même », déverrouillez le téléphone et choisissez le fichier téléchargé.", EN: "Tap \"Install anyway\", unlock the phone and pick the downloaded file."},
	"ca.android.4": {FR: "Avec Firefox : activez aussi « Utiliser les certificats d'autorité tiers » (Paramètres, À propos de Firefox : touchez 5 fois le logo, puis Paramètres secrets).", EN: "With Firefox: also turn on \"Use third party CA certificates\" (Settings, About Firefox: tap the logo 5 times, then Secret Settings)."},

	"ca.ios":   {FR: "iPhone et iPad", EN: "iPhone and iPad"},
	"ca.ios.1": {FR: "Ouvrez cette page dans Safari, touchez « Télécharger le certificat » et autorisez le téléchargement du profil.", EN: "Open this page in Safari, tap \"Download the certificate\" and allow the profile download."},
	"ca.ios.2": {FR: "Ouvrez Réglages, Général, VPN et gestion de l'appareil, et touchez le profil téléchargé.", EN: "Open Settings, General, VPN & Device Management, and tap the downloaded profile."},
	"ca.ios.3": {FR: "Dans « Plus de détails », comparez l'empreinte SHA-256, puis touchez « Installer » et saisissez votre code.", EN: "Under \"More Details\", compare the SHA-256 fingerprint, then tap \"Install\" and enter your passcode."},
	"ca.ios.4": {FR: "Ouvrez Réglages, Général, Informations, Réglages des certificats de confiance.", EN: "Open Settings, General, About, Certificate Trust Settings."},
	"ca.ios.5": {FR: "Activez la confiance totale pour le certificat de la box et confirmez.", EN: "Turn on full trust for the box's certificate and confirm."},

	"ca.windows":   {FR: "Windows", EN: "Windows"},
	"ca.windows.1": {FR: "Téléchargez le certificat, ouvrez le fichier et cliquez « Installer le certificat… ».", EN: "Download the certificate, open the file and click \"Install Certificate…\"."},
	"ca.windows.2": {FR: "Choisissez « Utilisateur actuel » (ou « Ordinateur local » pour tous les comptes), puis « Suivant ».", EN: "Choose \"Current User\" (or \"Local Machine\" for every account), then \"Next\"."},
	"ca.windows.3": {FR: "Choisissez « Placer tous les certificats dans le magasin suivant », « Parcourir… », puis « Autorités de certification racines de confiance ».", EN: "Choose \"Place all certificates in the following store\", \"Browse…\", then \"Trusted Root Certification Authorities\"."},
	"ca.windows.4": {FR: "Terminez, acceptez l'avertissement, puis redémarrez le navigateur.", EN: "Finish, accept the warning, then restart the browser."},

	"ca.macos":   {FR: "macOS", EN: "macOS"},
	"ca.macos.1": {FR: "Téléchargez le certificat et ouvrez le fichier : Trousseaux d'accès l'ajoute au trousseau « session ».", EN: "Download the certificate and open the file: Keychain Access adds it to the \"login\" keychain."},
	"ca.macos.2": {FR: "Dans Trousseaux d'accès, ouvrez le certificat de la box (« Caddy Local Authority ») et comparez l'empreinte SHA-256.", EN: "In Keychain Access, open the box's certificate (\"Caddy Local Authority\") and compare the SHA-256 fingerprint."},
	"ca.macos.3": {FR: "Dépliez « Se fier » et choisissez « Toujours approuver ».", EN: "Expand \"Trust\" and choose \"Always Trust\"."},
	"ca.macos.4": {FR: "Fermez la fenêtre et confirmez avec votre mot de passe.", EN: "Close the window and confirm with your password."},

	"ca.linux":   {FR: "Linux et Firefox", EN: "Linux and Firefox"},
	"ca.linux.1": {FR: "Dans Firefox (sur tout système) : Paramètres, Vie privée et sécurité, Certificats, « Afficher les certificats… ».", EN: "In Firefox (on any system): Settings, Privacy & Security, Certificates, \"View Certificates…\"."},
	"ca.linux.2": {FR: "Onglet « Autorités » : « Importer… » et choisissez le fichier téléchargé.", EN: "\"Authorities\" tab: \"Import…\" and pick the downloaded file."},
	"ca.linux.3": {FR: "Cochez « Confirmer cette AC pour identifier des sites web », puis OK.", EN: "Tick \"Trust this CA to identify websites\", then OK."},
	"ca.linux.4": {FR: "Pour tout le système (Debian, Ubuntu) : copiez le fichier dans /usr/local/share/ca-certificates/ puis lancez « sudo update-ca-certificates ».", EN: "For the whole system (Debian, Ubuntu): copy the file into /usr/local/share/ca-certificates/ then run \"sudo update-ca-certificates\"."},

	"dash.tickets":        {FR: "Tickets", EN: "Tickets"},
	"dash.tickets.open":   {FR: "Tickets ouverts : %d", EN: "Open tickets: %d"},
	"dash.tickets.status": {FR: "%s : %d", EN: "%s: %d"},
	"dash.tickets.none":   {FR: "Aucun ticket ouvert.", EN: "No open ticket."},
	"dash.tickets.all":    {FR: "Voir tous les tickets", EN: "See every ticket"},

	"error.title": {FR: "Erreur %d", EN: "Error %d"},
	"error.home":  {FR: "Retour à l'accueil du panneau", EN: "Back to the panel's home"},
}

// text is a page's word in lang.
func text(lang i18n.Lang, key string, args ...any) string {
	m, ok := texts[key]
	if !ok {
		return "!" + key
	}
	if len(args) == 0 {
		return m.In(lang)
	}
	return m.Sprintf(lang, args...)
}

// when shows a time for people: local time, day first in French.
func when(lang i18n.Lang, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if lang == i18n.EN {
		return t.Local().Format("2006-01-02 15:04")
	}
	return t.Local().Format("02/01/2006 15:04")
}

// humanBytes shows a size in SI units, as df -H and the alerts do.
func humanBytes(lang i18n.Lang, n uint64) string {
	const unit = 1000
	if n < unit {
		if lang == i18n.EN {
			return fmt.Sprintf("%d B", n)
		}
		return fmt.Sprintf("%d o", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	s := fmt.Sprintf("%.1f %c", float64(n)/float64(div), "kMGTPE"[exp])
	if lang == i18n.EN {
		return s + "B"
	}
	return strings.Replace(s, ".", ",", 1) + "o"
}

// percent shows a percentage: "42 %" in French (with a no-break space),
// "42%" in English.
func percent(lang i18n.Lang, f float64) string {
	if lang == i18n.EN {
		return fmt.Sprintf("%.0f%%", f)
	}
	return fmt.Sprintf("%.0f\u00a0%%", f)
}

// minutes shows a time spent: "45 min", "1 h 30".
func minutes(n int) string {
	if n < 60 {
		return fmt.Sprintf("%d min", n)
	}
	if n%60 == 0 {
		return fmt.Sprintf("%d h", n/60)
	}
	return fmt.Sprintf("%d h %02d", n/60, n%60)
}

// waitText shows a wait, rounded up: seconds, or minutes past one.
func waitText(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	return fmt.Sprintf("%d min", (s+59)/60)
}
