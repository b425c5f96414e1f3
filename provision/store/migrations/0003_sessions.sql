-- Panel sessions and one-time setup links (services/panel).
--
-- Neither table holds a token: the cookie's token and the setup link's
-- token are 256 random bits, and a row is keyed by the hex SHA-256 of the
-- token (id), so that a copy of this database (a backup, a stolen disk)
-- opens no live session and sets no password. A plain hash is enough: the
-- tokens are random, there is nothing to guess from a dictionary.
--
-- A session's role is not stored: the panel reads it from the live pack at
-- every request, so that a user removed from the pack or given another role
-- is judged by what the pack says now. Times are UTC,
-- "2006-01-02T15:04:05.000Z".
CREATE TABLE sessions (
    id         TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 64),
    login      TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    created_at TEXT NOT NULL, -- for the absolute expiry, and to end sessions older than a new password
    last_seen  TEXT NOT NULL  -- for the idle expiry; written at most once a minute
) STRICT;
CREATE INDEX sessions_login ON sessions (login);

-- The link `ruche up` prints while no admin has a password: it sets the
-- password of login, once (used_at), before expires_at.
CREATE TABLE setup_tokens (
    id         TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 64),
    login      TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;
