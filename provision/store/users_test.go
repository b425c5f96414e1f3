package store

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// userLine is a user as the tests compare them.
func userLine(u User) string {
	s := u.Login + " " + u.Role + " name=" + u.Name + " email=" + u.Email
	if u.Removed() {
		s += " removed"
	}
	return s
}

func TestSyncUsers(t *testing.T) {
	db := openTest(t)
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	db.now = func() time.Time { return clock }

	alice := provision.User{Login: "alice", Name: "Alice Martin", Role: provision.RoleAdmin, Email: "alice@example.org"}
	tech1 := provision.User{Login: "tech1", Role: provision.RoleTechnician}
	bob := provision.User{Login: "bob", Name: "Bob", Role: provision.RoleMember}
	aliceRenamed := alice
	aliceRenamed.Name = "Alice Martin-Dupont"
	aliceMember := alice
	aliceMember.Role = provision.RoleMember
	aliceNoEmail := alice
	aliceNoEmail.Email = ""

	for _, step := range []struct {
		name  string
		users []provision.User
		want  int
		state []string
	}{
		{"empty pack, empty table", nil, 0, nil},
		{"first users", []provision.User{alice, tech1}, 2, []string{
			"alice admin name=Alice Martin email=alice@example.org",
			"tech1 technician name= email=",
		}},
		{"same again", []provision.User{alice, tech1}, 0, []string{
			"alice admin name=Alice Martin email=alice@example.org",
			"tech1 technician name= email=",
		}},
		{"order does not matter", []provision.User{tech1, alice}, 0, []string{
			"alice admin name=Alice Martin email=alice@example.org",
			"tech1 technician name= email=",
		}},
		{"rename", []provision.User{aliceRenamed, tech1}, 1, []string{
			"alice admin name=Alice Martin-Dupont email=alice@example.org",
			"tech1 technician name= email=",
		}},
		{"role", []provision.User{aliceMember, tech1}, 1, []string{
			"alice member name=Alice Martin email=alice@example.org",
			"tech1 technician name= email=",
		}},
		{"email cleared", []provision.User{aliceNoEmail, tech1}, 1, []string{
			"alice admin name=Alice Martin email=",
			"tech1 technician name= email=",
		}},
		{"add one, remove one", []provision.User{alice, bob}, 3, []string{
			"alice admin name=Alice Martin email=alice@example.org",
			"bob member name=Bob email=",
			"tech1 technician name= email= removed",
		}},
		{"removed stays removed", []provision.User{alice, bob}, 0, []string{
			"alice admin name=Alice Martin email=alice@example.org",
			"bob member name=Bob email=",
			"tech1 technician name= email= removed",
		}},
		{"comes back", []provision.User{alice, bob, tech1}, 1, []string{
			"alice admin name=Alice Martin email=alice@example.org",
			"bob member name=Bob email=",
			"tech1 technician name= email=",
		}},
		{"everyone leaves", nil, 3, []string{
			"alice admin name=Alice Martin email=alice@example.org removed",
			"bob member name=Bob email= removed",
			"tech1 technician name= email= removed",
		}},
	} {
		clock = clock.Add(time.Hour)
		got, err := db.SyncUsers(t.Context(), step.users)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got != step.want {
			t.Errorf("%s: changed: got %d, want %d", step.name, got, step.want)
		}
		users, err := db.Users(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var state []string
		for _, u := range users {
			state = append(state, userLine(u))
		}
		if !slices.Equal(state, step.state) {
			t.Errorf("%s: users:\ngot  %q\nwant %q", step.name, state, step.state)
		}
	}
}

func TestSyncUsersTimes(t *testing.T) {
	db := openTest(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := t0
	db.now = func() time.Time { return clock }
	alice := provision.User{Login: "alice", Role: provision.RoleAdmin}

	sync := func(users ...provision.User) User {
		t.Helper()
		if _, err := db.SyncUsers(t.Context(), users); err != nil {
			t.Fatal(err)
		}
		got, err := db.Users(t.Context())
		if err != nil || len(got) != 1 {
			t.Fatalf("Users: got %v, %v; want one user", got, err)
		}
		return got[0]
	}
	u := sync(alice)
	if !u.CreatedAt.Equal(t0) || !u.UpdatedAt.Equal(t0) || u.Removed() {
		t.Errorf("created: got %+v, want created and updated at %v", u, t0)
	}
	clock = t0.Add(time.Hour)
	u = sync(alice)
	if !u.UpdatedAt.Equal(t0) {
		t.Errorf("unchanged: updated_at got %v, want %v", u.UpdatedAt, t0)
	}
	u = sync()
	if !u.RemovedAt.Equal(clock) || !u.UpdatedAt.Equal(clock) || !u.CreatedAt.Equal(t0) {
		t.Errorf("removed: got %+v, want removed and updated at %v", u, clock)
	}
	clock = t0.Add(2 * time.Hour)
	u = sync(alice)
	if u.Removed() || !u.UpdatedAt.Equal(clock) {
		t.Errorf("back: got %+v, want not removed, updated at %v", u, clock)
	}
}

// A second apply of the same pack leaves the database untouched: not a byte
// of the file or its WAL, no commit another connection could see, no row
// changed.
func TestSyncUsersSameTwiceWritesNothing(t *testing.T) {
	db := openTest(t)
	// One connection in the pool, so that total_changes counts everything
	// SyncUsers does.
	db.sql.SetMaxOpenConns(1)
	users := []provision.User{
		{Login: "alice", Name: "Alice Martin", Role: provision.RoleAdmin, Email: "alice@example.org"},
		{Login: "tech1", Role: provision.RoleTechnician},
	}
	if n, err := db.SyncUsers(t.Context(), users); err != nil || n != 2 {
		t.Fatalf("first SyncUsers: got %d, %v; want 2, nil", n, err)
	}

	// An observer on its own handle: PRAGMA data_version changes when
	// another connection commits.
	other, err := Open(t.Context(), db.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	observer, err := other.sql.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()

	files := fileState(t, db.path)
	dataVersion := pragma(t, observer, "data_version")
	changes := totalChanges(t, db)
	time.Sleep(20 * time.Millisecond) // let a rewrite show in the mtime

	for range 3 {
		n, err := db.SyncUsers(t.Context(), users)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("SyncUsers with the same users: changed got %d, want 0", n)
		}
	}
	if got := fileState(t, db.path); got != files {
		t.Errorf("files:\ngot  %swant %s", got, files)
	}
	if got := pragma(t, observer, "data_version"); got != dataVersion {
		t.Errorf("data_version: got %s, want %s", got, dataVersion)
	}
	if got := totalChanges(t, db); got != changes {
		t.Errorf("total_changes: got %d, want %d", got, changes)
	}

	// The same checks see a real change.
	users[1].Name = "Technicien"
	if n, err := db.SyncUsers(t.Context(), users); err != nil || n != 1 {
		t.Fatalf("SyncUsers with a change: got %d, %v; want 1, nil", n, err)
	}
	if got := fileState(t, db.path); got == files {
		t.Errorf("files after a change: got the same state, want another:\n%s", got)
	}
	if got := pragma(t, observer, "data_version"); got == dataVersion {
		t.Errorf("data_version after a change: got %s again, want another", got)
	}
	if got := totalChanges(t, db); got == changes {
		t.Errorf("total_changes after a change: got %d again, want another", got)
	}
}

func TestSyncUsersRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		users []provision.User
		want  string
	}{
		{"empty login", []provision.User{{Login: "", Role: "admin"}}, "panel.users[0] : identifiant vide"},
		{"duplicate", []provision.User{{Login: "a", Role: "admin"}, {Login: "a", Role: "member"}}, `panel.users[1] : identifiant "a" en double`},
		{"role", []provision.User{{Login: "a", Role: "root"}}, `panel.users[0] : rôle "root" inconnu`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			n, err := db.SyncUsers(t.Context(), tc.users)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error: got %v, want one containing %q", err, tc.want)
			}
			if !errors.Is(err, ErrBadUsers) {
				t.Errorf("errors.Is(%v, ErrBadUsers): got false, want true", err)
			}
			if n != 0 {
				t.Errorf("changed: got %d, want 0", n)
			}
			if users, _ := db.Users(t.Context()); len(users) != 0 {
				t.Errorf("users: got %d, want none", len(users))
			}
		})
	}
}

