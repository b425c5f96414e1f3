package panel

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Staff actions from the dashboard: restart a service, back up now, run a
// restore drill. The panel only asks (Options.RestartService, BackupNow,
// DrillNow); the daemon does them. Each one that reaches the daemon is in
// the audit log: an association knows who restarted its mail and when.

// Errors the daemon's actions return, for errors.Is: the panel answers
// each with its code and its own words.
var (
	// ErrUnknownService: no supervised service has that name (404).
	ErrUnknownService = errors.New("panel: unknown service")
	// ErrActionBusy: the same action already runs (409).
	ErrActionBusy = errors.New("panel: already running")
	// ErrBoxPaused: a restore in place paused the box (503).
	ErrBoxPaused = errors.New("panel: the box is paused for a restore")
)

// Audit actions of the dashboard's buttons.
const (
	AuditRestart = "restart"
	AuditBackup  = "backup"
	AuditDrill   = "drill"
)

var actionTexts = map[string]i18n.M{
	"action.col":            {FR: "Action", EN: "Action"},
	"action.restart":        {FR: "Redémarrer", EN: "Restart"},
	"action.restart.label":  {FR: "Redémarrer %s", EN: "Restart %s"},
	"action.restarted":      {FR: "Service %s redémarré", EN: "Service %s restarted"},
	"action.backup":         {FR: "Sauvegarder maintenant", EN: "Back up now"},
	"action.backup.started": {FR: "Sauvegarde lancée : son avancement s'affiche ci-dessous.", EN: "Backup started: its progress shows below."},
	"action.backup.running": {FR: "Une sauvegarde est en cours.", EN: "A backup is running."},
	"action.drill":          {FR: "Lancer un exercice de restauration", EN: "Run a restore drill"},
	"action.drill.started":  {FR: "Exercice de restauration lancé : le résultat s'affichera ici quand il sera fini (quelques minutes).", EN: "Restore drill started: its result will show here when it has finished (a few minutes)."},
	"action.drill.running":  {FR: "Exercice en cours.", EN: "Drill running."},
	// The audit log's words for the actions (audit.html).
	"audit.action." + AuditRestart: {FR: "redémarrage", EN: "restart"},
	"audit.action." + AuditBackup:  {FR: "sauvegarde", EN: "backup"},
	"audit.action." + AuditDrill:   {FR: "exercice de restauration", EN: "restore drill"},
}

func init() { maps.Copy(texts, actionTexts) }

var (
	msgActionUnavailable = i18n.M{
		FR: "cette action n'est pas disponible sur cette box (le panneau tourne sans le démon ruche up)",
		EN: "this action is not available on this box (the panel runs without the ruche up daemon)",
	}
	msgUnknownService = i18n.M{
		FR: "aucun service ne s'appelle « %s » sur cette box",
		EN: "no service is named %q on this box",
	}
	msgRestartFailed = i18n.M{
		FR: "le service %s n'a pas redémarré : %s",
		EN: "service %s did not restart: %s",
	}
	msgBackupBusy = i18n.M{
		FR: "une sauvegarde est déjà en cours ; son avancement s'affiche sur le tableau de bord",
		EN: "a backup is already running; its progress shows on the dashboard",
	}
	msgDrillBusy = i18n.M{
		FR: "un exercice de restauration est déjà en cours ; son résultat s'affichera sur le tableau de bord",
		EN: "a restore drill is already running; its result will show on the dashboard",
	}
	msgBoxPaused = i18n.M{
		FR: "une restauration est en cours : la box n'accepte aucune action avant de redémarrer",
		EN: "a restore is running: the box takes no action until it restarts",
	}
	msgNoBackupTargets = i18n.M{
		FR: "le pack n'a aucune cible de sauvegarde (backup.targets)",
		EN: "the pack has no backup target (backup.targets)",
	}
	msgActionFailed = i18n.M{FR: "l'action a échoué : %s", EN: "the action failed: %s"}
)

// dashActions is what the dashboard's buttons need: which to show, and
// the flash message of the action just done.
type dashActions struct {
	Flash         string
	CanRestart    bool
	CanBackup     bool
	CanDrill      bool
	BackupRunning bool
	DrillRunning  bool
}

// actions reads what the dashboard's buttons need for the call's (staff)
// user. A backup or a drill needs targets; a button is not shown while
// its action runs.
func (p *Panel) actions(c *call, st Status) dashActions {
	a := dashActions{CanRestart: p.opts.RestartService != nil && len(st.Services) > 0}
	if len(st.Backups) > 0 && p.opts.Root != "" {
		a.BackupRunning = st.BackupRunning != nil || backup.Running(p.opts.Root)
		a.DrillRunning = backup.DrillRunning(p.opts.Root)
		a.CanBackup = p.opts.BackupNow != nil
		a.CanDrill = p.opts.DrillNow != nil
	}
	q := c.r.URL.Query()
	switch q.Get("done") {
	case AuditRestart:
		// Only a service of the box: a link must not make the panel
		// say anything it likes.
		name := q.Get("service")
		if slices.ContainsFunc(st.Services, func(s ServiceStatus) bool { return s.Name == name }) {
			a.Flash = text(c.lang, "action.restarted", name)
		}
	case AuditBackup:
		a.Flash = text(c.lang, "action.backup.started")
	case AuditDrill:
		a.Flash = text(c.lang, "action.drill.started")
	}
	return a
}

