-- Panel users. The pack declares who they are (login, name, email, role);
-- the database keeps what a pack must not: the password hash, and the rows of
-- users the pack no longer names (removed_at set), so that their tickets and
-- history keep an author. Times are UTC, "2006-01-02T15:04:05.000Z".
CREATE TABLE users (
    login           TEXT NOT NULL PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    role            TEXT NOT NULL CHECK (role IN ('admin', 'technician', 'member')),
    password_hash   TEXT,
    password_set_at TEXT,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    removed_at      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
