package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/calendar"
	"github.com/ruche-box/ruche/provision/i18n"
)

// ScheduleStateFile records when the scheduler last ran each job, so that
// a run missed while the box was off is made up at the next start.
const ScheduleStateFile = provision.BackupDir + "/schedule.json"

// Clock is the scheduler's time: the real one, or a test's.
type Clock interface {
	Now() time.Time
	// After sends the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Jobs are what the scheduler runs; each nil field is the real job.
type Jobs struct {
	// Backup backs up to every target, then applies the retention
	// (Run, then ForgetTargets, then RemoveRestoreAside).
	Backup func(ctx context.Context, p *provision.Pack) error
	// Drill restores the latest snapshot and checks it (Drill).
	Drill func(ctx context.Context, p *provision.Pack) error
	// Check checks every repository, reading part of its data
	// (CheckTargets with CheckSubset).
	Check func(ctx context.Context, p *provision.Pack) error
}

// Default intervals of the weekly jobs.
const (
	DefaultDrillEvery = 7 * 24 * time.Hour
	DefaultCheckEvery = 7 * 24 * time.Hour
	// DefaultMaxSleep bounds each wait: a new schedule in the pack, or a
	// clock set right, is seen within it.
	DefaultMaxSleep = time.Minute
)

// Scheduler runs the backups of a box under the exec backend (`ruche up`
// without systemd; a box with systemd has timers instead): at each time
// backup.schedule (OnCalendar syntax) names, a backup to every target and
// the retention; after a backup, a restore drill when the last one is a
// week old, and a check of the repositories when the last one is a week
// old. It runs one job at a time, in its own goroutine (Run); a backup run
// meanwhile by `ruche backup now` makes the scheduled one step aside (the
// box's backup lock).
//
// A time missed while the box was off is made up once at the next start,
// however many were missed. When the scheduler first runs on a box, it
// counts from the box's last backup (state.json), else from now.
type Scheduler struct {
	// Options are the backups' (Root, Restic, Log, Alerter...).
	Options
	// Pack returns the pack the box runs now; it is read before each
	// wait, so that a new schedule takes effect at once.
	Pack func() (*provision.Pack, error)
	// Clock is time.Now and time.After unless a test sets it.
	Clock Clock
	// Jobs replaces the real jobs in tests.
	Jobs Jobs
	// DrillEvery and CheckEvery are the weekly jobs' intervals
	// (DefaultDrillEvery, DefaultCheckEvery when 0); a negative one
	// turns the job off.
	DrillEvery, CheckEvery time.Duration
	// MaxSleep bounds each wait (DefaultMaxSleep when 0).
	MaxSleep time.Duration
	// Ruche is the binary drills start the restored box with; "" is this
	// program.
	Ruche string
}

// NewScheduler is the scheduler of the box o.Root, whose current pack
// pack returns.
func NewScheduler(o Options, pack func() (*provision.Pack, error)) *Scheduler {
	return &Scheduler{Options: o, Pack: pack}
}

// ScheduleState is ScheduleStateFile.
type ScheduleState struct {
	// Since is when the scheduler first ran on the box: the time counted
	// from before any backup.
	Since      time.Time `json:"since"`
	LastBackup time.Time `json:"last_backup,omitzero"`
	LastDrill  time.Time `json:"last_drill,omitzero"`
	LastCheck  time.Time `json:"last_check,omitzero"`
	// The jobs' last failures, in both languages; empty after a success.
	BackupError map[string]string `json:"backup_error,omitempty"`
	DrillError  map[string]string `json:"drill_error,omitempty"`
	CheckError  map[string]string `json:"check_error,omitempty"`
}

// ReadScheduleState reads the scheduler's record; an empty one when the
// scheduler never ran.
func ReadScheduleState(root string) (*ScheduleState, error) {
	s := &ScheduleState{}
	data, err := os.ReadFile(filepath.Join(root, ScheduleStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s: %w", ScheduleStateFile, err)
	}
	return s, nil
}

func (s *ScheduleState) write(root string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(root, ScheduleStateFile), append(data, '\n'), 0o600)
}

func errorText(err error) map[string]string {
	if err == nil {
		return nil
	}
	return map[string]string{string(i18n.FR): i18n.Localize(err, i18n.FR), string(i18n.EN): i18n.Localize(err, i18n.EN)}
}

func (s *Scheduler) clock() Clock {
	if s.Clock != nil {
		return s.Clock
	}
	return realClock{}
}

func every(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Run schedules the jobs until ctx is done; it returns nil then. On a
// drill's restored box (IsDrillBox) it schedules nothing: its backups
// would go to the real repositories.
func (s *Scheduler) Run(ctx context.Context) error {
	root, err := s.root()
	if err != nil {
		return err
	}
	log := s.log().With("component", "backup-scheduler")
	if IsDrillBox(root) {
		log.Info("restore drill's box: no scheduled backups")
		<-ctx.Done()
		return nil
	}
	clock := s.clock()
	st, err := ReadScheduleState(root)
	if err != nil {
		log.Warn("schedule state unreadable, starting a new one", "err", err)
		st = &ScheduleState{}
	}
	if st.Since.IsZero() {
		st.Since = clock.Now()
		if err := st.write(root); err != nil {
			log.Warn("schedule state not written", "err", err)
		}
	}
	maxSleep := every(s.MaxSleep, DefaultMaxSleep)
	var lastProblem string // logged once, not every minute
	for {
		now := clock.Now()
		due, problem := s.nextBackup(root, st)
		if problem != "" && problem != lastProblem {
			log.Warn("no scheduled backups", "why", problem)
		}
		lastProblem = problem
		if !due.IsZero() && !due.After(now) {
			s.runDue(ctx, root, st, log)
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		wait := maxSleep
		if !due.IsZero() && due.Sub(now) < wait {
			wait = due.Sub(now)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-clock.After(wait):
		}
	}
}

// nextBackup is when the next backup is due: the schedule's first time
// after the last backup (the scheduler's, or any other: `ruche backup
// now` counts), in the box's timezone. Zero, with why, when the pack has
// no targets or no readable schedule.
func (s *Scheduler) nextBackup(root string, st *ScheduleState) (time.Time, string) {
	p, err := s.Pack()
	if err != nil {
		return time.Time{}, err.Error()
	}
	if p == nil || len(p.Backup.Targets) == 0 {
		return time.Time{}, "the pack has no backup target"
	}
	expr := p.Backup.Schedule
	if expr == "" {
		expr = provision.DefaultSchedule
	}
	spec, err := calendar.Parse(expr)
	if err != nil {
		return time.Time{}, fmt.Sprintf("backup.schedule %q: %v", expr, err)
	}
	last := st.Since
	if st.LastBackup.After(last) {
		last = st.LastBackup
	}
	if bs, err := ReadState(root); err == nil {
		for _, t := range bs.Targets {
			if t.LastAttempt.After(last) {
				last = t.LastAttempt
			}
		}
	}
	loc := time.Local
	if p.Box.Timezone != "" {
		if l, err := time.LoadLocation(p.Box.Timezone); err == nil {
			loc = l
		}
	}
	return spec.Next(last.In(loc)), ""
}

// RunOnce runs what Run runs when a backup is due, once and now: the backup
// and the retention, then the restore drill and the repository check when
// theirs are due, recording each in the schedule state as Run does. It is
// the work of the systemd timer (`ruche backup run-scheduled`), which
// replaces Run on a box with systemd; systemd runs one at a time, and a
// `ruche backup now` at the same moment makes this backup step aside (the
// box's backup lock). The jobs' failures are logged and kept in the state
// (the panel shows them, alerts mail them), and returned.
func (s *Scheduler) RunOnce(ctx context.Context) error {
	root, err := s.root()
	if err != nil {
		return err
	}
	log := s.log().With("component", "backup-scheduler")
	if IsDrillBox(root) {
		log.Info("restore drill's box: no scheduled backups")
		return nil
	}
	if _, problem := s.nextBackup(root, &ScheduleState{}); problem != "" {
		return errors.New(problem)
	}
	st, err := ReadScheduleState(root)
	if err != nil {
		log.Warn("schedule state unreadable, starting a new one", "err", err)
		st = &ScheduleState{}
	}
	if st.Since.IsZero() {
		st.Since = s.clock().Now()
	}
	s.runDue(ctx, root, st, log)
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	for _, e := range []map[string]string{st.BackupError, st.DrillError, st.CheckError} {
		if e != nil {
			errs = append(errs, recordedError(e))
		}
	}
	return joinLocalized(errs...)
}

// recordedError is a job's failure as the schedule state keeps it, in both
// languages.
type recordedError map[string]string

func (e recordedError) Error() string { return e.Localize(i18n.FR) }

func (e recordedError) Localize(lang i18n.Lang) string {
	if s, ok := e[string(lang)]; ok {
		return s
	}
	return e[string(i18n.FR)]
}

// runDue runs a due backup, then the weekly jobs that are due.
func (s *Scheduler) runDue(ctx context.Context, root string, st *ScheduleState, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	clock := s.clock()
	p, err := s.Pack()
	if err != nil || p == nil {
		return
	}
	start := clock.Now()
	err = s.backupJob()(ctx, p)
	if err != nil && ctx.Err() != nil {
		// Stopped half-way: the next start makes it up.
		return
	}
	st.LastBackup, st.BackupError = start, errorText(err)
	switch {
	case errors.Is(err, ErrBusy):
		// `ruche backup now` is backing up this very moment: that is
		// this run's backup.
		log.Info("scheduled backup: another backup is running, this one steps aside")
		st.BackupError = nil
	case err != nil:
		log.Warn("scheduled backup", "err", i18n.Localize(err, i18n.EN))
	default:
		log.Info("scheduled backup done", "duration", clock.Now().Sub(start).Round(time.Second))
	}
	s.save(root, st, log)

	if d := every(s.DrillEvery, DefaultDrillEvery); d > 0 {
		last := st.LastDrill
		if ds, err := ReadDrillState(root); err == nil && ds.LastRun.After(last) {
			last = ds.LastRun
		}
		if now := clock.Now(); now.Sub(last) >= d {
			err := s.drillJob()(ctx, p)
			if err != nil && ctx.Err() != nil {
				return
			}
			st.LastDrill, st.DrillError = now, errorText(err)
			if err != nil {
				log.Warn("scheduled restore drill", "err", i18n.Localize(err, i18n.EN))
			}
			s.save(root, st, log)
		}
	}
	if d := every(s.CheckEvery, DefaultCheckEvery); d > 0 {
		if now := clock.Now(); now.Sub(st.LastCheck) >= d {
			err := s.checkJob(now)(ctx, p)
			if err != nil && ctx.Err() != nil {
				return
			}
			st.LastCheck, st.CheckError = now, errorText(err)
			if err != nil {
				log.Warn("scheduled repository check", "err", i18n.Localize(err, i18n.EN))
			}
			s.save(root, st, log)
		}
	}
}

func (s *Scheduler) save(root string, st *ScheduleState, log interface{ Warn(string, ...any) }) {
	if err := st.write(root); err != nil {
		log.Warn("schedule state not written", "err", err)
	}
}

func (s *Scheduler) backupJob() func(context.Context, *provision.Pack) error {
	if s.Jobs.Backup != nil {
		return s.Jobs.Backup
	}
	return func(ctx context.Context, p *provision.Pack) error {
		report, err := Run(ctx, s.Options, p)
		if err != nil {
			return err
		}
		var saved []string
		for _, t := range report.Targets {
			if t.Status == StatusOK || t.Status == StatusPartial {
				saved = append(saved, t.Target)
			}
		}
		var errs []error
		if failed := report.Failed(); len(failed) > 0 {
			jobs := make([]TargetJob, len(failed))
			for i, t := range failed {
				jobs[i] = TargetJob{Target: t.Target, Err: t.Err}
				if t.Err == nil {
					jobs[i].Err = errors.New(string(t.Status))
				}
			}
			errs = append(errs, JobsError(jobs))
		}
		if len(saved) > 0 {
			jobs, err := ForgetTargets(ctx, s.Options, p, saved)
			errs = append(errs, err, JobsError(jobs))
		}
		root, _ := s.root()
		if removed, err := RemoveRestoreAside(root, p); err != nil {
			errs = append(errs, err)
		} else if len(removed) > 0 {
			s.log().Info("what restores had put aside is in every target's backup now: removed", "folders", removed)
		}
		return joinLocalized(errs...)
	}
}

func (s *Scheduler) drillJob() func(context.Context, *provision.Pack) error {
	if s.Jobs.Drill != nil {
		return s.Jobs.Drill
	}
	return func(ctx context.Context, p *provision.Pack) error {
		_, err := Drill(ctx, DrillOptions{Options: s.Options, Ruche: s.Ruche}, p)
		return err
	}
}

func (s *Scheduler) checkJob(now time.Time) func(context.Context, *provision.Pack) error {
	if s.Jobs.Check != nil {
		return s.Jobs.Check
	}
	return func(ctx context.Context, p *provision.Pack) error {
		jobs, err := CheckTargets(ctx, s.Options, p, CheckSubset(now))
		if err != nil {
			return err
		}
		return JobsError(jobs)
	}
}

// localizedErrors joins errors and speaks both languages.
type localizedErrors []error

func (e localizedErrors) Error() string { return e.Localize(i18n.FR) }

func (e localizedErrors) Localize(lang i18n.Lang) string {
	s := ""
	for i, err := range e {
		if i > 0 {
			s += "; "
		}
		s += i18n.Localize(err, lang)
	}
	return s
}

func (e localizedErrors) Unwrap() []error { return e }

// joinLocalized is errors.Join whose message speaks both languages; nil
// when every error is nil.
func joinLocalized(errs ...error) error {
	var out localizedErrors
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// OnCalendar is the calendar expression a systemd timer needs to back up
// when Run would: backup.schedule (DefaultSchedule when empty) in the box's
// timezone (box.timezone), which is added unless the schedule names its
// own, since systemd would otherwise read it in the machine's timezone. An
// expression that does not parse is returned with its error.
func OnCalendar(p *provision.Pack) (string, error) {
	expr := p.Backup.Schedule
	if expr == "" {
		expr = provision.DefaultSchedule
	}
	if _, err := calendar.Parse(expr); err != nil {
		return "", fmt.Errorf("backup.schedule %q: %w", expr, err)
	}
	if tz := p.Box.Timezone; tz != "" {
		// Parse reads a trailing zone name as the expression's own; a
		// second one is a syntax error. So when the schedule already has
		// one, adding the box's fails, and the schedule's is kept.
		if _, err := calendar.Parse(expr + " " + tz); err == nil {
			return expr + " " + tz, nil
		}
	}
	return expr, nil
}