// audit records a staff action; a failure to record is logged, not shown:
// the action itself was done.
func (p *Panel) audit(c *call, action, detail string) {
	if p.opts.DB == nil {
		return
	}
	u := c.currentUser()
	e := store.AuditEntry{At: p.now(), Actor: u.Login, Action: action, Detail: detail}
	if err := p.opts.DB.Audit(c.r.Context(), e); err != nil {
		p.log.Error("audit", "action", action, "err", err)
	}
}

// actionFailed answers an action's error in words, with its code.
func (c *call) actionFailed(err error, busy i18n.M) {
	switch {
	case errors.Is(err, ErrBoxPaused):
		c.fail(http.StatusServiceUnavailable, msgBoxPaused)
	case errors.Is(err, ErrActionBusy):
		c.fail(http.StatusConflict, busy)
	default:
		c.fail(http.StatusInternalServerError, msgActionFailed, i18n.Localize(err, c.lang))
	}
}

// restartService restarts a service for the page and the API; it reports
// whether it did.
func (p *Panel) restartService(c *call) bool {
	name := c.param("name")
	if p.opts.RestartService == nil {
		c.fail(http.StatusServiceUnavailable, msgActionUnavailable)
		return false
	}
	err := p.opts.RestartService(c.r.Context(), name)
	switch {
	case errors.Is(err, ErrUnknownService):
		c.fail(http.StatusNotFound, msgUnknownService, name)
		return false
	case errors.Is(err, ErrBoxPaused):
		c.actionFailed(err, msgActionFailed)
		return false
	case err != nil:
		// The service was stopped and did not come back: that is an
		// action on the box, in the log with its failure.
		p.audit(c, AuditRestart, name+": "+i18n.Localize(err, p.packLang()))
		c.fail(http.StatusInternalServerError, msgRestartFailed, name, i18n.Localize(err, c.lang))
		return false
	}
	p.audit(c, AuditRestart, name)
	p.log.Info("service restarted from the panel", "service", name, "by", c.currentUser().Login)
	return true
}

// restartForm is POST /services/{name}/restart (staff).
func (p *Panel) restartForm(c *call) {
	if p.restartService(c) {
		c.redirect("/?done=" + AuditRestart + "&service=" + url.QueryEscape(c.param("name")))
	}
}

// apiRestart is POST /api/services/{name}/restart (staff): 204.
func (p *Panel) apiRestart(c *call) {
	if p.restartService(c) {
		c.w.WriteHeader(http.StatusNoContent)
	}
}

// start asks the daemon to start a background action (a backup, a
// drill); it reports whether it started.
func (p *Panel) start(c *call, action string, do func(context.Context) error, busy i18n.M) bool {
	if do == nil {
		c.fail(http.StatusServiceUnavailable, msgActionUnavailable)
		return false
	}
	if pk := p.pack(); pk == nil || len(pk.Backup.Targets) == 0 {
		c.fail(http.StatusConflict, msgNoBackupTargets)
		return false
	}
	if err := do(c.r.Context()); err != nil {
		c.actionFailed(err, busy)
		return false
	}
	p.audit(c, action, "")
	p.log.Info("started from the panel", "action", action, "by", c.currentUser().Login)
	return true
}

// backupForm is POST /backups (staff): back up every target now.
func (p *Panel) backupForm(c *call) {
	if p.start(c, AuditBackup, p.opts.BackupNow, msgBackupBusy) {
		c.redirect("/?done=" + AuditBackup + "#h-backups")
	}
}

// apiBackup is POST /api/backups (staff): 202, the backup runs.
func (p *Panel) apiBackup(c *call) {
	if p.start(c, AuditBackup, p.opts.BackupNow, msgBackupBusy) {
		writeJSON(c.w, http.StatusAccepted, map[string]string{"status": "started"})
	}
}

// drillForm is POST /backups/drill (staff): a restore drill now.
func (p *Panel) drillForm(c *call) {
	if p.start(c, AuditDrill, p.opts.DrillNow, msgDrillBusy) {
		c.redirect("/?done=" + AuditDrill + "#h-backups")
	}
}

// apiDrill is POST /api/backups/drill (staff): 202, the drill runs.
func (p *Panel) apiDrill(c *call) {
	if p.start(c, AuditDrill, p.opts.DrillNow, msgDrillBusy) {
		writeJSON(c.w, http.StatusAccepted, map[string]string{"status": "started"})
	}
}
