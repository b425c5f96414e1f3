package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// openTest opens a database under a fresh root, closed at the end of the
// test.
func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), Path(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fileState describes the database file and its WAL: size, mtime, sha256.
// The -shm file is left out: it is shared memory that readers write to.
func fileState(t *testing.T, path string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(&b, "%s: absent\n", filepath.Base(p))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %d bytes, mtime %s, sha256 %x\n",
			filepath.Base(p), fi.Size(), fi.ModTime().Format(time.RFC3339Nano), sha256.Sum256(data))
	}
	return b.String()
}

func pragma(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) string {
	t.Helper()
	var v string
	if err := q.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenCreates(t *testing.T) {
	root := t.TempDir()
	path := Path(root)
	if got, want := path, filepath.Join(root, "var", "lib", "ruche", "ruche.db"); got != want {
		t.Errorf("Path: got %s, want %s", got, want)
	}
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	v, err := db.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	migs, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v, len(migs); got != want {
		t.Errorf("SchemaVersion: got %d, want %d", got, want)
	}
	if got, want := v, 1; got < want {
		t.Errorf("SchemaVersion: got %d, want at least %d", got, want)
	}

	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{filepath.Dir(path), 0o750},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("%s: mode got %v, want %v", filepath.Base(tc.path), got, tc.want)
		}
	}

	// Every connection of the pool gets the pragmas: hold several at once.
	var conns []*sql.Conn
	for range maxOpenConns {
		c, err := db.sql.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		for _, tc := range []struct{ pragma, want string }{
			{"journal_mode", "wal"},
			{"foreign_keys", "1"},
			{"busy_timeout", "10000"},
			{"synchronous", "2"},
		} {
			if got := pragma(t, c, tc.pragma); got != tc.want {
				t.Errorf("conn %d: PRAGMA %s: got %s, want %s", i, tc.pragma, got, tc.want)
			}
		}
		c.Close()
	}

	var strict int
	if err := db.sql.QueryRowContext(t.Context(),
		`SELECT strict FROM pragma_table_list WHERE name = 'users'`).Scan(&strict); err != nil {
		t.Fatal(err)
	}
	if got, want := strict, 1; got != want {
		t.Errorf("users STRICT: got %d, want %d", got, want)
	}
}

func TestOpenTightensMode(t *testing.T) {
	path := Path(t.TempDir())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("mode: got %v, want %v", got, want)
	}
}

func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "un dossier?#%20", "ruche.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not where asked: %v", err)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ruche.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("pas une base SQLite\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(t.Context(), path)
	if err == nil {
		db.Close()
		t.Fatal("Open: got no error, want one")
	}
	if got, want := err.Error(), "base de données "+path; !strings.Contains(got, want) {
		t.Errorf("error: got %q, want it to contain %q", got, want)
	}
}

func TestReopenIsNoop(t *testing.T) {
	path := Path(t.TempDir())
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var applied string
	if err := db.sql.QueryRowContext(t.Context(),
		`SELECT group_concat(version || ' ' || applied_at, ',') FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileState(t, path)

	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var again string
	if err := db.sql.QueryRowContext(t.Context(),
		`SELECT group_concat(version || ' ' || applied_at, ',') FROM schema_migrations`).Scan(&again); err != nil {
		t.Fatal(err)
	}
	if got, want := again, applied; got != want {
		t.Errorf("schema_migrations after reopen: got %s, want %s", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := fileState(t, path), before; got != want {
		t.Errorf("files after reopen:\ngot  %swant %s", got, want)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := Path(t.TempDir())
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	known, err := db.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', '2099-01-01T00:00:00.000Z')`,
		known+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := fileState(t, path)

	db, err = Open(t.Context(), path)
	if err == nil {
		db.Close()
		t.Fatal("Open: got no error, want one")
	}
	for _, tc := range []struct {
		lang i18n.Lang
		want string
	}{
		{i18n.FR, fmt.Sprintf("schéma en version %d, plus récent que celui que ce programme connaît (%d)", known+1, known)},
		{i18n.EN, fmt.Sprintf("schema version %d is newer than this program knows (%d)", known+1, known)},
	} {
		if got := i18n.Localize(err, tc.lang); !strings.Contains(got, tc.want) {
			t.Errorf("error in %s: got %q, want it to contain %q", tc.lang, got, tc.want)
		}
	}
	if got, want := fileState(t, path), before; got != want {
		t.Errorf("files after refusal:\ngot  %swant %s", got, want)
	}
}

func TestLoadMigrations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   []string
		want    int
		wantErr string
	}{
		{"none", nil, 0, ""},
		{"two", []string{"0001_users.sql", "0002_tickets.sql"}, 2, ""},
		{"gap", []string{"0001_users.sql", "0003_tickets.sql"}, 0, "version 3, want 2"},
		{"duplicate", []string{"0001_users.sql", "0001_tickets.sql"}, 0, "version 1, want 2"},
		{"starts at 2", []string{"0002_users.sql"}, 0, "version 2, want 1"},
		{"bad name", []string{"0001-users.sql"}, 0, "not NNNN_name.sql"},
		{"upper case", []string{"0001_Users.sql"}, 0, "not NNNN_name.sql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"migrations": &fstest.MapFile{Mode: os.ModeDir | 0o755}}
			for _, f := range tc.files {
				fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			migs, err := loadMigrations(fsys)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error: got %v, want one containing %q", err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			}
			if got := len(migs); got != tc.want {
				t.Errorf("migrations: got %d, want %d", got, tc.want)
			}
		})
	}

	migs, err := embeddedMigrations()
	if err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
	if got, want := migs[0].name, "users"; got != want {
		t.Errorf("first migration: got %s, want %s", got, want)
	}
}

