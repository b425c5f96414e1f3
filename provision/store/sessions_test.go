package store

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// withUsers opens a database that knows alice (admin), bob (member) and
// gone (removed from the pack).
func withUsers(t *testing.T) *DB {
	t.Helper()
	db := openTest(t)
	ctx := t.Context()
	gone := provision.User{Login: "gone", Role: provision.RoleMember}
	users := []provision.User{
		{Login: "alice", Name: "Alice", Role: provision.RoleAdmin},
		{Login: "bob", Role: provision.RoleMember},
	}
	if _, err := db.SyncUsers(ctx, append(users, gone)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SyncUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSessions(t *testing.T) {
	db := withUsers(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	token, err := db.NewSession(ctx, "alice", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Errorf("token %q: want 43 characters of unpadded base64url", token)
	}
	other, _ := db.NewSession(ctx, "alice", t0)
	if other == token {
		t.Error("two sessions got the same token")
	}

	// The table holds the token's hash, never the token.
	var ids []string
	rows, err := db.sql.QueryContext(ctx, `SELECT id FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 2 {
		t.Fatalf("sessions rows: %v", ids)
	}
	for _, id := range ids {
		if id == token || id == other || strings.Contains(id, token) {
			t.Errorf("the sessions table holds a token: %s", id)
		}
	}

	s, err := db.LookupSession(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != TokenID(token) || s.Login != "alice" || !s.CreatedAt.Equal(t0) || !s.LastSeen.Equal(t0) ||
		s.User.Name != "Alice" || s.User.Role != provision.RoleAdmin || s.User.HasPassword {
		t.Errorf("LookupSession: got %+v", s)
	}

	for _, bad := range []string{"", "x", token + "x", strings.Repeat("A", 43), TokenID(token), "../../etc/passwd"} {
		if _, err := db.LookupSession(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("LookupSession(%q): got %v, want ErrNoSession", bad, err)
		}
	}

	t1 := t0.Add(90 * time.Second)
	if err := db.TouchSession(ctx, s.ID, t1); err != nil {
		t.Fatal(err)
	}
	if s, _ := db.LookupSession(ctx, token); !s.LastSeen.Equal(t1) || !s.CreatedAt.Equal(t0) {
		t.Errorf("after TouchSession: created %v, last seen %v", s.CreatedAt, s.LastSeen)
	}

	for _, login := range []string{"nobody", "gone"} {
		if _, err := db.NewSession(ctx, login, t0); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("NewSession(%s): got %v, want ErrNoSuchUser", login, err)
		}
	}

	// Expiry: other was last seen at t0, token at t1.
	n, err := db.DeleteExpiredSessions(ctx, t0.Add(time.Second), t0.Add(-time.Hour))
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions (idle): %d, %v; want 1", n, err)
	}
	if _, err := db.LookupSession(ctx, other); !errors.Is(err, ErrNoSession) {
		t.Errorf("idle session survived: %v", err)
	}
	n, _ = db.DeleteExpiredSessions(ctx, t0, t0.Add(time.Second))
	if n != 1 {
		t.Errorf("DeleteExpiredSessions (absolute): %d, want 1", n)
	}

	a1, _ := db.NewSession(ctx, "alice", t0)
	a2, _ := db.NewSession(ctx, "alice", t0)
	b1, _ := db.NewSession(ctx, "bob", t0)
	if err := db.DeleteSession(ctx, TokenID(a1)); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSession(ctx, TokenID(a1)); err != nil {
		t.Errorf("deleting a deleted session: %v", err)
	}
	if _, err := db.LookupSession(ctx, a1); !errors.Is(err, ErrNoSession) {
		t.Errorf("deleted session still found: %v", err)
	}
	if n, err := db.DeleteUserSessions(ctx, "alice"); n != 1 || err != nil {
		t.Errorf("DeleteUserSessions: %d, %v; want 1", n, err)
	}
	if _, err := db.LookupSession(ctx, a2); !errors.Is(err, ErrNoSession) {
		t.Errorf("alice's session survived DeleteUserSessions: %v", err)
	}
	if _, err := db.LookupSession(ctx, b1); err != nil {
		t.Errorf("bob's session ended with alice's: %v", err)
	}

	// A user removed from the pack: the session is still found, with the
	// user's state, for the panel to end it.
	if _, err := db.SyncUsers(ctx, []provision.User{{Login: "alice", Name: "Alice", Role: provision.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	if s, err := db.LookupSession(ctx, b1); err != nil || !s.User.Removed() {
		t.Errorf("session of a removed user: %+v, %v", s, err)
	}
}

func TestLookupUser(t *testing.T) {
	db := withUsers(t)
	if u, err := db.LookupUser(t.Context(), "alice"); err != nil || u.Name != "Alice" || u.Removed() {
		t.Errorf("alice: %+v, %v", u, err)
	}
	if u, err := db.LookupUser(t.Context(), "gone"); err != nil || !u.Removed() {
		t.Errorf("gone: %+v, %v", u, err)
	}
	if _, err := db.LookupUser(t.Context(), "nobody"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("nobody: %v", err)
	}
}

func TestSetupTokens(t *testing.T) {
	db := withUsers(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	exp := t0.Add(time.Hour)

	first, err := db.NewSetupToken(ctx, "alice", t0, exp)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := db.SetupTokenUser(ctx, first, t0); err != nil || u.Login != "alice" {
		t.Fatalf("SetupTokenUser: %+v, %v", u, err)
	}
	// A new link withdraws the one printed before.
	tok, err := db.NewSetupToken(ctx, "alice", t0, exp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetupTokenUser(ctx, first, t0); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("withdrawn token: %v, want ErrBadSetupToken", err)
	}
	var ids string
	db.sql.QueryRowContext(ctx, `SELECT group_concat(id) FROM setup_tokens`).Scan(&ids)
	if ids != TokenID(tok) {
		t.Errorf("setup_tokens ids: %q, want only the hash of the new token", ids)
	}

	// Expiry is exclusive.
	if _, err := db.SetupTokenUser(ctx, tok, exp); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("at expiry: %v, want ErrBadSetupToken", err)
	}
	if _, err := db.RedeemSetupToken(ctx, tok, []byte("long enough password"), exp.Add(time.Minute)); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("redeem after expiry: %v, want ErrBadSetupToken", err)
	}
	// A refused password does not spend the token.
	if _, err := db.RedeemSetupToken(ctx, tok, []byte("short"), t0); !errors.Is(err, ErrBadPassword) {
		t.Errorf("short password: %v, want ErrBadPassword", err)
	}

	// Two tabs post the link at once: one password is set.
	t1 := t0.Add(10 * time.Minute)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.RedeemSetupToken(ctx, tok, []byte("correct horse "+string(rune('a'+i))), t1)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrBadSetupToken):
			t.Errorf("concurrent redeem: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("concurrent redeems: %d succeeded, want 1 (%v)", ok, errs)
	}
	winner := "correct horse a"
	if errs[0] != nil {
		winner = "correct horse b"
	}
	u, err := db.CheckPassword(ctx, "alice", []byte(winner))
	if err != nil || !u.PasswordSetAt.Equal(t1) {
		t.Errorf("password set by the link: %+v, %v", u, err)
	}
	if _, err := db.SetupTokenUser(ctx, tok, t1); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("used token: %v, want ErrBadSetupToken", err)
	}

	// A link for a user who has a password meanwhile (ruche user passwd)
	// sets nothing.
	late, _ := db.NewSetupToken(ctx, "alice", t1, t1.Add(time.Hour))
	if _, err := db.RedeemSetupToken(ctx, late, []byte("take over the account"), t1); !errors.Is(err, ErrBadSetupToken) {
		t.Errorf("token of a user with a password: %v, want ErrBadSetupToken", err)
	}
	if _, err := db.CheckPassword(ctx, "alice", []byte(winner)); err != nil {
		t.Errorf("alice's password changed: %v", err)
	}

	for _, login := range []string{"nobody", "gone"} {
		if _, err := db.NewSetupToken(ctx, login, t0, exp); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("NewSetupToken(%s): %v, want ErrNoSuchUser", login, err)
		}
	}
	for _, bad := range []string{"", "nope", strings.Repeat("A", 43)} {
		if _, err := db.SetupTokenUser(ctx, bad, t0); !errors.Is(err, ErrBadSetupToken) {
			t.Errorf("SetupTokenUser(%q): %v", bad, err)
		}
	}
}
