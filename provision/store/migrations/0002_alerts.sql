-- Problems the box has told its admins and technicians about by mail
-- (services/mail/notify): one row per problem, kind and key (a backup
-- target, a mount point), so that a problem still present sends no second
-- mail. A problem that comes back after being cleared reuses its row:
-- opened_at is the start of the current occurrence. Times are UTC,
-- "2006-01-02T15:04:05.000Z".
CREATE TABLE alerts (
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '', -- as first sent, for lists of open problems
    opened_at  TEXT NOT NULL,
    last_sent  TEXT,                     -- NULL until a mail went out
    sent_count INTEGER NOT NULL DEFAULT 0 CHECK (sent_count >= 0),
    cleared_at TEXT,                     -- NULL while the problem lasts
    PRIMARY KEY (kind, key)
) STRICT;
