package backup

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// fakeClock is a clock tests move by hand. Waiting tells the test each
// time the scheduler waits, that is once all it had to do is done.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []fakeTimer
	waiting chan struct{}
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waiting: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	}
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	return ch
}

// set moves the clock to t and fires the timers due.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if !tm.at.After(t) {
			tm.ch <- t
		} else {
			kept = append(kept, tm)
		}
	}
	c.timers = kept
}

// idle waits (bounded) until the scheduler waits on the clock again.
func (c *fakeClock) idle(t *testing.T) {
	t.Helper()
	select {
	case <-c.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler did not come back to wait within 10 s")
	}
}

// jobLog records the jobs a scheduler ran, at the fake time they started.
type jobLog struct {
	mu                    sync.Mutex
	backups, drills, chks []time.Time
	running, maxRunning   int
}

func (l *jobLog) job(clock *fakeClock, list *[]time.Time, hold <-chan struct{}) func(context.Context, *provision.Pack) error {
	return func(ctx context.Context, _ *provision.Pack) error {
		l.mu.Lock()
		*list = append(*list, clock.Now())
		l.running++
		l.maxRunning = max(l.maxRunning, l.running)
		l.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-ctx.Done():
			}
		}
		l.mu.Lock()
		l.running--
		l.mu.Unlock()
		return nil
	}
}

func (l *jobLog) counts() (int, int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.backups), len(l.drills), len(l.chks)
}

func schedulePack() *provision.Pack {
	return &provision.Pack{Box: provision.Box{Hostname: "cafe", Timezone: "Europe/Paris"}, Backup: provision.Backup{
		Schedule: "*-*-* 02:30",
		Keep:     provision.Keep{Daily: 7},
		Targets:  []provision.BackupTarget{{Name: "local", Repository: "/var/backups/restic"}},
	}}
}

// startScheduler runs a scheduler on root with fake jobs until the test
// ends.
func startScheduler(t *testing.T, root string, clock *fakeClock, l *jobLog, hold <-chan struct{}) {
	t.Helper()
	s := NewScheduler(Options{Root: root, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, func() (*provision.Pack, error) { return schedulePack(), nil })
	s.Clock = clock
	s.Jobs = Jobs{
		Backup: l.job(clock, &l.backups, hold),
		Drill:  l.job(clock, &l.drills, nil),
		Check:  l.job(clock, &l.chks, nil),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the scheduler did not stop within 10 s of its context's end")
		}
	})
}

var paris, _ = time.LoadLocation("Europe/Paris")

func at(day, hour, minute int) time.Time {
	return time.Date(2026, 3, day, hour, minute, 0, 0, paris)
}

func TestSchedulerRunsAtDueTimes(t *testing.T) {
	root := t.TempDir()
	clock := newFakeClock(at(2, 10, 0))
	l := &jobLog{}
	startScheduler(t, root, clock, l, nil)
	clock.idle(t)
	if b, _, _ := l.counts(); b != 0 {
		t.Fatalf("a first start ran %d backups, want none before the first due time", b)
	}
	clock.set(at(3, 2, 29))
	clock.idle(t)
	if b, _, _ := l.counts(); b != 0 {
		t.Fatalf("%d backups at 02:29, want none", b)
	}
	clock.set(at(3, 2, 30))
	clock.idle(t)
	b, d, c := l.counts()
	if b != 1 || d != 1 || c != 1 || !l.backups[0].Equal(at(3, 2, 30)) {
		t.Fatalf("at 02:30: backups %v, %d drills, %d checks; want one backup at 02:30 then the first drill and check", l.backups, d, c)
	}
	// Every day for two weeks: a backup each day, a drill and a check
	// each week.
	for day := 4; day <= 17; day++ {
		clock.set(at(day, 2, 30))
		clock.idle(t)
	}
	b, d, c = l.counts()
	if b != 15 || d != 3 || c != 3 {
		t.Errorf("after 15 days: %d backups, %d drills, %d checks; want 15, 3, 3", b, d, c)
	}
	if l.drills[1].Sub(l.drills[0]) != 7*24*time.Hour {
		t.Errorf("drills at %v: want a week apart", l.drills)
	}
	st, err := ReadScheduleState(root)
	if err != nil || !st.LastBackup.Equal(at(17, 2, 30)) {
		t.Errorf("schedule state %+v, %v", st, err)
	}
}

func TestSchedulerCatchesUpAMissedRunOnce(t *testing.T) {
	root := t.TempDir()
	// The box last backed up on the 1st and was off until the 4th.
	st := &ScheduleState{Since: at(1, 0, 0), LastBackup: at(1, 2, 30), LastDrill: at(1, 2, 31), LastCheck: at(1, 2, 32)}
	if err := st.write(root); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock(at(4, 9, 0))
	l := &jobLog{}
	startScheduler(t, root, clock, l, nil)
	clock.idle(t)
	b, d, c := l.counts()
	if b != 1 || !l.backups[0].Equal(at(4, 9, 0)) || d != 0 || c != 0 {
		t.Fatalf("at start after 3 missed runs: backups %v, %d drills, %d checks; want one backup at once, no drill or check (a week has not passed)", l.backups, d, c)
	}
	clock.set(at(4, 23, 0))
	clock.idle(t)
	if b, _, _ := l.counts(); b != 1 {
		t.Errorf("%d backups by 23:00, want still 1", b)
	}
	clock.set(at(5, 2, 30))
	clock.idle(t)
	if b, _, _ := l.counts(); b != 2 {
		t.Errorf("%d backups at the next due time, want 2", b)
	}
}

