package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
)

// Intervention tickets: what a member asks the support association for,
// its thread, the box's state when it was asked (diagnostics) and the
// audit log of what staff did. The panel decides who may do what; the
// store keeps the rows consistent (a comment's minutes and the ticket's
// total change in one transaction, with their audit entry).
//
// Every function takes its time from the caller, as the alerts do: the
// panel stamps a ticket, its comment and its audit entry with one clock,
// which its tests pin.

// Ticket statuses, in the order a ticket usually goes through them.
const (
	StatusNew        = "new"
	StatusInProgress = "in_progress"
	StatusWaiting    = "waiting"
	StatusResolved   = "resolved"
)

// TicketStatuses, TicketCategories and TicketUrgencies are the values the
// schema accepts, in the order forms show them.
var (
	TicketStatuses   = []string{StatusNew, StatusInProgress, StatusWaiting, StatusResolved}
	TicketCategories = []string{"wiki", "sites", "mail", "backups", "computer", "other"}
	TicketUrgencies  = []string{"low", "normal", "high"}
)

// Audit actions, as the audit log records them.
const (
	AuditOpen       = "open"
	AuditComment    = "comment"
	AuditStatus     = "status"
	AuditAssign     = "assign"
	AuditTime       = "time"
	AuditDiagnostic = "diagnostic"
)

// Errors of tickets, for errors.Is.
var (
	ErrNoTicket = i18n.Errorf(i18n.M{
		FR: "ticket introuvable",
		EN: "ticket not found",
	})
	ErrBadTransition = i18n.Errorf(i18n.M{
		FR: "changement de statut impossible",
		EN: "impossible status change",
	})
)

// Ticket is an intervention ticket.
type Ticket struct {
	ID           int64     `json:"id"`
	Title        string    `json:"title"`
	Body         string    `json:"body"`
	Category     string    `json:"category"`
	Urgency      string    `json:"urgency"`
	Status       string    `json:"status"`
	Author       string    `json:"author"`
	Assignee     string    `json:"assignee,omitempty"` // "" while nobody is assigned
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	MinutesSpent int       `json:"minutes_spent"`
}

// Comment is one message of a ticket's thread, or one intervention's time.
type Comment struct {
	ID        int64     `json:"id"`
	TicketID  int64     `json:"ticket_id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	Minutes   int       `json:"minutes,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Diagnostic is a snapshot of the box's state taken for a ticket; Data is
// the panel's JSON.
type Diagnostic struct {
	ID       int64
	TicketID int64
	TakenAt  time.Time
	TakenBy  string
	Data     []byte
}

// AuditEntry is one action of an admin or technician.
type AuditEntry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	TicketID int64     `json:"ticket_id,omitempty"` // 0: about no ticket
	Detail   string    `json:"detail,omitempty"`
}

// NewTicket is what opening a ticket takes. Empty Category and Urgency
// are "other" and "normal".
type NewTicket struct {
	Title, Body, Category, Urgency, Author string
}

// CreateTicket opens a ticket at time at, status new. With audit (the
// author is an admin or a technician), the opening is in the audit log.
func (db *DB) CreateTicket(ctx context.Context, nt NewTicket, at time.Time, audit bool) (Ticket, error) {
	if nt.Category == "" {
		nt.Category = "other"
	}
	if nt.Urgency == "" {
		nt.Urgency = "normal"
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return Ticket{}, err
	}
	defer tx.Rollback()
	s := stamp(at)
	res, err := tx.ExecContext(ctx, `INSERT INTO tickets (title, body, category, urgency, author, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, nt.Title, nt.Body, nt.Category, nt.Urgency, nt.Author, s, s)
	if err != nil {
		return Ticket{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Ticket{}, err
	}
	if audit {
		if err := addAudit(ctx, tx, AuditEntry{At: at, Actor: nt.Author, Action: AuditOpen, TicketID: id, Detail: nt.Title}); err != nil {
			return Ticket{}, err
		}
	}
	t, err := scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, id))
	if err != nil {
		return Ticket{}, err
	}
	return t, tx.Commit()
}

// Ticket returns the ticket id; ErrNoTicket when there is none.
func (db *DB) Ticket(ctx context.Context, id int64) (Ticket, error) {
	t, err := scanTicket(db.sql.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, ErrNoTicket
	}
	return t, err
}

// TicketFilter selects tickets; zero fields select everything.
type TicketFilter struct {
	Author string // only this user's tickets
	Status string // only tickets in this status
	// Limit and Offset page the list (a box keeps years of tickets, and
	// a page of all of them weighs hundreds of kilobytes); Limit 0 is no
	// limit.
	Limit, Offset int
}

// where is the filter's WHERE clause and its arguments.
func (f TicketFilter) where() (string, []any) {
	q := ` WHERE 1`
	var args []any
	if f.Author != "" {
		q += ` AND author = ?`
		args = append(args, f.Author)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	return q, args
}

// CountTickets is how many tickets filter selects, Limit and Offset aside.
func (db *DB) CountTickets(ctx context.Context, f TicketFilter) (int, error) {
	where, args := f.where()
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM tickets`+where, args...).Scan(&n)
	return n, err
}

