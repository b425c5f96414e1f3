package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// rgpdUsers: zoe is the person who asks; zoey is a namesake whose login
// and name start like hers and must come out untouched.
var rgpdUsers = []provision.User{
	{Login: "alice", Name: "Alice Martin", Role: provision.RoleAdmin, Email: "alice@example.org"},
	{Login: "zoe", Name: "Zoé Durand", Role: provision.RoleTechnician, Email: "zoe@example.org"},
	{Login: "zoey", Name: "Zoé Durand-Petit", Role: provision.RoleMember, Email: "zoey@example.org"},
	{Login: "bob", Name: "Bob Leroy", Role: provision.RoleMember, Email: "bob@example.org"},
}

// rgpdFixture fills a database with zoe's traces everywhere: tickets she
// opened and was assigned, comments, a diagnostic, audit entries,
// sessions, setup and reset links, an alert naming her.
func rgpdFixture(t *testing.T) (*DB, map[string]int64) {
	t.Helper()
	db := openTest(t)
	ctx := t.Context()
	if _, err := db.SyncUsers(ctx, rgpdUsers); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]int64{}
	tz, err := db.CreateTicket(ctx, NewTicket{Title: "Imprimante de Zoé Durand", Body: "zoe ne peut plus imprimer, écrire à zoe@example.org", Category: "computer", Author: "zoe"}, at, true)
	must(err)
	ids["zoe"] = tz.ID
	tb, err := db.CreateTicket(ctx, NewTicket{Title: "Wiki de bob", Body: "BOBSECRET: mon mot de passe du wiki ne marche plus", Category: "wiki", Author: "bob"}, at, false)
	must(err)
	ids["bob"] = tb.ID
	ty, err := db.CreateTicket(ctx, NewTicket{Title: "Site de zoey", Body: "zoey écrit, signé Zoé Durand-Petit", Author: "zoey"}, at, false)
	must(err)
	ids["zoey"] = ty.ID

	_, err = db.AddComment(ctx, Comment{TicketID: tz.ID, Author: "alice", Body: "Bonjour Zoé Durand, je passe jeudi."}, at.Add(time.Minute), true)
	must(err)
	_, err = db.AddComment(ctx, Comment{TicketID: tz.ID, Author: "zoe", Body: "Merci, je serai là.", Minutes: 0}, at.Add(2*time.Minute), true)
	must(err)
	zoeAssignee := "zoe"
	_, err = db.UpdateTicket(ctx, tb.ID, TicketChange{Assignee: &zoeAssignee}, "alice", at.Add(3*time.Minute))
	must(err)
	_, err = db.AddComment(ctx, Comment{TicketID: tb.ID, Author: "zoe", Body: "Mot de passe réinitialisé.", Minutes: 25}, at.Add(4*time.Minute), true)
	must(err)
	_, err = db.AddComment(ctx, Comment{TicketID: tb.ID, Author: "zoe", Minutes: 5}, at.Add(5*time.Minute), true)
	must(err)
	_, err = db.AddComment(ctx, Comment{TicketID: tb.ID, Author: "bob", Body: "Merci zoe !"}, at.Add(6*time.Minute), false)
	must(err)
	_, err = db.SaveDiagnostic(ctx, tb.ID, "zoe", at.Add(7*time.Minute), []byte(`{"log":["login zoe from 192.0.2.7"]}`), true)
	must(err)
	must(db.Audit(ctx, AuditEntry{At: at.Add(8 * time.Minute), Actor: "alice", Action: "user_disable", Detail: "zoe"}))
	must(db.Audit(ctx, AuditEntry{At: at.Add(8 * time.Minute), Actor: "alice", Action: "user_disable", Detail: "zoey"}))

	_, err = db.NewSession(ctx, "zoe", at)
	must(err)
	_, err = db.NewSession(ctx, "bob", at)
	must(err)
	_, err = db.NewSetupToken(ctx, "zoe", at, at.Add(time.Hour))
	must(err)
	_, err = db.NewPasswordReset(ctx, "zoe", at, at.Add(time.Hour))
	must(err)
	must(db.SetPassword(ctx, "zoe", []byte("zoe's password")))
	_, err = db.sql.ExecContext(ctx, `INSERT INTO alerts (kind, key, subject, opened_at) VALUES ('disk-full', '/home/zoe', 'Disque plein chez Zoé Durand', ?)`, stamp(at))
	must(err)
	return db, ids
}

