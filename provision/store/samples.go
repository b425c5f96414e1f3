package store

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/ruche-box/ruche/provision/i18n"
)

// What a usage sample measures (usage_samples.kind). Values are bytes.
const (
	// SampleDiskUsed and SampleDiskTotal: the filesystem holding the
	// path in Target (the dashboard's disks).
	SampleDiskUsed  = "disk_used"
	SampleDiskTotal = "disk_total"
	// SampleBackupAdded and SampleBackupStored: the backup to the target
	// named in Target that ended at At, as restic's summary gave them:
	// new data before compression (data_added) and what it added to the
	// repository (data_added_packed).
	SampleBackupAdded  = "backup_added"
	SampleBackupStored = "backup_stored"
)

// SampleKinds are the kinds RecordSamples accepts.
var SampleKinds = []string{SampleDiskUsed, SampleDiskTotal, SampleBackupAdded, SampleBackupStored}

// How long samples are kept, and how densely. A box samples every
// SampleSlot; the week after is the detail a technician looks at after a
// problem, the two years behind it the trend ("when will the disk be
// full?"), at one sample a day: about 1,400 rows per series, whatever the
// box's age.
const (
	SampleSlot    = 15 * time.Minute
	SampleFineFor = 7 * 24 * time.Hour
	SampleKeepFor = 2 * 365 * 24 * time.Hour
)

// Sample is one measure at one time.
type Sample struct {
	Kind   string
	Target string // a disk's path or a backup target's name
	At     time.Time
	Value  uint64
}

var (
	msgSampleKind  = i18n.M{FR: "échantillon %d : kind %q inconnu (attendu : %v)", EN: "sample %d: unknown kind %q (expected: %v)"}
	msgSampleAt    = i18n.M{FR: "échantillon %d : at (l'heure de la mesure) manquant", EN: "sample %d: at (the time of the measure) missing"}
	msgSampleValue = i18n.M{FR: "échantillon %d : value %d trop grande", EN: "sample %d: value %d too large"}
)

// RecordSamples stores samples, then thins the table as of now, in one
// transaction: within a SampleSlot (aligned on the clock) a series keeps
// only its latest sample; samples older than SampleFineFor keep only the
// last of their UTC day; samples older than SampleKeepFor are deleted. A
// sample older than one already stored in its slot changes nothing. Bad
// samples are refused before anything is written.
//
// The caller gives now, as the alerts do: the sampler and its tests decide
// the clock.
func (db *DB) RecordSamples(ctx context.Context, now time.Time, samples []Sample) error {
	for i, s := range samples {
		if !slices.Contains(SampleKinds, s.Kind) {
			return i18n.Errorf(msgSampleKind, i, s.Kind, SampleKinds)
		}
		if s.At.IsZero() {
			return i18n.Errorf(msgSampleAt, i)
		}
		if s.Value > math.MaxInt64 {
			return i18n.Errorf(msgSampleValue, i, s.Value)
		}
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range samples {
		at := s.At.UTC()
		slot := at.Truncate(SampleSlot)
		stamp, from, to := at.Format(timeLayout), slot.Format(timeLayout), slot.Add(SampleSlot).Format(timeLayout)
		var later int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM usage_samples
			WHERE kind = ? AND target = ? AND at > ? AND at < ?`, s.Kind, s.Target, stamp, to).Scan(&later); err != nil {
			return err
		}
		if later > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM usage_samples
			WHERE kind = ? AND target = ? AND at >= ? AND at < ?`, s.Kind, s.Target, from, stamp); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO usage_samples (kind, target, at, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, target, at) DO UPDATE SET value = excluded.value`,
			s.Kind, s.Target, stamp, int64(s.Value)); err != nil {
			return err
		}
	}
	now = now.UTC()
	if _, err := tx.ExecContext(ctx, `DELETE FROM usage_samples WHERE at < ?`,
		now.Add(-SampleKeepFor).Format(timeLayout)); err != nil {
		return err
	}
	// A day that straddles the fine window's edge keeps its samples after
	// the edge and the last one: they go once the edge has passed them.
	if _, err := tx.ExecContext(ctx, `DELETE FROM usage_samples
		WHERE at < ? AND EXISTS (SELECT 1 FROM usage_samples AS later
			WHERE later.kind = usage_samples.kind AND later.target = usage_samples.target
			AND substr(later.at, 1, 10) = substr(usage_samples.at, 1, 10) AND later.at > usage_samples.at)`,
		now.Add(-SampleFineFor).Format(timeLayout)); err != nil {
		return err
	}
	return tx.Commit()
}

// Samples returns the samples taken from since (included) to until
// (excluded), by kind, target and time.
func (db *DB) Samples(ctx context.Context, since, until time.Time) ([]Sample, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT kind, target, at, value FROM usage_samples
		WHERE at >= ? AND at < ? ORDER BY kind, target, at`,
		since.UTC().Format(timeLayout), until.UTC().Format(timeLayout))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Sample
	for rows.Next() {
		var s Sample
		var at string
		var v int64
		if err := rows.Scan(&s.Kind, &s.Target, &at, &v); err != nil {
			return nil, err
		}
		if s.At, err = time.Parse(timeLayout, at); err != nil {
			return nil, err
		}
		s.Value = uint64(v)
		out = append(out, s)
	}
	return out, rows.Err()
}
