// Package store is the box's database: embedded SQLite, through the pure-Go
// driver modernc.org/sqlite (no cgo), at <root>/var/lib/ruche/ruche.db.
//
// It holds what a pack must not: password hashes, sessions, tickets, the
// audit log. Users themselves are declared in the pack; SyncUsers mirrors
// them here and the hashes go back to render through PasswordHashes.
//
// The schema grows by migrations: numbered SQL files under migrations/,
// embedded in the binary, each applied once in its own transaction and
// recorded in schema_migrations. To change the schema, add the next file
// (0002_tickets.sql, ...); never edit one that has shipped.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// RelPath is where the database lives under the box's root.
const RelPath = "var/lib/ruche/ruche.db"

// BusyTimeout is how long a statement waits for another connection's write
// lock (another handle, another ruche process) before failing with
// SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// maxOpenConns bounds the connection pool: every connection has its own page
// cache, and the box may have 1 GiB of RAM. WAL lets readers run beside the
// one writer.
const maxOpenConns = 4

// Path returns the database's path under root ("/" on a box).
func Path(root string) string {
	return filepath.Join(root, filepath.FromSlash(RelPath))
}

// DB is the box's database. It is safe for concurrent use, also by several
// processes on the same file.
type DB struct {
	sql  *sql.DB
	path string
	now  func() time.Time // tests pin the clock
}

// Open opens the database at path, creating it (and its folder, mode 0750)
// when missing, and brings its schema up to date. The file and its WAL
// companions are mode 0600: they hold password hashes. A database written by
// a newer ruche, whose schema this binary does not know, is refused.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, nil)
}

// open is Open with the migrations given (nil: the embedded ones).
func open(ctx context.Context, path string, migs []migration) (*DB, error) {
	if migs == nil {
		var err error
		if migs, err = embeddedMigrations(); err != nil {
			return nil, err
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, openError(path, err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, openError(abs, err)
	}
	sdb, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, openError(abs, err)
	}
	sdb.SetMaxOpenConns(maxOpenConns)
	sdb.SetMaxIdleConns(2)
	db := &DB{sql: sdb, path: abs, now: time.Now}
	if err := db.migrate(ctx, migs); err != nil {
		sdb.Close()
		var ie *i18n.Error
		if errors.As(err, &ie) {
			return nil, err
		}
		return nil, openError(abs, err)
	}
	return db, nil
}

// dsn is the driver's data source name for the file at abs: a file: URI, so
// that any character in the path is escaped, with the pragmas every new
// connection runs. Transactions begin IMMEDIATE: a writer takes the write
// lock up front and waits for it under busy_timeout, rather than failing
// when a read lock cannot be upgraded.
func dsn(abs string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// prepareFile creates the database's folder (0750) and an empty file (0600)
// before SQLite opens it, since SQLite would create it 0644; an existing
// file, or WAL companion, more open than 0600 is tightened. SQLite gives the
// -wal and -shm files it creates the database file's mode.
func prepareFile(abs string) error {
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{abs, abs + "-wal", abs + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&^0o600 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

var msgOpen = i18n.M{
	FR: "base de données %s : ouverture impossible",
	EN: "database %s: cannot open",
}

func openError(path string, err error) error {
	return i18n.Wrap(err, msgOpen, path)
}

// Path is the database file's absolute path.
func (db *DB) Path() string { return db.path }

// Close closes the database. The last connection to close checkpoints the
// WAL into the database file.
func (db *DB) Close() error {
	return db.sql.Close()
}

// timeLayout is how times are stored: UTC, fixed width, so that text order
// is time order.
const timeLayout = "2006-01-02T15:04:05.000Z"

func (db *DB) stamp() string {
	return db.now().UTC().Format(timeLayout)
}

// parseTime reads a stored time; NULL is the zero time.
func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s.String)
}

var (
	msgBackup = i18n.M{
		FR: "copie de la base de données vers %s",
		EN: "copying the database to %s",
	}
)

// Backup writes a consistent copy of the database to dest (VACUUM INTO), for
// the backups: a snapshot as of one transaction, taken while other
// connections keep reading and writing. The copy is written beside dest,
// mode 0600, synced, then renamed over dest: dest is either the old copy or
// the complete new one.
func (db *DB) Backup(ctx context.Context, dest string) (err error) {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return i18n.Wrap(err, msgBackup, dest)
	}
	defer func() {
		if err != nil {
			err = i18n.Wrap(err, msgBackup, abs)
		}
	}()
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	// VACUUM INTO accepts an empty existing file: creating it here gives it
	// mode 0600 from the start.
	if err := tmp.Close(); err != nil {
		os.Remove(tmpName)
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	if _, err := db.sql.ExecContext(ctx, "VACUUM INTO ?", tmpName); err != nil {
		return err
	}
	// VACUUM INTO does not sync what it wrote.
	if err := syncFile(tmpName); err != nil {
		return err
	}
	if err := os.Rename(tmpName, abs); err != nil {
		return err
	}
	return syncFile(filepath.Dir(abs))
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