func TestPersonalData(t *testing.T) {
	db, ids := rgpdFixture(t)
	d, err := db.PersonalData(t.Context(), "zoe")
	if err != nil {
		t.Fatal(err)
	}
	if d.Login != "zoe" || d.Name != "Zoé Durand" || d.Email != "zoe@example.org" || d.Role != provision.RoleTechnician || !d.HasPassword || d.PasswordSetAt == nil {
		t.Errorf("profile: %+v", d)
	}
	if len(d.Tickets) != 1 || d.Tickets[0].ID != ids["zoe"] || len(d.Tickets[0].Comments) != 2 {
		t.Errorf("tickets: got %+v, want her one ticket with its 2 comments", d.Tickets)
	}
	if len(d.OtherComments) != 2 || d.OtherComments[0].TicketID != ids["bob"] || d.OtherComments[1].Minutes != 5 {
		t.Errorf("other comments: got %+v, want her 2 comments on bob's ticket", d.OtherComments)
	}
	var actions []string
	for _, e := range d.Audit {
		actions = append(actions, fmt.Sprintf("%s %s %d %s", e.Actor, e.Action, e.TicketID, e.Detail))
	}
	want := []string{
		fmt.Sprintf("zoe open %d Imprimante de Zoé Durand", ids["zoe"]),
		fmt.Sprintf("alice comment %d ", ids["zoe"]),
		fmt.Sprintf("zoe comment %d ", ids["zoe"]),
		fmt.Sprintf("alice assign %d — → zoe", ids["bob"]),
		fmt.Sprintf("zoe comment %d 25 min", ids["bob"]),
		fmt.Sprintf("zoe time %d 5 min", ids["bob"]),
		fmt.Sprintf("zoe diagnostic %d ", ids["bob"]),
		"alice user_disable 0 zoe",
	}
	if !slices.Equal(actions, want) {
		t.Errorf("audit:\n got %q\nwant %q", actions, want)
	}
	if len(d.Sessions) != 1 || len(d.PasswordResets) != 1 {
		t.Errorf("sessions %d, resets %d; want 1, 1", len(d.Sessions), len(d.PasswordResets))
	}

	// Nothing of other members, nothing secret.
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	rows, err := db.sql.QueryContext(t.Context(), `SELECT id FROM sessions UNION ALL SELECT id FROM password_resets
		UNION ALL SELECT id FROM setup_tokens UNION ALL SELECT password_hash FROM users WHERE password_hash IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h string
		rows.Scan(&h)
		hashes = append(hashes, h)
	}
	rows.Close()
	if len(hashes) < 5 {
		t.Fatalf("fixture: %d secrets, want at least 5", len(hashes))
	}
	for _, no := range append([]string{"BOBSECRET", "bob@example.org", "Bob Leroy", "zoey", "Site de", "Disque plein"}, hashes...) {
		if strings.Contains(string(raw), no) {
			t.Errorf("export of zoe contains %q", no)
		}
	}
	if _, err := db.PersonalData(t.Context(), "nobody"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("PersonalData(nobody): got %v, want %v", err, ErrNoSuchUser)
	}
}

// mentions lists every table.column:rowid whose text contains one of the
// needles, users' other rows included.
func mentions(t *testing.T, db *DB, needles ...string) []string {
	t.Helper()
	ctx := t.Context()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var found []string
	for _, tbl := range tables {
		cols, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for cols.Next() {
			var c string
			cols.Scan(&c)
			names = append(names, c)
		}
		cols.Close()
		for _, c := range names {
			for _, n := range needles {
				// Every column, whatever its type: cast to text.
				q := fmt.Sprintf(`SELECT rowid, CAST(%s AS TEXT) FROM %s WHERE instr(CAST(%s AS TEXT), ?) > 0`, quoteIdent(c), quoteIdent(tbl), quoteIdent(c))
				r, err := tx.QueryContext(ctx, q, n)
				if err != nil {
					t.Fatal(err)
				}
				for r.Next() {
					var id int64
					var v string
					r.Scan(&id, &v)
					found = append(found, fmt.Sprintf("%s.%s:%d %q", tbl, c, id, v))
				}
				r.Close()
			}
		}
	}
	return found
}

func TestEraseUser(t *testing.T) {
	db, ids := rgpdFixture(t)
	ctx := t.Context()
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	pseudo := func(n int64) string { return fmt.Sprintf("ancien-membre#%d", n) }

	if _, err := db.EraseUser(ctx, "zoe", "alice", at, pseudo); !errors.Is(err, ErrStillInPack) {
		t.Fatalf("erasing a user the pack names: got %v, want %v", err, ErrStillInPack)
	}
	if got := mentions(t, db, "zoe@example.org"); len(got) == 0 {
		t.Fatal("a refused erasure changed the database")
	}
	before, err := db.Ticket(ctx, ids["bob"])
	if err != nil {
		t.Fatal(err)
	}
	zoeyBefore, err := db.PersonalData(ctx, "zoey")
	if err != nil {
		t.Fatal(err)
	}

	// The pack drops her (the panel's first step), then the erasure.
	if _, err := db.SyncUsers(ctx, slices.DeleteFunc(slices.Clone(rgpdUsers), func(u provision.User) bool { return u.Login == "zoe" })); err != nil {
		t.Fatal(err)
	}
	got, err := db.EraseUser(ctx, "zoe", "alice", at, pseudo)
	if err != nil {
		t.Fatal(err)
	}
	if got != "ancien-membre#1" {
		t.Errorf("pseudonym %q, want ancien-membre#1", got)
	}

	// Every table, every column: no login, no name, no address left.
	// zoey's own rows mention "zoey" and "Zoé Durand-Petit": not her.
	notHer := strings.NewReplacer("zoey", "", "Zoé Durand-Petit", "")
	var left []string
	for _, m := range mentions(t, db, "zoe", "Zoé Durand", "zoe@example.org") {
		if m := notHer.Replace(m); strings.Contains(m, "zoe") || strings.Contains(m, "Zoé Durand") {
			left = append(left, m)
		}
	}
	if len(left) != 0 {
		t.Errorf("login, name or e-mail left after erasure:\n%s", strings.Join(left, "\n"))
	}
	// The check above can see: zoey's rows are found by it.
	if len(mentions(t, db, "Zoé Durand")) == 0 {
		t.Error("mentions finds nothing, not even the namesake's rows")
	}
	if _, err := db.LookupUser(ctx, "zoe"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("zoe's row: got %v, want %v", err, ErrNoSuchUser)
	}

	// The tickets stay, with what technicians count.
	tz, err := db.Ticket(ctx, ids["zoe"])
	if err != nil {
		t.Fatal(err)
	}
	if tz.Author != got || tz.Title != ErasedText || tz.Body != ErasedText || tz.Category != "computer" {
		t.Errorf("her ticket: %+v", tz)
	}
	tb, err := db.Ticket(ctx, ids["bob"])
	if err != nil {
		t.Fatal(err)
	}
	if tb.Assignee != got || tb.MinutesSpent != before.MinutesSpent || tb.MinutesSpent != 30 || tb.Title != "Wiki de bob" || !tb.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("bob's ticket: %+v, want assignee %s, 30 minutes, his title", tb, got)
	}
	cs, err := db.Comments(ctx, ids["bob"])
	if err != nil {
		t.Fatal(err)
	}
	var thread []string
	for _, c := range cs {
		thread = append(thread, fmt.Sprintf("%s %d %s", c.Author, c.Minutes, c.Body))
	}
	wantThread := []string{
		got + " 25 " + ErasedText,
		got + " 5 ",
		"bob 0 Merci " + got + " !",
	}
	if !slices.Equal(thread, wantThread) {
		t.Errorf("bob's thread:\n got %q\nwant %q", thread, wantThread)
	}
	cz, _ := db.Comments(ctx, ids["zoe"])
	if len(cz) != 2 || cz[0].Body != "Bonjour "+got+", je passe jeudi." || cz[0].Author != "alice" {
		t.Errorf("alice's comment on her ticket: %+v", cz)
	}

	// The namesake is untouched.
	zoeyAfter, err := db.PersonalData(ctx, "zoey")
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := json.Marshal(zoeyBefore)
	b2, _ := json.Marshal(zoeyAfter)
	if string(b1) != string(b2) {
		t.Errorf("zoey's data changed by zoe's erasure:\nbefore %s\nafter  %s", b1, b2)
	}

	// The erasure is in the audit log, by pseudonym.
	log, err := db.AuditLog(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Actor != "alice" || log[0].Action != AuditErase || log[0].Detail != got || !log[0].At.Equal(at) {
		t.Errorf("last audit entry: %+v", log)
	}
	// Sessions, links: gone; bob's session stays.
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM setup_tokens) * 10 + (SELECT count(*) FROM password_resets) * 100`).Scan(&n); err != nil || n != 1 {
		t.Errorf("sessions + 10×setup + 100×resets = %d (%v), want 1 (bob's session)", n, err)
	}
	// The foreign keys hold.
	rows, err := db.sql.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check reports a violation")
	}
	rows.Close()

	// A second erasure gets the next number; the login may come back as
	// someone new, without her history.
	if _, err := db.SyncUsers(ctx, append(slices.Clone(rgpdUsers[:1]), provision.User{Login: "bob", Role: provision.RoleMember})); err != nil {
		t.Fatal(err)
	}
	if got2, err := db.EraseUser(ctx, "zoey", "alice", at, pseudo); err != nil || got2 != "ancien-membre#2" {
		t.Errorf("second erasure: %q, %v; want ancien-membre#2", got2, err)
	}
	if _, err := db.SyncUsers(ctx, []provision.User{rgpdUsers[0], {Login: "zoe", Role: provision.RoleMember}}); err != nil {
		t.Fatal(err)
	}
	if d, err := db.PersonalData(ctx, "zoe"); err != nil || len(d.Tickets)+len(d.OtherComments)+len(d.Audit) != 0 || d.Name != "" {
		t.Errorf("a new zoe inherits: %+v, %v", d, err)
	}
}

func TestTokenSpans(t *testing.T) {
	for _, c := range []struct {
		s, needle string
		want      int
	}{
		{"al → bob", "al", 1},
		{"alice → bob", "al", 0},
		{"— → al", "al", 1},
		{"al.x", "al", 0},
		{"(al)", "al", 1},
		{"Zoé Durand-Petit", "Zoé Durand", 0},
		{"Bonjour Zoé Durand, merci", "Zoé Durand", 1},
		{"zoe zoe", "zoe", 2},
		{"", "zoe", 0},
	} {
		if got := len(tokenSpans(c.s, c.needle)); got != c.want {
			t.Errorf("tokenSpans(%q, %q): %d, want %d", c.s, c.needle, got, c.want)
		}
	}
}
