package panel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// Intervention tickets: members ask for help, the support association's
// technicians (and the admins) answer.
//
// Who sees what: a member sees and comments only their own tickets; any
// other ticket is "not found" for them, exactly as one that does not
// exist, so that ids cannot be probed. Staff (admins and technicians) see
// every ticket, comment, assign, change the status, record time and see
// the diagnostics. Every staff action is in the audit log (the store
// writes the entry in the same transaction as the change).

// Bounds of what a ticket holds: a form's worth, not a file store.
const (
	maxTitleRunes   = 200
	maxBodyBytes    = 20000
	maxMinutes      = 24 * 60 // one intervention's time
	auditPageLength = 200
)

var (
	msgNoTicket      = i18n.M{FR: "ticket introuvable", EN: "ticket not found"}
	msgNeedTitle     = i18n.M{FR: "le titre est nécessaire (%d caractères au plus)", EN: "a title is required (%d characters at most)"}
	msgBodyLong      = i18n.M{FR: "texte trop long : %d octets au plus", EN: "text too long: %d bytes at most"}
	msgBadCategory   = i18n.M{FR: "catégorie inconnue %q (au choix : %s)", EN: "unknown category %q (one of: %s)"}
	msgBadUrgency    = i18n.M{FR: "urgence inconnue %q (au choix : %s)", EN: "unknown urgency %q (one of: %s)"}
	msgBadNumber     = i18n.M{FR: "%s : « %s » n'est pas un nombre positif", EN: "%s: %q is not a positive number"}
	msgBadStatus     = i18n.M{FR: "statut inconnu %q (au choix : %s)", EN: "unknown status %q (one of: %s)"}
	msgBadMove       = i18n.M{FR: "le ticket ne peut pas passer de « %s » à « %s »", EN: "the ticket cannot go from \"%s\" to \"%s\""}
	msgBadAssignee   = i18n.M{FR: "%q n'est pas un·e technicien·ne de la box", EN: "%q is not a technician of the box"}
	msgBadMinutes    = i18n.M{FR: "temps passé invalide : un nombre de minutes entre 0 et %d", EN: "invalid time spent: a number of minutes between 0 and %d"}
	msgNeedComment   = i18n.M{FR: "le message est vide", EN: "the message is empty"}
	msgMinutesStaff  = i18n.M{FR: "seul·e un·e technicien·ne ou un·e administrateur·rice note le temps passé", EN: "only a technician or an admin records time spent"}
	msgNothingChange = i18n.M{FR: "rien à changer : donnez status, assignee ou minutes", EN: "nothing to change: give status, assignee or minutes"}
)

// staffRole reports whether a role sees every ticket.
func staffRole(role string) bool {
	return role == provision.RoleAdmin || role == provision.RoleTechnician
}

// ticketInput is a new ticket, from the API or the form.
type ticketInput struct {
	Title    string `json:"title"`
	Body     string `json:"body"`
	Category string `json:"category"`
	Urgency  string `json:"urgency"`
}

// check trims the input and returns its first problem, in lang.
func (in *ticketInput) check(lang i18n.Lang) string {
	in.Title = strings.TrimSpace(in.Title)
	in.Body = strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
	in.Category, in.Urgency = strings.TrimSpace(in.Category), strings.TrimSpace(in.Urgency)
	switch {
	case in.Title == "" || utf8.RuneCountInString(in.Title) > maxTitleRunes || strings.ContainsAny(in.Title, "\r\n"):
		return msgNeedTitle.Sprintf(lang, maxTitleRunes)
	case len(in.Body) > maxBodyBytes:
		return msgBodyLong.Sprintf(lang, maxBodyBytes)
	case in.Category != "" && !slices.Contains(store.TicketCategories, in.Category):
		return msgBadCategory.Sprintf(lang, in.Category, strings.Join(store.TicketCategories, ", "))
	case in.Urgency != "" && !slices.Contains(store.TicketUrgencies, in.Urgency):
		return msgBadUrgency.Sprintf(lang, in.Urgency, strings.Join(store.TicketUrgencies, ", "))
	}
	return ""
}

