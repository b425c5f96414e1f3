package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"sync"

	"github.com/ruche-box/ruche/provision/i18n"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one schema step: migrations/0002_tickets.sql is version 2,
// named "tickets".
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

var embeddedMigrations = sync.OnceValues(func() ([]migration, error) {
	return loadMigrations(migrationFS)
})

// loadMigrations reads migrations/*.sql from fsys. Versions must run 1, 2,
// 3... without a gap or a duplicate: a mistake there is a build mistake, and
// the tests catch it.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var migs []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrations/%s: name is not NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(migs)+1 {
			return nil, fmt.Errorf("migrations/%s: version %d, want %d", e.Name(), v, len(migs)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		migs = append(migs, migration{version: v, name: m[2], sql: string(b)})
	}
	return migs, nil
}

const createSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
) STRICT`

var (
	msgTooNew = i18n.M{
		FR: "base de données %s : schéma en version %d, plus récent que celui que ce programme connaît (%d) ; installez une version plus récente de ruche",
		EN: "database %s: schema version %d is newer than this program knows (%d); install a newer ruche",
	}
	msgMigrate = i18n.M{
		FR: "base de données %s : migration %04d_%s",
		EN: "database %s: migration %04d_%s",
	}
)

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion is the highest migration recorded, 0 for a new database.
// It reads sqlite_schema first so that a database being created is not
// written to by a mere look.
func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var n int
	err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v int
	err = q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// SchemaVersion is the version of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	return schemaVersion(ctx, db.sql)
}

// migrate applies the migrations the database has not seen, each in its own
// transaction. An up-to-date database is only read. Two processes opening a
// new database at once are fine: each migration re-checks the version under
// the write lock.
func (db *DB) migrate(ctx context.Context, migs []migration) error {
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > len(migs) {
		return i18n.Errorf(msgTooNew, db.path, v, len(migs))
	}
	for _, m := range migs[v:] {
		if err := db.apply(ctx, m); err != nil {
			return i18n.Wrap(err, msgMigrate, db.path, m.version, m.name)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, m migration) error {
	tx, err := db.sql.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, createSchemaMigrations); err != nil {
		return err
	}
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if v >= m.version {
		return nil // another process applied it meanwhile
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, db.stamp()); err != nil {
		return err
	}
	return tx.Commit()
}