// TicketCounts is how many tickets there are in each status (statuses
// without tickets are absent).
func (db *DB) TicketCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT status, count(*) FROM tickets GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		out[status] = n
	}
	return out, rows.Err()
}

// Tickets lists the tickets filter selects, newest first.
func (db *DB) Tickets(ctx context.Context, f TicketFilter) ([]Ticket, error) {
	where, args := f.where()
	q := `SELECT ` + ticketColumns + ` FROM tickets` + where + ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, f.Limit, max(f.Offset, 0))
	}
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

// AddComment adds c (TicketID, Author, Body, Minutes) to its ticket's
// thread at time at, adds its minutes to the ticket's total and touches
// the ticket; with audit (the author is staff) it is in the audit log.
func (db *DB) AddComment(ctx context.Context, c Comment, at time.Time, audit bool) (Comment, error) {
	if c.Minutes < 0 {
		return Comment{}, fmt.Errorf("negative minutes: %d", c.Minutes)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return Comment{}, err
	}
	defer tx.Rollback()
	s := stamp(at)
	res, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = ?, minutes_spent = minutes_spent + ? WHERE id = ?`,
		s, c.Minutes, c.TicketID)
	if err != nil {
		return Comment{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Comment{}, ErrNoTicket
	}
	res, err = tx.ExecContext(ctx, `INSERT INTO ticket_comments (ticket_id, author, body, minutes, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.TicketID, c.Author, c.Body, c.Minutes, s)
	if err != nil {
		return Comment{}, err
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return Comment{}, err
	}
	if audit {
		action, detail := AuditComment, ""
		if c.Body == "" {
			action = AuditTime
		}
		if c.Minutes > 0 {
			detail = strconv.Itoa(c.Minutes) + " min"
		}
		if err := addAudit(ctx, tx, AuditEntry{At: at, Actor: c.Author, Action: action, TicketID: c.TicketID, Detail: detail}); err != nil {
			return Comment{}, err
		}
	}
	c.CreatedAt, _ = time.Parse(timeLayout, s)
	return c, tx.Commit()
}