// openTicket opens a ticket for the request's user, saves the box's
// diagnostic with it and tells the staff. code is 201, or an error's
// status with its message.
func (p *Panel) openTicket(c *call, in ticketInput) (t store.Ticket, code int, msg string) {
	if p.opts.DB == nil {
		return t, http.StatusServiceUnavailable, msgNoDB.In(c.lang)
	}
	if m := in.check(c.lang); m != "" {
		return t, http.StatusBadRequest, m
	}
	u := c.currentUser()
	now := p.now()
	t, err := p.opts.DB.CreateTicket(c.r.Context(), store.NewTicket{
		Title: in.Title, Body: in.Body, Category: in.Category, Urgency: in.Urgency, Author: u.Login,
	}, now, staffRole(u.Role))
	if err != nil {
		p.log.Error("ticket: open", "login", u.Login, "err", err)
		return t, http.StatusInternalServerError, msgInternal.In(c.lang)
	}
	p.log.Info("ticket opened", "id", t.ID, "login", u.Login)
	// The snapshot is of the moment the member asked for help; a ticket
	// without one is still a ticket.
	if err := p.saveDiagnostic(c, t.ID, false); err != nil {
		p.log.Error("ticket: diagnostic", "id", t.ID, "err", err)
	}
	p.notifyOpened(c, t)
	return t, http.StatusCreated, ""
}

// saveDiagnostic takes and stores a snapshot for a ticket, in the pack's
// language (the one the association's technicians read its mails in).
func (p *Panel) saveDiagnostic(c *call, id int64, audit bool) error {
	d := p.diagnose(p.packLang())
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = p.opts.DB.SaveDiagnostic(c.r.Context(), id, c.currentUser().Login, p.now(), data, audit)
	return err
}

// packLang is the pack's locale.
func (p *Panel) packLang() i18n.Lang {
	if p.opts.Lang != nil {
		return p.opts.Lang()
	}
	return i18n.Lang(p.pack().Locale())
}

