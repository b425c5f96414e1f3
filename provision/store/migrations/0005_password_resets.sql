-- Password resets by e-mail (services/panel/reset.go) and the numbering of
-- erased members (RGPD erasure, rgpd.go).
--
-- A reset link's token is 256 random bits; the row is keyed by its hex
-- SHA-256 (id), as sessions and setup links are: a copy of this database
-- resets nobody's password. A link works once (used_at), for an hour
-- (expires_at); asking for a new one deletes the unused ones of that
-- user, so that only the mail received last works. Times are UTC,
-- "2006-01-02T15:04:05.000Z".
CREATE TABLE password_resets (
    id         TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 64),
    login      TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;
CREATE INDEX password_resets_login ON password_resets (login);

-- One row per erased person: n is the number of their pseudonym
-- ("ancien-membre#n"), which takes their login's place in tickets,
-- comments and the audit log. Nothing here says who they were: that is
-- the point. AUTOINCREMENT: a number is never given twice.
CREATE TABLE erasures (
    n  INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL
) STRICT;
