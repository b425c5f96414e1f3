package backup

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// RunOnce, the systemd timer's job, runs what the scheduler runs when a
// backup is due: the backup, then the weekly jobs when theirs are due, and
// records them.
func TestRunOnce(t *testing.T) {
	root := t.TempDir()
	clock := newFakeClock(at(2, 2, 30))
	l := &jobLog{}
	s := NewScheduler(Options{Root: root, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, func() (*provision.Pack, error) { return schedulePack(), nil })
	s.Clock = clock
	s.Jobs = Jobs{Backup: l.job(clock, &l.backups, nil), Drill: l.job(clock, &l.drills, nil), Check: l.job(clock, &l.chks, nil)}

	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, d, c := l.counts(); b != 1 || d != 1 || c != 1 {
		t.Fatalf("first run: %d backups, %d drills, %d checks; want 1 1 1", b, d, c)
	}
	st, err := ReadScheduleState(root)
	if err != nil || !st.LastBackup.Equal(at(2, 2, 30)) || st.LastDrill.IsZero() || st.LastCheck.IsZero() {
		t.Fatalf("state: %+v, %v", st, err)
	}

	// The next day: a backup, no weekly job.
	clock.set(at(3, 2, 30))
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, d, c := l.counts(); b != 2 || d != 1 || c != 1 {
		t.Fatalf("second run: %d backups, %d drills, %d checks; want 2 1 1", b, d, c)
	}

	// A failed backup is recorded and returned, in both languages.
	s.Jobs.Backup = func(context.Context, *provision.Pack) error { return errors.New("disk full") }
	clock.set(at(4, 2, 30).Add(time.Minute))
	err = s.RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("RunOnce after a failed backup: %v", err)
	}
	if st, _ := ReadScheduleState(root); st.BackupError["en"] != "disk full" {
		t.Errorf("backup error not recorded: %+v", st.BackupError)
	}

	// A pack without targets: nothing runs, and it says why.
	s.Pack = func() (*provision.Pack, error) { return &provision.Pack{}, nil }
	if err := s.RunOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "no backup target") {
		t.Errorf("RunOnce without targets: %v", err)
	}
}

func TestOnCalendar(t *testing.T) {
	for _, tc := range []struct {
		schedule, tz, want string
	}{
		{"*-*-* 02:30", "Europe/Paris", "*-*-* 02:30 Europe/Paris"},
		{"", "UTC", provision.DefaultSchedule + " UTC"},
		{"Mon *-*-* 03:00 America/New_York", "Europe/Paris", "Mon *-*-* 03:00 America/New_York"},
		{"daily UTC", "Europe/Paris", "daily UTC"},
		{"daily", "", "daily"},
	} {
		p := &provision.Pack{Box: provision.Box{Timezone: tc.tz}, Backup: provision.Backup{Schedule: tc.schedule}}
		got, err := OnCalendar(p)
		if err != nil || got != tc.want {
			t.Errorf("OnCalendar(%q, %q) = %q, %v; want %q", tc.schedule, tc.tz, got, err, tc.want)
		}
	}
	if _, err := OnCalendar(&provision.Pack{Backup: provision.Backup{Schedule: "every tuesday"}}); err == nil {
		t.Error("a bad schedule: no error")
	}
}