// ticketFor loads the ticket of the route's {id} for the request's user.
// A member asking for another member's ticket gets the same 404 as for a
// ticket that does not exist. It answers the error itself.
func (p *Panel) ticketFor(c *call) (store.Ticket, bool) {
	if p.opts.DB == nil {
		c.fail(http.StatusServiceUnavailable, msgNoDB)
		return store.Ticket{}, false
	}
	id, err := strconv.ParseInt(c.param("id"), 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != c.param("id") {
		c.fail(http.StatusNotFound, msgNoTicket)
		return store.Ticket{}, false
	}
	t, err := p.opts.DB.Ticket(c.r.Context(), id)
	if errors.Is(err, store.ErrNoTicket) {
		c.fail(http.StatusNotFound, msgNoTicket)
		return store.Ticket{}, false
	}
	if err != nil {
		p.log.Error("ticket: read", "id", id, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return store.Ticket{}, false
	}
	if u := c.currentUser(); !staffRole(u.Role) && t.Author != u.Login {
		p.log.Warn("ticket of another member asked", "id", id, "login", u.Login)
		c.fail(http.StatusNotFound, msgNoTicket)
		return store.Ticket{}, false
	}
	return t, true
}

// commentInput is a comment, from the API or the form. Minutes are staff's.
type commentInput struct {
	Body    string `json:"body"`
	Minutes int    `json:"minutes"`
}

// addComment adds a comment to t as the request's user and tells the
// other side. An author answering a ticket that waited for them puts it
// back in progress.
func (p *Panel) addComment(c *call, t store.Ticket, in commentInput) (cm store.Comment, code int, msg string) {
	u := c.currentUser()
	staff := staffRole(u.Role)
	in.Body = strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
	switch {
	case in.Minutes != 0 && !staff:
		return cm, http.StatusForbidden, msgMinutesStaff.In(c.lang)
	case in.Minutes < 0 || in.Minutes > maxMinutes:
		return cm, http.StatusBadRequest, msgBadMinutes.Sprintf(c.lang, maxMinutes)
	case in.Body == "" && in.Minutes == 0:
		return cm, http.StatusBadRequest, msgNeedComment.In(c.lang)
	case len(in.Body) > maxBodyBytes:
		return cm, http.StatusBadRequest, msgBodyLong.Sprintf(c.lang, maxBodyBytes)
	}
	now := p.now()
	cm, err := p.opts.DB.AddComment(c.r.Context(), store.Comment{TicketID: t.ID, Author: u.Login, Body: in.Body, Minutes: in.Minutes}, now, staff)
	if err != nil {
		p.log.Error("ticket: comment", "id", t.ID, "err", err)
		return cm, http.StatusInternalServerError, msgInternal.In(c.lang)
	}
	if u.Login == t.Author && t.Status == store.StatusWaiting {
		st := store.StatusInProgress
		if _, err := p.opts.DB.UpdateTicket(c.r.Context(), t.ID, store.TicketChange{Status: &st}, u.Login, now); err != nil {
			p.log.Warn("ticket: back in progress", "id", t.ID, "err", err)
		}
	}
	if in.Body != "" {
		p.notifyAnswered(c, t, cm)
	}
	return cm, http.StatusCreated, ""
}

// ticketChange is what staff change: nil fields stay.
type ticketChange struct {
	Status   *string `json:"status"`
	Assignee *string `json:"assignee"`
	Minutes  int     `json:"minutes"`
}

// changeTicket applies a staff change to t: status, assignee, and time
// spent (recorded as an intervention without a message).
func (p *Panel) changeTicket(c *call, t store.Ticket, ch ticketChange) (store.Ticket, int, string) {
	u := c.currentUser()
	if ch.Status == nil && ch.Assignee == nil && ch.Minutes == 0 {
		return t, http.StatusBadRequest, msgNothingChange.In(c.lang)
	}
	if s := ch.Status; s != nil {
		switch {
		case !slices.Contains(store.TicketStatuses, *s):
			return t, http.StatusBadRequest, msgBadStatus.Sprintf(c.lang, *s, strings.Join(store.TicketStatuses, ", "))
		case !store.CanMove(t.Status, *s):
			return t, http.StatusConflict, msgBadMove.Sprintf(c.lang, text(c.lang, "status."+t.Status), text(c.lang, "status."+*s))
		}
	}
	if a := ch.Assignee; a != nil && *a != "" && *a != t.Assignee {
		if pu, ok := packUser(p.pack(), *a); !ok || pu.Role != provision.RoleTechnician {
			return t, http.StatusBadRequest, msgBadAssignee.Sprintf(c.lang, *a)
		}
	}
	if ch.Minutes < 0 || ch.Minutes > maxMinutes {
		return t, http.StatusBadRequest, msgBadMinutes.Sprintf(c.lang, maxMinutes)
	}
	ctx := c.r.Context()
	now := p.now()
	if ch.Minutes > 0 {
		if _, err := p.opts.DB.AddComment(ctx, store.Comment{TicketID: t.ID, Author: u.Login, Minutes: ch.Minutes}, now, true); err != nil {
			p.log.Error("ticket: time", "id", t.ID, "err", err)
			return t, http.StatusInternalServerError, msgInternal.In(c.lang)
		}
	}
	nt, err := p.opts.DB.UpdateTicket(ctx, t.ID, store.TicketChange{Status: ch.Status, Assignee: ch.Assignee}, u.Login, now)
	if err != nil {
		p.log.Error("ticket: change", "id", t.ID, "err", err)
		return t, http.StatusInternalServerError, msgInternal.In(c.lang)
	}
	return nt, http.StatusOK, ""
}

// technicians are the pack's technicians, whom a ticket may be assigned to.
func (p *Panel) technicians() []provision.User {
	var out []provision.User
	if pk := p.pack(); pk != nil {
		for _, u := range pk.Panel.Users {
			if u.Role == provision.RoleTechnician {
				out = append(out, u)
			}
		}
	}
	return out
}

// ---- JSON API ----

// ticketJSON is a ticket with its thread, and its last diagnostic for staff.
type ticketJSON struct {
	store.Ticket
	Comments   []store.Comment `json:"comments"`
	Diagnostic json.RawMessage `json:"diagnostic,omitempty"`
}

// apiTickets is GET /api/tickets[?status=]: a member's own tickets, every
// ticket for staff, newest first.
func (p *Panel) apiTickets(c *call) {
	f, ok := p.ticketFilter(c)
	if !ok {
		return
	}
	q := c.r.URL.Query()
	for name, to := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				c.fail(http.StatusBadRequest, msgBadNumber, name, v)
				return
			}
			*to = n
		}
	}
	list, total, err := p.listTickets(c, f)
	if err != nil {
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"tickets": list, "total": total})
}

