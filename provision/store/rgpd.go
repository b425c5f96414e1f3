package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ruche-box/ruche/provision/i18n"
)

// The RGPD (GDPR) duties of an association towards its members: give a
// member the data the box keeps about them (PersonalData, the export), and
// erase it when they ask (EraseUser). The pack's part (name, e-mail, role)
// is the panel's to add to the export and to remove from the pack.

// AuditErase is the audit action of an erasure; its detail is the
// pseudonym, never the erased login or name.
const AuditErase = "erase"

// ErasedText replaces what an erased person wrote: the technicians keep
// the ticket (its category, times and minutes, which support associations
// count), not the words.
const ErasedText = "[effacé à la demande de la personne / erased at the person's request]"

// ErrStillInPack is an erasure asked for a user the pack still names: the
// next apply would bring the login back with its name and e-mail.
var ErrStillInPack = i18n.Errorf(i18n.M{
	FR: "la personne est encore dans le pack : retirez-la d'abord de panel.users",
	EN: "the person is still in the pack: remove them from panel.users first",
})

// SessionTimes is a session without its id: when it began, when it was
// last used.
type SessionTimes struct {
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
}

// ResetTimes is a password reset link without its id.
type ResetTimes struct {
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// TicketThread is a ticket with its comments.
type TicketThread struct {
	Ticket
	Comments []Comment `json:"comments"`
}

// PersonalData is what the database keeps about one person. It carries no
// token, no token's hash and no password hash.
type PersonalData struct {
	Login         string     `json:"login"`
	Name          string     `json:"name"`
	Email         string     `json:"email"`
	Role          string     `json:"role"`
	Disabled      bool       `json:"disabled"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	HasPassword   bool       `json:"has_password"`
	PasswordSetAt *time.Time `json:"password_set_at,omitempty"`
	// Tickets they opened, each with its whole thread (what others
	// answered them is part of their request).
	Tickets []TicketThread `json:"tickets"`
	// Comments they wrote on other people's tickets.
	OtherComments []Comment `json:"other_comments"`
	// Audit entries by them, naming them, or about their tickets.
	Audit          []AuditEntry   `json:"audit"`
	Sessions       []SessionTimes `json:"sessions"`
	PasswordResets []ResetTimes   `json:"password_resets"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// PersonalData gathers what the database keeps about login, in one
// read transaction; ErrNoSuchUser when the database never knew the login.
func (db *DB) PersonalData(ctx context.Context, login string) (PersonalData, error) {
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return PersonalData{}, err
	}
	defer tx.Rollback()
	u, _, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE login = ?`, login))
	if errors.Is(err, sql.ErrNoRows) {
		return PersonalData{}, newDetailError(ErrNoSuchUser, msgNoSuchUser, login)
	}
	if err != nil {
		return PersonalData{}, err
	}
	d := PersonalData{
		Login: u.Login, Name: u.Name, Email: u.Email, Role: u.Role, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, HasPassword: u.HasPassword,
		PasswordSetAt:  timePtr(u.PasswordSetAt),
		Tickets:        []TicketThread{},
		OtherComments:  []Comment{},
		Audit:          []AuditEntry{},
		Sessions:       []SessionTimes{},
		PasswordResets: []ResetTimes{},
	}

	rows, err := tx.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE author = ? ORDER BY id`, login)
	if err != nil {
		return PersonalData{}, err
	}
	mine := map[int64]int{} // ticket id → index in d.Tickets
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		mine[t.ID] = len(d.Tickets)
		d.Tickets = append(d.Tickets, TicketThread{Ticket: t, Comments: []Comment{}})
	}
	if err := closeRows(rows); err != nil {
		return PersonalData{}, err
	}

	rows, err = tx.QueryContext(ctx, `SELECT c.id, c.ticket_id, c.author, c.body, c.minutes, c.created_at
		FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id
		WHERE t.author = ?1 OR c.author = ?1 ORDER BY c.id`, login)
	if err != nil {
		return PersonalData{}, err
	}
	for rows.Next() {
		var c Comment
		var created string
		if err := rows.Scan(&c.ID, &c.TicketID, &c.Author, &c.Body, &c.Minutes, &created); err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		if c.CreatedAt, err = time.Parse(timeLayout, created); err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		if i, ok := mine[c.TicketID]; ok {
			d.Tickets[i].Comments = append(d.Tickets[i].Comments, c)
		} else {
			d.OtherComments = append(d.OtherComments, c)
		}
	}
	if err := closeRows(rows); err != nil {
		return PersonalData{}, err
	}

	rows, err = tx.QueryContext(ctx, `SELECT a.id, a.at, a.actor, a.action, a.ticket_id, a.detail FROM audit_log a
		WHERE a.actor = ?1 OR instr(a.detail, ?1) > 0
		   OR a.ticket_id IN (SELECT id FROM tickets WHERE author = ?1)
		ORDER BY a.id`, login)
	if err != nil {
		return PersonalData{}, err
	}
	for rows.Next() {
		var e AuditEntry
		var at string
		var ticket sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &ticket, &e.Detail); err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		e.TicketID = ticket.Int64
		if e.At, err = time.Parse(timeLayout, at); err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		// instr found the login inside the detail; keep the entry only
		// when it names the login itself ("al" is not in "alice").
		_, onMine := mine[e.TicketID]
		if e.Actor == login || e.TicketID != 0 && onMine || len(tokenSpans(e.Detail, login)) > 0 {
			d.Audit = append(d.Audit, e)
		}
	}
	if err := closeRows(rows); err != nil {
		return PersonalData{}, err
	}

	rows, err = tx.QueryContext(ctx, `SELECT created_at, last_seen FROM sessions WHERE login = ? ORDER BY created_at`, login)
	if err != nil {
		return PersonalData{}, err
	}
	for rows.Next() {
		var created, seen string
		if err := rows.Scan(&created, &seen); err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		var s SessionTimes
		var errs [2]error
		s.CreatedAt, errs[0] = time.Parse(timeLayout, created)
		s.LastSeen, errs[1] = time.Parse(timeLayout, seen)
		if err := errors.Join(errs[:]...); err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		d.Sessions = append(d.Sessions, s)
	}
	if err := closeRows(rows); err != nil {
		return PersonalData{}, err
	}

	rows, err = tx.QueryContext(ctx, `SELECT created_at, expires_at, used_at FROM password_resets WHERE login = ? ORDER BY created_at`, login)
	if err != nil {
		return PersonalData{}, err
	}
	for rows.Next() {
		var created, expires string
		var used sql.NullString
		if err := rows.Scan(&created, &expires, &used); err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		var r ResetTimes
		var usedAt time.Time
		var errs [3]error
		r.CreatedAt, errs[0] = time.Parse(timeLayout, created)
		r.ExpiresAt, errs[1] = time.Parse(timeLayout, expires)
		usedAt, errs[2] = parseTime(used)
		if err := errors.Join(errs[:]...); err != nil {
			rows.Close()
			return PersonalData{}, err
		}
		r.UsedAt = timePtr(usedAt)
		d.PasswordResets = append(d.PasswordResets, r)
	}
	if err := closeRows(rows); err != nil {
		return PersonalData{}, err
	}
	return d, nil
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