func TestPasswords(t *testing.T) {
	db := openTest(t)
	ctx := t.Context()
	if _, err := db.SyncUsers(ctx, []provision.User{
		{Login: "alice", Name: "Alice", Role: provision.RoleAdmin},
		{Login: "tech1", Role: provision.RoleTechnician},
		{Login: "gone", Role: provision.RoleMember},
		{Login: "nopass", Role: provision.RoleMember},
	}); err != nil {
		t.Fatal(err)
	}
	const (
		alicePW = "correct horse battery"
		techPW  = "été à l'Hôtel" // 13 characters, 16 bytes
		gonePW  = "was here once"
	)
	for login, pw := range map[string]string{"alice": alicePW, "tech1": techPW, "gone": gonePW} {
		if err := db.SetPassword(ctx, login, []byte(pw)); err != nil {
			t.Fatalf("SetPassword(%s): %v", login, err)
		}
	}
	if _, err := db.SyncUsers(ctx, []provision.User{
		{Login: "alice", Name: "Alice", Role: provision.RoleAdmin},
		{Login: "tech1", Role: provision.RoleTechnician},
		{Login: "nopass", Role: provision.RoleMember},
	}); err != nil {
		t.Fatal(err)
	}

	hashes, err := db.PasswordHashes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(hashes)), []string{"alice", "tech1"}; !slices.Equal(got, want) {
		t.Errorf("PasswordHashes logins: got %q, want %q", got, want)
	}
	for login, pw := range map[string]string{"alice": alicePW, "tech1": techPW} {
		h := hashes[login]
		if !strings.HasPrefix(h, "$2") {
			t.Errorf("%s: hash got prefix %.4q, want $2", login, h)
		}
		if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != BcryptCost {
			t.Errorf("%s: hash cost got %d (%v), want %d", login, cost, err, BcryptCost)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(h), []byte(pw)); err != nil {
			t.Errorf("%s: bcrypt does not verify the hash: %v", login, err)
		}
	}

	for _, tc := range []struct {
		name, login, password string
		wantErr               error
	}{
		{"right", "alice", alicePW, nil},
		{"right, accents", "tech1", techPW, nil},
		{"wrong", "alice", "correct horse battery!", ErrBadCredentials},
		{"empty", "alice", "", ErrBadCredentials},
		{"other's", "alice", techPW, ErrBadCredentials},
		{"unknown login", "mallory", alicePW, ErrBadCredentials},
		{"removed login", "gone", gonePW, ErrBadCredentials},
		{"no password yet", "nopass", "", ErrBadCredentials},
		{"too long", "alice", strings.Repeat("x", 100), ErrBadCredentials},
	} {
		t.Run("check/"+tc.name, func(t *testing.T) {
			u, err := db.CheckPassword(ctx, tc.login, []byte(tc.password))
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("error: got %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if u.Login != "" {
					t.Errorf("user: got %q, want none", u.Login)
				}
				return
			}
			if u.Login != tc.login || !u.HasPassword || u.PasswordSetAt.IsZero() {
				t.Errorf("user: got %+v, want %s with a password", u, tc.login)
			}
		})
	}

	for _, tc := range []struct {
		name, login, password string
		wantErr               error
		want                  string
	}{
		{"unknown", "mallory", "long enough", ErrNoSuchUser, `utilisateur "mallory" inconnu`},
		{"removed", "gone", "long enough", ErrNoSuchUser, `utilisateur "gone" inconnu`},
		{"short", "alice", "short77", ErrBadPassword, "mot de passe trop court : 7 caractères, il en faut au moins 8"},
		{"short in bytes only", "alice", "ééé", ErrBadPassword, "trop court : 3 caractères"},
		{"empty", "alice", "", ErrBadPassword, "trop court : 0 caractères"},
		{"long", "alice", strings.Repeat("é", 37), ErrBadPassword, "mot de passe trop long : 74 octets, 72 au plus"},
	} {
		t.Run("set/"+tc.name, func(t *testing.T) {
			err := db.SetPassword(ctx, tc.login, []byte(tc.password))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error: got %v, want %v", err, tc.wantErr)
			}
			if got := err.Error(); !strings.Contains(got, tc.want) {
				t.Errorf("error: got %q, want it to contain %q", got, tc.want)
			}
			if en := i18n.Localize(err, i18n.EN); en == err.Error() {
				t.Errorf("error in English: got the French %q", en)
			}
			if tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	// The refused passwords left alice's alone.
	if _, err := db.CheckPassword(ctx, "alice", []byte(alicePW)); err != nil {
		t.Errorf("alice after refused changes: %v", err)
	}

	// 8 characters and 72 bytes are the limits, inclusive.
	for _, pw := range []string{"12345678", strings.Repeat("x", 72)} {
		if err := db.SetPassword(ctx, "alice", []byte(pw)); err != nil {
			t.Errorf("SetPassword with %d bytes: %v", len(pw), err)
		}
		if _, err := db.CheckPassword(ctx, "alice", []byte(pw)); err != nil {
			t.Errorf("CheckPassword with %d bytes: %v", len(pw), err)
		}
	}

	// A disabled account: the right password says so, a wrong one does not.
	if _, err := db.sql.ExecContext(ctx, `UPDATE users SET disabled = 1 WHERE login = 'tech1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckPassword(ctx, "tech1", []byte(techPW)); !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled, right password: got %v, want %v", err, ErrDisabled)
	}
	if _, err := db.CheckPassword(ctx, "tech1", []byte("wrong password")); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled, wrong password: got %v, want %v", err, ErrBadCredentials)
	}
	if hashes, _ := db.PasswordHashes(ctx); hashes["tech1"] != "" {
		t.Error("PasswordHashes: got tech1's while disabled, want none")
	}

	// A removed login that comes back does not find its old password: the
	// login may now be someone else's.
	if _, err := db.SyncUsers(ctx, []provision.User{{Login: "gone", Role: provision.RoleMember}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckPassword(ctx, "gone", []byte(gonePW)); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("login back in the pack, old password: got %v, want %v", err, ErrBadCredentials)
	}
}

func TestUnreadableHash(t *testing.T) {
	db := openTest(t)
	if _, err := db.SyncUsers(t.Context(), []provision.User{{Login: "alice", Role: provision.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	const bad = "$9z$secret-looking-hash"
	if _, err := db.sql.ExecContext(t.Context(), `UPDATE users SET password_hash = ? WHERE login = 'alice'`, bad); err != nil {
		t.Fatal(err)
	}
	_, err := db.CheckPassword(t.Context(), "alice", []byte("whatever pw"))
	if err == nil || errors.Is(err, ErrBadCredentials) {
		t.Fatalf("error: got %v, want an unreadable hash", err)
	}
	for _, leak := range []string{bad, "9z", "whatever pw"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q shows %q", err, leak)
		}
	}
}

// The dummy hash costs what a real one does, so an unknown login takes as
// long as a wrong password.
func TestDummyHash(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cost, BcryptCost; got != want {
		t.Errorf("dummy hash cost: got %d, want %d", got, want)
	}
}

// totalChanges is the rows changed by the pool's one connection since it
// opened.
func totalChanges(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRowContext(t.Context(), "SELECT total_changes()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