// ticketsPerPage is the length of a page of the ticket list: a box keeps
// years of tickets, and a page of a thousand weighs a quarter of a
// megabyte on an old phone.
const ticketsPerPage = 50

// listTickets is the tickets f selects and how many there are in all; an
// error has been answered.
func (p *Panel) listTickets(c *call, f store.TicketFilter) ([]store.Ticket, int, error) {
	list, err := p.opts.DB.Tickets(c.r.Context(), f)
	var total int
	if err == nil {
		total, err = p.opts.DB.CountTickets(c.r.Context(), f)
	}
	if err != nil {
		p.log.Error("tickets: list", "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
	}
	return list, total, err
}

// ticketFilter is the list's filter: the member's own tickets, and the
// status asked for.
func (p *Panel) ticketFilter(c *call) (store.TicketFilter, bool) {
	if p.opts.DB == nil {
		c.fail(http.StatusServiceUnavailable, msgNoDB)
		return store.TicketFilter{}, false
	}
	var f store.TicketFilter
	if u := c.currentUser(); !staffRole(u.Role) {
		f.Author = u.Login
	}
	f.Status = c.r.URL.Query().Get("status")
	if f.Status != "" && !slices.Contains(store.TicketStatuses, f.Status) {
		c.fail(http.StatusBadRequest, msgBadStatus, f.Status, strings.Join(store.TicketStatuses, ", "))
		return f, false
	}
	return f, true
}

// apiOpenTicket is POST /api/tickets: {"title","body","category",
// "urgency"} → 201 with the ticket (its id).
func (p *Panel) apiOpenTicket(c *call) {
	var in ticketInput
	if !c.decodeJSON(&in) {
		return
	}
	t, code, msg := p.openTicket(c, in)
	if code != http.StatusCreated {
		c.jsonError(code, msg)
		return
	}
	c.w.Header().Set("Location", "/api/tickets/"+strconv.FormatInt(t.ID, 10))
	writeJSON(c.w, code, t)
}

// apiTicket is GET /api/tickets/{id}: the ticket with its comments, and
// for staff its last diagnostic.
func (p *Panel) apiTicket(c *call) {
	t, ok := p.ticketFor(c)
	if !ok {
		return
	}
	out, err := p.ticketWithThread(c, t)
	if err != nil {
		p.log.Error("ticket: read", "id", t.ID, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (p *Panel) ticketWithThread(c *call, t store.Ticket) (ticketJSON, error) {
	out := ticketJSON{Ticket: t}
	var err error
	if out.Comments, err = p.opts.DB.Comments(c.r.Context(), t.ID); err != nil {
		return out, err
	}
	if staffRole(c.currentUser().Role) {
		d, ok, err := p.opts.DB.LatestDiagnostic(c.r.Context(), t.ID)
		if err != nil {
			return out, err
		}
		if ok {
			out.Diagnostic = d.Data
		}
	}
	return out, nil
}

// apiComment is POST /api/tickets/{id}/comments: {"body"} (and for staff
// "minutes") → 201 with the comment.
func (p *Panel) apiComment(c *call) {
	t, ok := p.ticketFor(c)
	if !ok {
		return
	}
	var in commentInput
	if !c.decodeJSON(&in) {
		return
	}
	cm, code, msg := p.addComment(c, t, in)
	if code != http.StatusCreated {
		c.jsonError(code, msg)
		return
	}
	writeJSON(c.w, code, cm)
}

// apiChangeTicket is PATCH /api/tickets/{id} (staff): {"status",
// "assignee", "minutes"} → 200 with the ticket.
func (p *Panel) apiChangeTicket(c *call) {
	t, ok := p.ticketFor(c)
	if !ok {
		return
	}
	var ch ticketChange
	if !c.decodeJSON(&ch) {
		return
	}
	nt, code, msg := p.changeTicket(c, t, ch)
	if code != http.StatusOK {
		c.jsonError(code, msg)
		return
	}
	writeJSON(c.w, code, nt)
}

// apiDiagnostic is POST /api/tickets/{id}/diagnostic (staff): a new
// snapshot → 201 with it.
func (p *Panel) apiDiagnostic(c *call) {
	t, ok := p.ticketFor(c)
	if !ok {
		return
	}
	if err := p.saveDiagnostic(c, t.ID, true); err != nil {
		p.log.Error("ticket: diagnostic", "id", t.ID, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	d, _, err := p.opts.DB.LatestDiagnostic(c.r.Context(), t.ID)
	if err != nil {
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	writeJSON(c.w, http.StatusCreated, json.RawMessage(d.Data))
}

// apiAudit is GET /api/audit[?ticket=ID] (staff): the audit log, newest
// first.
func (p *Panel) apiAudit(c *call) {
	if p.opts.DB == nil {
		c.fail(http.StatusServiceUnavailable, msgNoDB)
		return
	}
	id, _ := strconv.ParseInt(c.r.URL.Query().Get("ticket"), 10, 64)
	limit, _ := strconv.Atoi(c.r.URL.Query().Get("limit"))
	list, err := p.opts.DB.AuditLog(c.r.Context(), id, limit)
	if err != nil {
		p.log.Error("audit: list", "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"entries": list})
}

// ---- Pages ----

// ticketsPage is GET /tickets[?status=].
func (p *Panel) ticketsPage(c *call) {
	f, ok := p.ticketFilter(c)
	if !ok {
		return
	}
	page := 1
	if v := c.r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			c.fail(http.StatusBadRequest, msgBadNumber, "page", v)
			return
		}
		page = n
	}
	f.Limit, f.Offset = ticketsPerPage, (page-1)*ticketsPerPage
	list, total, err := p.listTickets(c, f)
	if err != nil {
		return
	}
	pages := max(1, (total+ticketsPerPage-1)/ticketsPerPage)
	next := page + 1
	if next > pages {
		next = 0
	}
	c.page(http.StatusOK, "tickets", text(c.lang, "tickets.title"), "tickets", struct {
		Tickets            []store.Ticket
		Status             string
		Statuses           []string
		Staff              bool
		Page, Pages, Total int
		Prev, Next         int // 0: no such page
	}{list, f.Status, store.TicketStatuses, staffRole(c.currentUser().Role), page, pages, total, page - 1, next})
}

// newTicketData is the new ticket form's data, shown again after an error.
type newTicketData struct {
	ticketInput
	Categories, Urgencies []string
	msg                   string
}

func (d newTicketData) errorText() string { return d.msg }

// newTicketPage is GET /tickets/new.
func (p *Panel) newTicketPage(c *call) {
	c.page(http.StatusOK, "ticket_new", text(c.lang, "tickets.new"), "tickets",
		newTicketData{ticketInput: ticketInput{Urgency: "normal", Category: "other"}, Categories: store.TicketCategories, Urgencies: store.TicketUrgencies})
}

// openTicketForm is POST /tickets.
func (p *Panel) openTicketForm(c *call) {
	in := ticketInput{
		Title: c.r.PostFormValue("title"), Body: c.r.PostFormValue("body"),
		Category: c.r.PostFormValue("category"), Urgency: c.r.PostFormValue("urgency"),
	}
	t, code, msg := p.openTicket(c, in)
	if code != http.StatusCreated {
		c.page(code, "ticket_new", text(c.lang, "tickets.new"), "tickets",
			newTicketData{ticketInput: in, Categories: store.TicketCategories, Urgencies: store.TicketUrgencies, msg: msg})
		return
	}
	c.redirect("/tickets/" + strconv.FormatInt(t.ID, 10))
}

// ticketPageData is the ticket page's data.
type ticketPageData struct {
	ticketJSON
	Staff       bool
	Diag        *Diagnostic
	DiagAt      time.Time
	Statuses    []string
	Technicians []provision.User
	msg         string
}

func (d ticketPageData) errorText() string { return d.msg }

// ticketPage is GET /tickets/{id}.
func (p *Panel) ticketPage(c *call) {
	t, ok := p.ticketFor(c)
	if !ok {
		return
	}
	p.showTicket(c, t, http.StatusOK, "")
}

func (p *Panel) showTicket(c *call, t store.Ticket, code int, msg string) {
	tj, err := p.ticketWithThread(c, t)
	if err != nil {
		p.log.Error("ticket: read", "id", t.ID, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	d := ticketPageData{ticketJSON: tj, Staff: staffRole(c.currentUser().Role), Statuses: store.TicketStatuses, Technicians: p.technicians(), msg: msg}
	if len(tj.Diagnostic) > 0 {
		var diag Diagnostic
		if err := json.Unmarshal(tj.Diagnostic, &diag); err == nil {
			d.Diag, d.DiagAt = &diag, diag.TakenAt
		}
	}
	c.page(code, "ticket", text(c.lang, "ticket.title", t.ID, t.Title), "tickets", d)
}

// commentForm is POST /tickets/{id}/comments.
func (p *Panel) commentForm(c *call) {
	t, ok := p.ticketFor(c)
	if !ok {
		return
	}
	in := commentInput{Body: c.r.PostFormValue("body")}
	if m := strings.TrimSpace(c.r.PostFormValue("minutes")); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			p.showTicket(c, t, http.StatusBadRequest, msgBadMinutes.Sprintf(c.lang, maxMinutes))
			return
		}
		in.Minutes = n
	}
	if _, code, msg := p.addComment(c, t, in); code != http.StatusCreated {
		p.showTicket(c, t, code, msg)
		return
	}
	c.redirect("/tickets/" + strconv.FormatInt(t.ID, 10))
}

// changeTicketForm is POST /tickets/{id} (staff): the status, assignee and
// time form. Fields left as they were change nothing.
func (p *Panel) changeTicketForm(c *call) {
	t, ok := p.ticketFor(c)
	if !ok {
		return
	}
	var ch ticketChange
	if s := c.r.PostFormValue("status"); s != "" && s != t.Status {
		ch.Status = &s
	}
	if c.r.PostForm.Has("assignee") {
		if a := c.r.PostFormValue("assignee"); a != t.Assignee {
			ch.Assignee = &a
		}
	}
	if m := strings.TrimSpace(c.r.PostFormValue("minutes")); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			p.showTicket(c, t, http.StatusBadRequest, msgBadMinutes.Sprintf(c.lang, maxMinutes))
			return
		}
		ch.Minutes = n
	}
	if ch.Status != nil || ch.Assignee != nil || ch.Minutes != 0 {
		if _, code, msg := p.changeTicket(c, t, ch); code != http.StatusOK {
			p.showTicket(c, t, code, msg)
			return
		}
	}
	c.redirect("/tickets/" + strconv.FormatInt(t.ID, 10))
}

// diagnosticForm is POST /tickets/{id}/diagnostic (staff): refresh.
func (p *Panel) diagnosticForm(c *call) {
	t, ok := p.ticketFor(c)
	if !ok {
		return
	}
	if err := p.saveDiagnostic(c, t.ID, true); err != nil {
		p.log.Error("ticket: diagnostic", "id", t.ID, "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	c.redirect("/tickets/" + strconv.FormatInt(t.ID, 10) + "#diagnostic")
}

// auditPage is GET /audit (staff): the last entries of the audit log.
func (p *Panel) auditPage(c *call) {
	if p.opts.DB == nil {
		c.fail(http.StatusServiceUnavailable, msgNoDB)
		return
	}
	list, err := p.opts.DB.AuditLog(c.r.Context(), 0, auditPageLength)
	if err != nil {
		p.log.Error("audit: list", "err", err)
		c.fail(http.StatusInternalServerError, msgInternal)
		return
	}
	c.page(http.StatusOK, "audit", text(c.lang, "audit.title"), "audit", struct{ Entries []store.AuditEntry }{list})
}

// waitMail waits for the notifications on their way (tests, shutdown).
func (p *Panel) waitMail(ctx context.Context) {
	done := make(chan struct{})
	go func() { p.mailing.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
