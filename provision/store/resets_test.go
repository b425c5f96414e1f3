package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

func TestSyncUsersDisabled(t *testing.T) {
	db := withUsers(t)
	ctx := t.Context()
	const pw = "correct horse battery"
	if err := db.SetPassword(ctx, "bob", []byte(pw)); err != nil {
		t.Fatal(err)
	}
	sync := func(disabled bool) int {
		t.Helper()
		n, err := db.SyncUsers(ctx, []provision.User{
			{Login: "alice", Name: "Alice", Role: provision.RoleAdmin},
			{Login: "bob", Role: provision.RoleMember, Disabled: disabled},
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sync(true); n != 1 {
		t.Errorf("disabling bob changed %d rows, want 1", n)
	}
	if n := sync(true); n != 0 {
		t.Errorf("same pack again changed %d rows, want 0", n)
	}
	u, err := db.LookupUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Disabled || !u.HasPassword {
		t.Errorf("bob after disabling: disabled=%v has_password=%v, want true, true (the hash stays for a comeback)", u.Disabled, u.HasPassword)
	}
	if _, err := db.CheckPassword(ctx, "bob", []byte(pw)); !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled bob logs in: got %v, want %v", err, ErrDisabled)
	}
	if h, _ := db.PasswordHashes(ctx); h["bob"] != "" {
		t.Error("PasswordHashes gives disabled bob's hash to the wiki")
	}
	if n := sync(false); n != 1 {
		t.Errorf("enabling bob changed %d rows, want 1", n)
	}
	if _, err := db.CheckPassword(ctx, "bob", []byte(pw)); err != nil {
		t.Errorf("bob enabled again, old password: %v", err)
	}
	// A user disabled from the start.
	if _, err := db.SyncUsers(ctx, []provision.User{
		{Login: "alice", Name: "Alice", Role: provision.RoleAdmin},
		{Login: "dora", Role: provision.RoleMember, Disabled: true},
	}); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.LookupUser(ctx, "dora"); !u.Disabled {
		t.Error("dora, new and disabled in the pack: not disabled in the database")
	}
}

func TestPasswordResets(t *testing.T) {
	db := withUsers(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)

	// Unknown, removed and disabled users get no token.
	for _, login := range []string{"nobody", "gone"} {
		if _, err := db.NewPasswordReset(ctx, login, now, exp); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("NewPasswordReset(%q): got %v, want %v", login, err, ErrNoSuchUser)
		}
	}

	first, err := db.NewPasswordReset(ctx, "bob", now, exp)
	if err != nil {
		t.Fatal(err)
	}
	// Only the hash is stored.
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM password_resets WHERE id = ? OR instr(id, ?) > 0`,
		first, first[:20]).Scan(&n); err != nil || n != 0 {
		t.Errorf("token stored in clear: %d rows (%v)", n, err)
	}
	if u, err := db.ResetTokenUser(ctx, first, now); err != nil || u.Login != "bob" {
		t.Errorf("ResetTokenUser(first): %v, %v; want bob", u.Login, err)
	}
	// A second request voids the first link.
	second, err := db.NewPasswordReset(ctx, "bob", now.Add(time.Minute), exp.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResetTokenUser(ctx, first, now.Add(2*time.Minute)); !errors.Is(err, ErrBadResetToken) {
		t.Errorf("first link after a second request: got %v, want %v", err, ErrBadResetToken)
	}
	// Alice's own link is not touched by bob's.
	aliceTok, err := db.NewPasswordReset(ctx, "alice", now, exp)
	if err != nil {
		t.Fatal(err)
	}
	// Expiry.
	if _, err := db.ResetTokenUser(ctx, second, exp.Add(time.Minute)); !errors.Is(err, ErrBadResetToken) {
		t.Errorf("expired link: got %v, want %v", err, ErrBadResetToken)
	}
	// Made-up and truncated tokens.
	for _, tok := range []string{"", "x", strings.Repeat("A", 43), second[:42]} {
		if _, err := db.ResetTokenUser(ctx, tok, now); !errors.Is(err, ErrBadResetToken) {
			t.Errorf("ResetTokenUser(%q): got %v, want %v", tok, err, ErrBadResetToken)
		}
	}

	// Redeem: bad password first, the token stays usable.
	if _, _, err := db.RedeemPasswordReset(ctx, second, []byte("short"), now.Add(2*time.Minute)); !errors.Is(err, ErrBadPassword) {
		t.Errorf("short password: got %v, want %v", err, ErrBadPassword)
	}
	// Bob has two sessions: both end.
	for range 2 {
		if _, err := db.NewSession(ctx, "bob", now); err != nil {
			t.Fatal(err)
		}
	}
	aliceSession, err := db.NewSession(ctx, "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "a brand new password"
	u, ended, err := db.RedeemPasswordReset(ctx, second, []byte(pw), now.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if u.Login != "bob" || ended != 2 {
		t.Errorf("redeemed for %q, %d sessions ended; want bob, 2", u.Login, ended)
	}
	if _, err := db.CheckPassword(ctx, "bob", []byte(pw)); err != nil {
		t.Errorf("new password refused: %v", err)
	}
	if _, err := db.LookupSession(ctx, aliceSession); err != nil {
		t.Errorf("alice's session ended by bob's reset: %v", err)
	}
	// Used once.
	if _, _, err := db.RedeemPasswordReset(ctx, second, []byte("yet another password"), now.Add(4*time.Minute)); !errors.Is(err, ErrBadResetToken) {
		t.Errorf("second use: got %v, want %v", err, ErrBadResetToken)
	}
	if _, err := db.CheckPassword(ctx, "bob", []byte(pw)); err != nil {
		t.Errorf("password changed by a spent link: %v", err)
	}

	// Disabled after the mail went: the link no longer works, and no new
	// one is made.
	if _, err := db.SyncUsers(ctx, []provision.User{
		{Login: "alice", Name: "Alice", Role: provision.RoleAdmin, Disabled: true},
		{Login: "bob", Role: provision.RoleMember},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResetTokenUser(ctx, aliceTok, now); !errors.Is(err, ErrBadResetToken) {
		t.Errorf("link of a user disabled since: got %v, want %v", err, ErrBadResetToken)
	}
	if _, err := db.NewPasswordReset(ctx, "alice", now, exp); !errors.Is(err, ErrDisabled) {
		t.Errorf("NewPasswordReset(disabled): got %v, want %v", err, ErrDisabled)
	}
}
