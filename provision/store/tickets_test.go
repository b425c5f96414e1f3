package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// ticketDB is a database with the users tickets name: bob (member), tech1
// (technician), alice (admin).
func ticketDB(t *testing.T) *DB {
	t.Helper()
	db := openTest(t)
	if _, err := db.SyncUsers(t.Context(), []provision.User{
		{Login: "alice", Role: provision.RoleAdmin},
		{Login: "tech1", Role: provision.RoleTechnician},
		{Login: "bob", Role: provision.RoleMember},
		{Login: "carol", Role: provision.RoleMember},
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestTickets(t *testing.T) {
	db := ticketDB(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	tk, err := db.CreateTicket(ctx, NewTicket{Title: "L'imprimante ne marche plus", Body: "Depuis lundi.", Author: "bob"}, t0, false)
	if err != nil {
		t.Fatal(err)
	}
	if tk.ID == 0 || tk.Status != StatusNew || tk.Category != "other" || tk.Urgency != "normal" || !tk.CreatedAt.Equal(t0) || tk.Assignee != "" {
		t.Errorf("new ticket: %+v", tk)
	}
	other, err := db.CreateTicket(ctx, NewTicket{Title: "Wiki lent", Category: "wiki", Urgency: "high", Author: "carol"}, t0.Add(time.Minute), false)
	if err != nil {
		t.Fatal(err)
	}
	// The schema refuses what the forms never offer.
	for _, bad := range []NewTicket{
		{Title: "x", Category: "printer", Author: "bob"},
		{Title: "x", Urgency: "urgent", Author: "bob"},
		{Title: "", Author: "bob"},
		{Title: "x", Author: "nobody"},
	} {
		if _, err := db.CreateTicket(ctx, bad, t0, false); err == nil {
			t.Errorf("CreateTicket(%+v): no error", bad)
		}
	}

	if got, err := db.Ticket(ctx, tk.ID); err != nil || got != tk {
		t.Errorf("Ticket: %+v %v, want %+v", got, err, tk)
	}
	if _, err := db.Ticket(ctx, 999); !errors.Is(err, ErrNoTicket) {
		t.Errorf("Ticket(999): %v, want ErrNoTicket", err)
	}
	mine, _ := db.Tickets(ctx, TicketFilter{Author: "bob"})
	all, _ := db.Tickets(ctx, TicketFilter{})
	if len(mine) != 1 || mine[0].ID != tk.ID || len(all) != 2 || all[0].ID != other.ID {
		t.Errorf("Tickets: mine %v, all %v", mine, all)
	}

	// Time spent: the ticket's total is the sum of its comments' minutes.
	if _, err := db.AddComment(ctx, Comment{TicketID: tk.ID, Author: "tech1", Body: "Je passe jeudi.", Minutes: 15}, t0.Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddComment(ctx, Comment{TicketID: tk.ID, Author: "bob", Body: "Merci !"}, t0.Add(2*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddComment(ctx, Comment{TicketID: tk.ID, Author: "tech1", Minutes: 45}, t0.Add(3*time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddComment(ctx, Comment{TicketID: 999, Author: "tech1", Body: "?"}, t0, true); !errors.Is(err, ErrNoTicket) {
		t.Errorf("comment on no ticket: %v", err)
	}
	if _, err := db.AddComment(ctx, Comment{TicketID: tk.ID, Author: "tech1", Minutes: -5}, t0, true); err == nil {
		t.Error("negative minutes accepted")
	}
	got, _ := db.Ticket(ctx, tk.ID)
	if got.MinutesSpent != 60 || !got.UpdatedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("after comments: %d min, updated %v; want 60 min at %v", got.MinutesSpent, got.UpdatedAt, t0.Add(3*time.Hour))
	}
	thread, _ := db.Comments(ctx, tk.ID)
	if len(thread) != 3 || thread[0].Body != "Je passe jeudi." || thread[1].Author != "bob" || thread[2].Minutes != 45 {
		t.Errorf("thread: %+v", thread)
	}

	// Status and assignee, audited.
	st, who := StatusInProgress, "tech1"
	got, err = db.UpdateTicket(ctx, tk.ID, TicketChange{Status: &st, Assignee: &who}, "alice", t0.Add(4*time.Hour))
	if err != nil || got.Status != StatusInProgress || got.Assignee != "tech1" {
		t.Fatalf("UpdateTicket: %+v %v", got, err)
	}
	back := StatusNew
	if _, err := db.UpdateTicket(ctx, tk.ID, TicketChange{Status: &back}, "alice", t0); !errors.Is(err, ErrBadTransition) {
		t.Errorf("back to new: %v, want ErrBadTransition", err)
	}
	nobody := ""
	got, _ = db.UpdateTicket(ctx, tk.ID, TicketChange{Assignee: &nobody}, "tech1", t0.Add(5*time.Hour))
	if got.Assignee != "" {
		t.Errorf("unassigned: %q", got.Assignee)
	}
	// Nothing changed: nothing audited, nothing touched.
	if got2, _ := db.UpdateTicket(ctx, tk.ID, TicketChange{Status: &st}, "tech1", t0.Add(9*time.Hour)); !got2.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("a no-op update touched the ticket")
	}

	// Diagnostics.
	if _, ok, _ := db.LatestDiagnostic(ctx, tk.ID); ok {
		t.Error("a diagnostic before any")
	}
	if _, err := db.SaveDiagnostic(ctx, tk.ID, "bob", t0, []byte(`{"services":[]}`), false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveDiagnostic(ctx, tk.ID, "tech1", t0.Add(6*time.Hour), []byte(`{"services":[1]}`), true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveDiagnostic(ctx, tk.ID, "tech1", t0, []byte(`not json`), true); err == nil {
		t.Error("a diagnostic that is not JSON was stored")
	}
	d, ok, err := db.LatestDiagnostic(ctx, tk.ID)
	if err != nil || !ok || string(d.Data) != `{"services":[1]}` || d.TakenBy != "tech1" || !d.TakenAt.Equal(t0.Add(6*time.Hour)) {
		t.Errorf("LatestDiagnostic: %+v %v %v", d, ok, err)
	}

	// Every staff action, newest first; the member's comment is not one.
	log, err := db.AuditLog(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Actor+" "+e.Action+" "+e.Detail)
		if e.TicketID != tk.ID {
			t.Errorf("audit entry about ticket %d: %+v", e.TicketID, e)
		}
	}
	want := []string{
		"tech1 diagnostic ",
		"tech1 assign tech1 → —",
		"alice assign — → tech1",
		"alice status new → in_progress",
		"tech1 time 45 min",
		"tech1 comment 15 min",
	}
	if len(actions) != len(want) {
		t.Fatalf("audit log: got %q, want %q", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("audit[%d]: got %q, want %q", i, actions[i], want[i])
		}
	}
	if two, _ := db.AuditLog(ctx, tk.ID, 2); len(two) != 2 {
		t.Errorf("AuditLog limit 2: %d entries", len(two))
	}
	if _, err := db.CreateTicket(ctx, NewTicket{Title: "Sauvegarde", Author: "tech1"}, t0, true); err != nil {
		t.Fatal(err)
	}
	if log, _ := db.AuditLog(ctx, 0, 1); len(log) != 1 || log[0].Action != AuditOpen || log[0].Detail != "Sauvegarde" {
		t.Errorf("a ticket opened by staff is not audited: %+v", log)
	}
	if open, _ := db.Tickets(ctx, TicketFilter{Status: StatusNew}); len(open) != 2 {
		t.Errorf("new tickets: %d, want 2", len(open))
	}
}

func TestCanMove(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{StatusNew, StatusInProgress, true},
		{StatusNew, StatusWaiting, true},
		{StatusNew, StatusResolved, true},
		{StatusInProgress, StatusWaiting, true},
		{StatusWaiting, StatusInProgress, true},
		{StatusWaiting, StatusResolved, true},
		{StatusResolved, StatusInProgress, true}, // reopened
		{StatusResolved, StatusWaiting, false},
		{StatusInProgress, StatusNew, false},
		{StatusResolved, StatusNew, false},
		{StatusNew, StatusNew, true},
		{StatusNew, "closed", false},
		{"closed", "closed", false},
	} {
		if got := CanMove(c.from, c.to); got != c.ok {
			t.Errorf("CanMove(%s, %s) = %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}

// The list pages: newest first, Limit and Offset, and a count that ignores
// them, per author too.
func TestTicketsPaged(t *testing.T) {
	db := ticketDB(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range 7 {
		who := "bob"
		if i%2 == 1 {
			who = "carol"
		}
		tk, err := db.CreateTicket(ctx, NewTicket{Title: fmt.Sprintf("Ticket %d", i), Author: who}, t0.Add(time.Duration(i)*time.Minute), false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	page, err := db.Tickets(ctx, TicketFilter{Limit: 3, Offset: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 || page[0].ID != ids[3] || page[2].ID != ids[1] {
		t.Errorf("second page of 3: %v", page)
	}
	if last, _ := db.Tickets(ctx, TicketFilter{Limit: 3, Offset: 6}); len(last) != 1 || last[0].ID != ids[0] {
		t.Errorf("last page: %v", last)
	}
	for f, want := range map[TicketFilter]int{
		{}:                         7,
		{Limit: 2}:                 7,
		{Author: "bob", Offset: 5}: 4,
		{Author: "carol"}:          3,
		{Status: StatusResolved}:   0,
		{Status: StatusNew}:        7,
	} {
		if n, err := db.CountTickets(ctx, f); err != nil || n != want {
			t.Errorf("CountTickets(%+v) = %d, %v; want %d", f, n, err, want)
		}
	}
	if by, err := db.TicketCounts(ctx); err != nil || len(by) != 1 || by[StatusNew] != 7 {
		t.Errorf("TicketCounts = %v, %v; want 7 new", by, err)
	}
}
