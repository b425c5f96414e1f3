package health

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// recorder is an Alerter that writes down what it is told.
type recorder struct{ calls []string }

func (r *recorder) Raise(_ context.Context, a provision.Alert) error {
	r.calls = append(r.calls, fmt.Sprintf("raise %s %s: %s", a.Kind, a.Key, a.Subject.String(i18n.EN)))
	return nil
}

func (r *recorder) Clear(_ context.Context, kind provision.AlertKind, key string) error {
	r.calls = append(r.calls, fmt.Sprintf("clear %s %s", kind, key))
	return nil
}

func TestMonitor(t *testing.T) {
	rec := &recorder{}
	used := 50.0
	synced := true
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	m := &Monitor{
		Paths:   []string{"/"},
		Alerter: rec,
		Disk: func(p string) (DiskUsage, error) {
			return DiskUsage{Path: p, UsedPercent: used, Free: 3_200_000_000}, nil
		},
		Clock: func() (ClockState, error) { return ClockState{Synchronized: synced, MaxError: 20 * time.Second}, nil },
		Now:   func() time.Time { return now },
	}
	round := func(u float64, s bool, advance time.Duration) string {
		used, synced = u, s
		now = now.Add(advance)
		rec.calls = nil
		m.Check(context.Background())
		return strings.Join(rec.calls, "; ")
	}
	steps := []struct {
		used   float64
		synced bool
		after  time.Duration
		want   string
	}{
		{50, true, 0, "clear disk-full /; clear clock-unsynchronised "},
		{90, true, time.Minute, "raise disk-full /: the box's disk is nearly full (/: 90%); clear clock-unsynchronised "},
		// Between the clear and warn thresholds: neither raised nor cleared.
		{83, true, time.Minute, "clear clock-unsynchronised "},
		{79, true, time.Minute, "clear disk-full /; clear clock-unsynchronised "},
		// The clock: nothing during the grace period, then the alert.
		{50, false, time.Minute, "clear disk-full /"},
		{50, false, 29 * time.Minute, "clear disk-full /"},
		{50, false, time.Minute, "clear disk-full /; raise clock-unsynchronised : the box's clock is not synchronised"},
		{50, true, time.Minute, "clear disk-full /; clear clock-unsynchronised "},
	}
	for i, s := range steps {
		if got := round(s.used, s.synced, s.after); got != s.want {
			t.Errorf("step %d (disk %.0f%%, synced %v): %q, want %q", i, s.used, s.synced, got, s.want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{999: "999 B", 3_200_000_000: "3.2 GB", 1500: "1.5 kB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
