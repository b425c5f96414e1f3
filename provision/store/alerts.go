package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// AlertState is what the box remembers of one problem it has told people
// about (provision.Alerter): when it began, when a mail last went out, when
// it was cleared.
type AlertState struct {
	Kind      provision.AlertKind
	Key       string
	Subject   string    // as given when the problem (re)opened
	OpenedAt  time.Time // start of the current occurrence
	LastSent  time.Time // zero until a mail went out for this occurrence
	Sent      int       // mails sent for this occurrence
	ClearedAt time.Time // zero while the problem lasts
}

// Open reports whether the problem still lasts.
func (a AlertState) Open() bool { return a.ClearedAt.IsZero() }

// The alert functions take the time from their caller rather than the
// database's clock: the notifier decides when a reminder is due with the
// same clock it records with, and its tests pin it.

// OpenAlert records that the problem (kind, key) is present at time at and
// returns its state. When it is already open, OpenAlert writes nothing and
// reports already = true; otherwise it starts a new occurrence (no mail
// sent yet), reusing the row of a cleared one.
func (db *DB) OpenAlert(ctx context.Context, kind provision.AlertKind, key, subject string, at time.Time) (st AlertState, already bool, err error) {
	tx, err := db.sql.BeginTx(ctx, nil) // IMMEDIATE: no other process opens it under us
	if err != nil {
		return AlertState{}, false, err
	}
	defer tx.Rollback()
	st, err = scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE kind = ? AND key = ?`, string(kind), key))
	switch {
	case err == nil && st.Open():
		return st, true, nil // the deferred rollback ends a transaction that wrote nothing
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return AlertState{}, false, err
	}
	stamp := at.UTC().Format(timeLayout)
	if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (kind, key, subject, opened_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET subject = excluded.subject, opened_at = excluded.opened_at,
			last_sent = NULL, sent_count = 0, cleared_at = NULL`,
		string(kind), key, subject, stamp); err != nil {
		return AlertState{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return AlertState{}, false, err
	}
	opened, _ := time.Parse(timeLayout, stamp) // the stored precision
	return AlertState{Kind: kind, Key: key, Subject: subject, OpenedAt: opened}, false, nil
}

// AlertSent records that a mail about the open problem (kind, key) went
// out at time at. A problem that is not open is left alone.
func (db *DB) AlertSent(ctx context.Context, kind provision.AlertKind, key string, at time.Time) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE alerts SET last_sent = ?, sent_count = sent_count + 1
		WHERE kind = ? AND key = ? AND cleared_at IS NULL`, at.UTC().Format(timeLayout), string(kind), key)
	return err
}

// ClearAlert records that the problem (kind, key) is gone at time at, and
// reports whether it was open. Clearing what is not open writes nothing.
func (db *DB) ClearAlert(ctx context.Context, kind provision.AlertKind, key string, at time.Time) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE alerts SET cleared_at = ?
		WHERE kind = ? AND key = ? AND cleared_at IS NULL`, at.UTC().Format(timeLayout), string(kind), key)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Alert returns the state of the problem (kind, key); ok is false when the
// box never heard of it.
func (db *DB) Alert(ctx context.Context, kind provision.AlertKind, key string) (st AlertState, ok bool, err error) {
	st, err = scanAlert(db.sql.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE kind = ? AND key = ?`, string(kind), key))
	if errors.Is(err, sql.ErrNoRows) {
		return AlertState{}, false, nil
	}
	return st, err == nil, err
}

// Alerts returns every problem the box remembers, open ones first, then by
// when they opened (oldest first), for the panel and doctor.
func (db *DB) Alerts(ctx context.Context) ([]AlertState, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts
		ORDER BY cleared_at IS NOT NULL, opened_at, kind, key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []AlertState
	for rows.Next() {
		st, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, st)
	}
	return list, rows.Err()
}

const alertColumns = `kind, key, subject, opened_at, last_sent, sent_count, cleared_at`

func scanAlert(s scanner) (AlertState, error) {
	var (
		st                  AlertState
		kind, opened        string
		lastSent, clearedAt sql.NullString
	)
	if err := s.Scan(&kind, &st.Key, &st.Subject, &opened, &lastSent, &st.Sent, &clearedAt); err != nil {
		return AlertState{}, err
	}
	st.Kind = provision.AlertKind(kind)
	var errs [3]error
	st.OpenedAt, errs[0] = parseTime(sql.NullString{String: opened, Valid: true})
	st.LastSent, errs[1] = parseTime(lastSent)
	st.ClearedAt, errs[2] = parseTime(clearedAt)
	return st, errors.Join(errs[:]...)
}
