-- The dashboard's history (services/panel/history.go): disk use and backup
-- sizes over time, one row per sample. kind says what was measured
-- (disk_used, disk_total: bytes of the filesystem named by target, a path;
-- backup_added, backup_stored: restic's data_added and data_added_packed
-- of the backup to target that ended at `at`). value is bytes. Times are
-- UTC, "2006-01-02T15:04:05.000Z", so that text order is time order and
-- substr(at, 1, 10) is the UTC day. The table stays small by itself:
-- RecordSamples keeps one row per 15 minutes for 7 days, then one per day
-- for 2 years, in the transaction that inserts.
CREATE TABLE usage_samples (
    kind   TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    at     TEXT NOT NULL,
    value  INTEGER NOT NULL CHECK (value >= 0),
    PRIMARY KEY (kind, target, at)
) STRICT;

-- Reading a period for every series at once.
CREATE INDEX usage_samples_at ON usage_samples (at);