// isTokenRune reports whether r may be part of a login, a name or an
// address: a match of one of those inside a longer word is not it.
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@+", r)
}

// tokenSpans are the byte offsets of needle in s where it stands as a
// whole word: "al" is found in "al → bob", not in "alice".
func tokenSpans(s, needle string) [][2]int {
	if needle == "" {
		return nil
	}
	var out [][2]int
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], needle)
		if i < 0 {
			break
		}
		start, end := from+i, from+i+len(needle)
		before, _ := utf8.DecodeLastRuneInString(s[:start])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (start == 0 || !isTokenRune(before)) && (end == len(s) || !isTokenRune(after)) {
			out = append(out, [2]int{start, end})
			from = end
			continue
		}
		from = start + 1
	}
	return out
}

// replaceTokens replaces every whole-word occurrence of each needle in s
// by with.
func replaceTokens(s, with string, needles ...string) string {
	for _, n := range needles {
		spans := tokenSpans(s, n)
		if len(spans) == 0 {
			continue
		}
		var b strings.Builder
		last := 0
		for _, sp := range spans {
			b.WriteString(s[last:sp[0]])
			b.WriteString(with)
			last = sp[1]
		}
		b.WriteString(s[last:])
		s = b.String()
	}
	return s
}

// EraseUser erases login at the person's request, on behalf of actor, and
// returns the pseudonym that takes the login's place: pseudonym(n), n the
// erasure's number (the panel words it in the pack's language). In one
// transaction:
//   - a users row for the pseudonym (removed, disabled, no name, no
//     e-mail) takes over every reference to the login (ticket authors and
//     assignees, comment authors, diagnostics, audit actors), so that the
//     foreign keys to users(login) hold at every statement;
//   - what the person wrote (their tickets' titles and texts, their
//     comments) becomes ErasedText; the tickets themselves, their
//     category, status, times and minutes stay;
//   - any other mention of the login, the name or the e-mail address in
//     any table's text (another comment, an audit detail, a diagnostic)
//     is replaced by the pseudonym;
//   - the user's row goes, with the password hash, and so do their
//     sessions, setup and reset links;
//   - the audit log records the erasure: actor, time, pseudonym.
//
// The pack must no longer name the user (ErrStillInPack): the panel
// removes them from the pack first. Backups made before keep their copy
// until the backup retention drops it.
func (db *DB) EraseUser(ctx context.Context, login, actor string, at time.Time, pseudonym func(n int64) string) (string, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	u, _, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE login = ?`, login))
	if errors.Is(err, sql.ErrNoRows) {
		return "", newDetailError(ErrNoSuchUser, msgNoSuchUser, login)
	}
	if err != nil {
		return "", err
	}
	if !u.Removed() {
		return "", ErrStillInPack
	}
	s := stamp(at)
	res, err := tx.ExecContext(ctx, `INSERT INTO erasures (at) VALUES (?)`, s)
	if err != nil {
		return "", err
	}
	n, err := res.LastInsertId()
	if err != nil {
		return "", err
	}
	pseudo := pseudonym(n)
	if pseudo == "" || pseudo == login {
		return "", fmt.Errorf("erasure: unusable pseudonym %q", pseudo)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (login, role, disabled, removed_at, created_at, updated_at)
		VALUES (?, ?, 1, ?, ?, ?)`, pseudo, u.Role, s, s, s); err != nil {
		return "", err
	}
	steps := []struct {
		q    string
		args []any
	}{
		// Secrets and traces of access go, before anything is handed
		// over to the pseudonym.
		{`DELETE FROM sessions WHERE login = ?`, []any{login}},
		{`DELETE FROM setup_tokens WHERE login = ?`, []any{login}},
		{`DELETE FROM password_resets WHERE login = ?`, []any{login}},
		// Their words first, while their tickets still carry their login.
		{`UPDATE tickets SET title = ?1, body = CASE WHEN body = '' THEN '' ELSE ?1 END WHERE author = ?2`, []any{ErasedText, login}},
		{`UPDATE ticket_comments SET body = CASE WHEN body = '' THEN '' ELSE ?1 END WHERE author = ?2`, []any{ErasedText, login}},
		// An opening's audit detail is the ticket's title.
		{`UPDATE audit_log SET detail = ?1 WHERE action = ?2 AND actor = ?3`, []any{ErasedText, AuditOpen, login}},
		{`UPDATE tickets SET author = ?1 WHERE author = ?2`, []any{pseudo, login}},
		{`UPDATE tickets SET assignee = ?1 WHERE assignee = ?2`, []any{pseudo, login}},
		{`UPDATE ticket_comments SET author = ?1 WHERE author = ?2`, []any{pseudo, login}},
		{`UPDATE ticket_diagnostics SET taken_by = ?1 WHERE taken_by = ?2`, []any{pseudo, login}},
		{`UPDATE audit_log SET actor = ?1 WHERE actor = ?2`, []any{pseudo, login}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return "", err
		}
	}
	if err := scrubMentions(ctx, tx, pseudo, login, u.Name, u.Email); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE login = ?`, login); err != nil {
		return "", err
	}
	if err := addAudit(ctx, tx, AuditEntry{At: at, Actor: actor, Action: AuditErase, Detail: pseudo}); err != nil {
		return "", err
	}
	return pseudo, tx.Commit()
}

// scrubMentions replaces the whole-word mentions of the needles in every
// text column of every table but users (whose other rows are other
// people: a namesake keeps their name) by pseudo. Tables added later are
// covered without a change here.
func scrubMentions(ctx context.Context, tx *sql.Tx, pseudo string, needles ...string) error {
	var ns []string
	for _, n := range needles {
		if n = strings.TrimSpace(n); n != "" {
			ns = append(ns, n)
		}
	}
	// The longest first: the e-mail "alice@x.org" before the login "alice".
	slices.SortFunc(ns, func(a, b string) int { return len(b) - len(a) })
	tables, err := textColumns(ctx, tx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		for _, col := range t.cols {
			for _, n := range ns {
				q := fmt.Sprintf(`SELECT rowid, %s FROM %s WHERE instr(%s, ?) > 0`, quoteIdent(col), quoteIdent(t.name), quoteIdent(col))
				rows, err := tx.QueryContext(ctx, q, n)
				if err != nil {
					return err
				}
				type change struct {
					rowid int64
					text  string
				}
				var changes []change
				for rows.Next() {
					var c change
					if err := rows.Scan(&c.rowid, &c.text); err != nil {
						rows.Close()
						return err
					}
					if r := replaceTokens(c.text, pseudo, n); r != c.text {
						changes = append(changes, change{c.rowid, r})
					}
				}
				if err := closeRows(rows); err != nil {
					return err
				}
				for _, c := range changes {
					u := fmt.Sprintf(`UPDATE %s SET %s = ? WHERE rowid = ?`, quoteIdent(t.name), quoteIdent(col))
					if _, err := tx.ExecContext(ctx, u, c.text, c.rowid); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

type textTable struct {
	name string
	cols []string
}

// textColumns lists the TEXT columns of the schema's tables, but users'
// and the migrations'.
func textColumns(ctx context.Context, tx *sql.Tx) ([]textTable, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('users', 'schema_migrations') ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	var out []textTable
	for _, n := range names {
		rows, err := tx.QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, n)
		if err != nil {
			return nil, err
		}
		t := textTable{name: n}
		for rows.Next() {
			var col, typ string
			if err := rows.Scan(&col, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			if strings.EqualFold(typ, "TEXT") {
				t.cols = append(t.cols, col)
			}
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
		if len(t.cols) > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