func TestSchedulerNeverOverlaps(t *testing.T) {
	root := t.TempDir()
	st := &ScheduleState{Since: at(1, 0, 0), LastBackup: at(1, 2, 30), LastDrill: at(1, 3, 0), LastCheck: at(1, 3, 0)}
	st.write(root)
	clock := newFakeClock(at(2, 2, 30))
	l := &jobLog{}
	hold := make(chan struct{})
	startScheduler(t, root, clock, l, hold)
	// The backup of the 2nd hangs while three more due times pass.
	deadline := time.Now().Add(10 * time.Second)
	for b, _, _ := l.counts(); b == 0; b, _, _ = l.counts() {
		if time.Now().After(deadline) {
			t.Fatal("the due backup did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for day := 3; day <= 5; day++ {
		clock.set(at(day, 2, 30))
	}
	time.Sleep(100 * time.Millisecond)
	if b, _, _ := l.counts(); b != 1 {
		t.Fatalf("%d backups started while one runs, want 1", b)
	}
	clock.set(at(5, 9, 0))
	close(hold)
	clock.idle(t)
	b, _, _ := l.counts()
	if b != 2 || l.maxRunning != 1 {
		t.Errorf("%d backups (%v), at most %d at once; want the running one then one catch-up, never two at once", b, l.backups, l.maxRunning)
	}
}

func TestSchedulerStepsAsideForAnotherBackup(t *testing.T) {
	root := t.TempDir()
	// `ruche backup now` holds the box's backup lock: the real backup
	// job finds it held and counts this run as done.
	unlock, err := lockBackup(root)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	st := &ScheduleState{Since: at(1, 0, 0), LastBackup: at(1, 2, 30), LastDrill: at(1, 3, 0), LastCheck: at(1, 3, 0)}
	st.write(root)
	clock := newFakeClock(at(2, 2, 30))
	s := NewScheduler(Options{Root: root, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, func() (*provision.Pack, error) { return schedulePack(), nil })
	s.Clock = clock
	s.DrillEvery, s.CheckEvery = -1, -1
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	clock.idle(t)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduler did not stop")
	}
	got, err := ReadScheduleState(root)
	if err != nil || !got.LastBackup.Equal(at(2, 2, 30)) || got.BackupError != nil {
		t.Errorf("state %+v, %v: want the run counted, without error", got, err)
	}
}

func TestSchedulerDoesNothingOnADrillBox(t *testing.T) {
	root := t.TempDir()
	if err := writeFileAtomic(filepath.Join(root, DrillMarker), []byte("drill\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := &ScheduleState{Since: at(1, 0, 0), LastBackup: at(1, 2, 30)}
	st.write(root)
	clock := newFakeClock(at(9, 9, 0))
	l := &jobLog{}
	startScheduler(t, root, clock, l, nil)
	time.Sleep(100 * time.Millisecond)
	if b, d, c := l.counts(); b+d+c != 0 {
		t.Errorf("a drill's box ran %d backups, %d drills, %d checks", b, d, c)
	}
}

func TestSchedulerFollowsTheSchedule(t *testing.T) {
	// A schedule the pack does not give is the default; a bad one
	// schedules nothing (the pack's validation refuses it anyway).
	s := NewScheduler(Options{}, func() (*provision.Pack, error) {
		p := schedulePack()
		p.Backup.Schedule = "Mon 03:00"
		return p, nil
	})
	due, why := s.nextBackup(t.TempDir(), &ScheduleState{Since: at(4, 12, 0)}) // a Wednesday
	if why != "" || !due.Equal(at(9, 3, 0)) {
		t.Errorf("Mon 03:00 after Wednesday the 4th: %v (%s), want Monday the 9th 03:00", due, why)
	}
	s.Pack = func() (*provision.Pack, error) { return nil, errors.New("no pack") }
	if due, why := s.nextBackup(t.TempDir(), &ScheduleState{}); !due.IsZero() || why == "" {
		t.Errorf("no pack: %v %q", due, why)
	}
}

// recordingAlerter records what is raised and cleared.
type recordingAlerter struct {
	raised  []provision.Alert
	cleared []string
}

func (a *recordingAlerter) Raise(_ context.Context, al provision.Alert) error {
	a.raised = append(a.raised, al)
	return nil
}

func (a *recordingAlerter) Clear(_ context.Context, kind provision.AlertKind, key string) error {
	a.cleared = append(a.cleared, string(kind)+"/"+key)
	return nil
}

func TestDrillFailureIsRecordedAndAlerted(t *testing.T) {
	root := t.TempDir()
	a := &recordingAlerter{}
	p := schedulePack()
	p.Backup.Targets = nil
	res, err := Drill(context.Background(), DrillOptions{Options: Options{Root: root, Alerter: a, Log: slog.New(slog.DiscardHandler)}}, p)
	if err == nil || res.OK() {
		t.Fatalf("a drill without targets passed: %+v", res)
	}
	if len(a.raised) != 1 || a.raised[0].Key != DrillAlertKey || a.raised[0].Kind != provision.AlertBackupFailed {
		t.Errorf("raised %+v, want one failed-drill alert", a.raised)
	}
	st, err := ReadDrillState(root)
	if err != nil || st.LastOK || !st.LastSuccess.IsZero() || st.Error["fr"] == "" || len(st.Checks) != 1 || st.Checks[0].Status != CheckFailed {
		t.Errorf("drill state %+v, %v", st, err)
	}
	alertDrill(context.Background(), Options{Alerter: a}, nil)
	if len(a.cleared) != 1 || a.cleared[0] != "backup-failed/"+DrillAlertKey {
		t.Errorf("a passing drill cleared %v", a.cleared)
	}
}
