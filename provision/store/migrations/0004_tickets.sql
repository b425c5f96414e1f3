-- Intervention tickets (services/panel): what a member asks the support
-- association's technicians for, the thread that answers it, the state of
-- the box when it was asked, and who did what.
--
-- Authors and assignees are logins of users: a user the pack drops keeps
-- its row (removed_at), so that the tickets and the audit log keep their
-- names. Times are UTC, "2006-01-02T15:04:05.000Z".
CREATE TABLE tickets (
    -- AUTOINCREMENT: an id is never given twice, even after a deletion,
    -- so that a mail's link never shows someone else's ticket.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body          TEXT NOT NULL DEFAULT '',
    category      TEXT NOT NULL DEFAULT 'other'
                  CHECK (category IN ('wiki', 'sites', 'mail', 'backups', 'computer', 'other')),
    urgency       TEXT NOT NULL DEFAULT 'normal' CHECK (urgency IN ('low', 'normal', 'high')),
    status        TEXT NOT NULL DEFAULT 'new'
                  CHECK (status IN ('new', 'in_progress', 'waiting', 'resolved')),
    author        TEXT NOT NULL REFERENCES users (login),
    assignee      TEXT REFERENCES users (login),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    -- The sum of the comments' minutes, kept here so that lists and counts
    -- of time spent (what a support association reports) need no join.
    minutes_spent INTEGER NOT NULL DEFAULT 0 CHECK (minutes_spent >= 0)
) STRICT;
CREATE INDEX tickets_author ON tickets (author, id);
CREATE INDEX tickets_status ON tickets (status, id);

-- The thread of a ticket. A comment may carry the minutes of the
-- intervention it reports; a comment with no body only records time.
CREATE TABLE ticket_comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author     TEXT NOT NULL REFERENCES users (login),
    body       TEXT NOT NULL DEFAULT '',
    minutes    INTEGER NOT NULL DEFAULT 0 CHECK (minutes BETWEEN 0 AND 100000),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX ticket_comments_ticket ON ticket_comments (ticket_id, id);

-- The box's state when the ticket was opened, and each refresh a
-- technician asked for: JSON (services, log tails with secrets masked,
-- disk, clock, backups, pack revision), written by the panel.
CREATE TABLE ticket_diagnostics (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    taken_at  TEXT NOT NULL,
    taken_by  TEXT NOT NULL REFERENCES users (login),
    data      TEXT NOT NULL CHECK (json_valid(data))
) STRICT;
CREATE INDEX ticket_diagnostics_ticket ON ticket_diagnostics (ticket_id, id);

-- What admins and technicians did: every action of theirs on a ticket
-- (opened, commented, status, assignee, time, diagnostic), so that an
-- association knows who touched its box and when. Rows are only added.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets (id) ON DELETE SET NULL,
    detail    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_ticket ON audit_log (ticket_id);