// Comments is a ticket's thread, oldest first.
func (db *DB) Comments(ctx context.Context, ticketID int64) ([]Comment, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, ticket_id, author, body, minutes, created_at
		FROM ticket_comments WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []Comment{}
	for rows.Next() {
		var c Comment
		var created string
		if err := rows.Scan(&c.ID, &c.TicketID, &c.Author, &c.Body, &c.Minutes, &created); err != nil {
			return nil, err
		}
		if c.CreatedAt, err = time.Parse(timeLayout, created); err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

// CanMove reports whether a ticket may go from one status to another.
// A ticket never goes back to new (someone has looked at it); a resolved
// ticket is reopened as in progress. Staying in the same status is no
// move and always allowed.
func CanMove(from, to string) bool {
	if from == to {
		return slices.Contains(TicketStatuses, to)
	}
	switch to {
	case StatusInProgress, StatusWaiting:
		return from != StatusResolved || to == StatusInProgress
	case StatusResolved:
		return true
	}
	return false
}

// TicketChange is what staff change on a ticket; nil fields stay.
type TicketChange struct {
	Status   *string
	Assignee *string // "" unassigns
}

// UpdateTicket applies ch to the ticket id at time at, on behalf of actor,
// and records each actual change in the audit log. A status move CanMove
// refuses is ErrBadTransition.
func (db *DB) UpdateTicket(ctx context.Context, id int64, ch TicketChange, actor string, at time.Time) (Ticket, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return Ticket{}, err
	}
	defer tx.Rollback()
	t, err := scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, ErrNoTicket
	}
	if err != nil {
		return Ticket{}, err
	}
	s := stamp(at)
	changed := false
	if ch.Status != nil && *ch.Status != t.Status {
		if !CanMove(t.Status, *ch.Status) {
			return Ticket{}, ErrBadTransition
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET status = ? WHERE id = ?`, *ch.Status, id); err != nil {
			return Ticket{}, err
		}
		if err := addAudit(ctx, tx, AuditEntry{At: at, Actor: actor, Action: AuditStatus, TicketID: id, Detail: t.Status + " → " + *ch.Status}); err != nil {
			return Ticket{}, err
		}
		changed = true
	}
	if ch.Assignee != nil && *ch.Assignee != t.Assignee {
		var who any
		if *ch.Assignee != "" {
			who = *ch.Assignee
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET assignee = ? WHERE id = ?`, who, id); err != nil {
			return Ticket{}, err
		}
		detail := strings.TrimSpace(orDash(t.Assignee) + " → " + orDash(*ch.Assignee))
		if err := addAudit(ctx, tx, AuditEntry{At: at, Actor: actor, Action: AuditAssign, TicketID: id, Detail: detail}); err != nil {
			return Ticket{}, err
		}
		changed = true
	}
	if changed {
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = ? WHERE id = ?`, s, id); err != nil {
			return Ticket{}, err
		}
	}
	t, err = scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, id))
	if err != nil {
		return Ticket{}, err
	}
	return t, tx.Commit()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// SaveDiagnostic stores a snapshot (JSON) for a ticket, taken by login at
// time at; with audit (a technician's refresh) it is in the audit log.
func (db *DB) SaveDiagnostic(ctx context.Context, ticketID int64, by string, at time.Time, data []byte, audit bool) (Diagnostic, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return Diagnostic{}, err
	}
	defer tx.Rollback()
	s := stamp(at)
	res, err := tx.ExecContext(ctx, `INSERT INTO ticket_diagnostics (ticket_id, taken_at, taken_by, data) VALUES (?, ?, ?, ?)`,
		ticketID, s, by, string(data))
	if err != nil {
		return Diagnostic{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Diagnostic{}, err
	}
	if audit {
		if err := addAudit(ctx, tx, AuditEntry{At: at, Actor: by, Action: AuditDiagnostic, TicketID: ticketID}); err != nil {
			return Diagnostic{}, err
		}
	}
	taken, _ := time.Parse(timeLayout, s)
	return Diagnostic{ID: id, TicketID: ticketID, TakenAt: taken, TakenBy: by, Data: data}, tx.Commit()
}

// LatestDiagnostic is the newest snapshot of a ticket; ok is false when
// it has none.
func (db *DB) LatestDiagnostic(ctx context.Context, ticketID int64) (d Diagnostic, ok bool, err error) {
	var taken, data string
	err = db.sql.QueryRowContext(ctx, `SELECT id, ticket_id, taken_at, taken_by, data FROM ticket_diagnostics
		WHERE ticket_id = ? ORDER BY id DESC LIMIT 1`, ticketID).Scan(&d.ID, &d.TicketID, &taken, &d.TakenBy, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return Diagnostic{}, false, nil
	}
	if err != nil {
		return Diagnostic{}, false, err
	}
	d.Data = []byte(data)
	d.TakenAt, err = time.Parse(timeLayout, taken)
	return d, err == nil, err
}

// Audit adds an entry to the audit log.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	return addAudit(ctx, db.sql, e)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func addAudit(ctx context.Context, x execer, e AuditEntry) error {
	var ticket any
	if e.TicketID != 0 {
		ticket = e.TicketID
	}
	_, err := x.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, ticket_id, detail) VALUES (?, ?, ?, ?, ?)`,
		stamp(e.At), e.Actor, e.Action, ticket, e.Detail)
	return err
}

// AuditLog lists the audit log, newest first, at most limit entries (all
// when limit <= 0); ticketID 0 lists every ticket's.
func (db *DB) AuditLog(ctx context.Context, ticketID int64, limit int) ([]AuditEntry, error) {
	q := `SELECT id, at, actor, action, ticket_id, detail FROM audit_log`
	var args []any
	if ticketID != 0 {
		q += ` WHERE ticket_id = ?`
		args = append(args, ticketID)
	}
	q += ` ORDER BY id DESC`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at string
		var ticket sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &ticket, &e.Detail); err != nil {
			return nil, err
		}
		e.TicketID = ticket.Int64
		if e.At, err = time.Parse(timeLayout, at); err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return list, rows.Err()
}

const ticketColumns = `id, title, body, category, urgency, status, author, assignee, created_at, updated_at, minutes_spent`

func scanTicket(s scanner) (Ticket, error) {
	var (
		t                Ticket
		assignee         sql.NullString
		created, updated string
	)
	if err := s.Scan(&t.ID, &t.Title, &t.Body, &t.Category, &t.Urgency, &t.Status, &t.Author, &assignee,
		&created, &updated, &t.MinutesSpent); err != nil {
		return Ticket{}, err
	}
	t.Assignee = assignee.String
	var errs [2]error
	t.CreatedAt, errs[0] = time.Parse(timeLayout, created)
	t.UpdatedAt, errs[1] = time.Parse(timeLayout, updated)
	return t, errors.Join(errs[:]...)
}