// A later release appends a migration: an existing database gets it once,
// and a migration that fails leaves nothing behind.
func TestMigrationsAppended(t *testing.T) {
	base, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	n := len(base)
	next := migration{version: n + 1, name: "notes", sql: `
		CREATE TABLE notes (id INTEGER PRIMARY KEY, login TEXT NOT NULL REFERENCES users(login), body TEXT NOT NULL) STRICT;
		CREATE INDEX notes_login ON notes(login);`}
	broken := migration{version: n + 2, name: "broken", sql: `
		CREATE TABLE half (x INTEGER) STRICT;
		CREATE TABLE half (x INTEGER) STRICT;`}

	path := Path(t.TempDir())
	db, err := open(t.Context(), path, base)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = open(t.Context(), path, append(base[:n:n], next))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.SchemaVersion(t.Context()); v != n+1 {
		t.Errorf("SchemaVersion: got %d, want %d", v, n+1)
	}
	// foreign_keys is on: a note needs its user.
	if _, err := db.sql.ExecContext(t.Context(), `INSERT INTO notes (login, body) VALUES ('nobody', 'x')`); err == nil {
		t.Error("insert with a dangling foreign key: got no error, want one")
	}
	db.Close()

	db, err = open(t.Context(), path, append(base[:n:n], next, broken))
	if err == nil {
		db.Close()
		t.Fatal("open with a broken migration: got no error, want one")
	}
	if got, want := err.Error(), fmt.Sprintf("migration %04d_broken", n+2); !strings.Contains(got, want) {
		t.Errorf("error: got %q, want it to contain %q", got, want)
	}

	db, err = open(t.Context(), path, append(base[:n:n], next))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.SchemaVersion(t.Context()); v != n+1 {
		t.Errorf("SchemaVersion after the broken migration: got %d, want %d", v, n+1)
	}
	var half int
	db.sql.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&half)
	if half != 0 {
		t.Errorf("table of the broken migration: got %d, want 0 (rolled back)", half)
	}
}

func TestBackup(t *testing.T) {
	db := openTest(t)
	users := []provision.User{
		{Login: "alice", Name: "Alice Martin", Role: provision.RoleAdmin, Email: "alice@example.org"},
		{Login: "tech1", Role: provision.RoleTechnician},
	}
	if _, err := db.SyncUsers(t.Context(), users); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPassword(t.Context(), "alice", []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "ruche.db.backup")
	// An older copy is replaced.
	if err := os.WriteFile(dest, []byte("old copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(t.Context(), dest); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("backup mode: got %v, want %v", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	raw, err := sql.Open("sqlite", dest)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if got, want := pragma(t, raw, "integrity_check"), "ok"; got != want {
		t.Errorf("integrity_check: got %s, want %s", got, want)
	}
	copyDB := &DB{sql: raw, path: dest, now: time.Now}
	got, err := copyDB.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Login != "alice" || !got[0].HasPassword || got[1].Login != "tech1" {
		t.Errorf("users in the backup: got %+v, want alice (with a password) and tech1", got)
	}
	hashes, err := copyDB.PasswordHashes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := hashes["alice"]; !ok {
		t.Errorf("hashes in the backup: got %d, want alice's", len(hashes))
	}
}

// Two handles on one file, as when `ruche user passwd` runs beside `ruche
// up`: busy_timeout and immediate transactions make writers wait for each
// other instead of failing with SQLITE_BUSY.
func TestConcurrentHandles(t *testing.T) {
	path := Path(t.TempDir())
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	packs := [][]provision.User{
		{{Login: "alice", Role: provision.RoleAdmin}, {Login: "bob", Role: provision.RoleMember}},
		{{Login: "alice", Role: provision.RoleMember}, {Login: "carol", Role: provision.RoleTechnician}},
	}
	if _, err := dbs[0].SyncUsers(t.Context(), packs[0]); err != nil {
		t.Fatal(err)
	}

	const rounds = 50
	var wg sync.WaitGroup
	errs := make(chan error, 4*rounds)
	for i, db := range dbs {
		// Each handle flips the users back and forth and writes a table of
		// its own, reading all along.
		wg.Go(func() {
			for r := range rounds {
				if _, err := db.SyncUsers(t.Context(), packs[(r+i)%2]); err != nil {
					errs <- fmt.Errorf("handle %d, SyncUsers: %w", i, err)
				}
				if _, err := db.Users(t.Context()); err != nil {
					errs <- fmt.Errorf("handle %d, Users: %w", i, err)
				}
			}
		})
		wg.Go(func() {
			for r := range rounds {
				_, err := db.sql.ExecContext(t.Context(),
					`UPDATE users SET updated_at = ? WHERE login = 'alice'`,
					time.Date(2026, 1, 1, i, r, 0, 0, time.UTC).Format(timeLayout))
				if err != nil {
					errs <- fmt.Errorf("handle %d, UPDATE: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := pragma(t, dbs[0].sql, "integrity_check"), "ok"; got != want {
		t.Errorf("integrity_check: got %s, want %s", got, want)
	}
}
