package execsup

import (
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

func TestRestartPolicy(t *testing.T) {
	ms := time.Millisecond
	base := config{
		minBackoff: 200 * ms, maxBackoff: time.Second, backoffReset: 10 * time.Second,
		failLimit: 0, failWindow: time.Minute,
	}
	type crash struct {
		at     time.Duration // since the first crash
		uptime time.Duration
	}
	tests := []struct {
		name    string
		limit   int
		window  time.Duration
		crashes []crash
		want    []time.Duration // -1: gives up
	}{
		{
			name:    "doubles up to the ceiling",
			crashes: []crash{{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}},
			want:    []time.Duration{200 * ms, 400 * ms, 800 * ms, time.Second, time.Second, time.Second},
		},
		{
			name:    "resets after staying up",
			crashes: []crash{{0, 0}, {1, 0}, {2, 0}, {30, 10 * time.Second}, {31, 0}},
			want:    []time.Duration{200 * ms, 400 * ms, 800 * ms, 200 * ms, 400 * ms},
		},
		{
			name:    "gives up at the limit within the window",
			limit:   3,
			window:  time.Minute,
			crashes: []crash{{0, 0}, {1, 0}, {2, 0}},
			want:    []time.Duration{200 * ms, 400 * ms, -1},
		},
		{
			name:    "forgets crashes older than the window",
			limit:   3,
			window:  10 * time.Second,
			crashes: []crash{{0, 0}, {1, 0}, {20, 20 * time.Second}, {21, 0}, {40, 20 * time.Second}},
			want:    []time.Duration{200 * ms, 400 * ms, 200 * ms, 400 * ms, 200 * ms},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			if tt.limit > 0 {
				c.failLimit, c.failWindow = tt.limit, tt.window
			}
			p := newRestartPolicy(c)
			t0 := time.Unix(1_700_000_000, 0)
			for i, cr := range tt.crashes {
				wait, giveUp := p.crashed(t0.Add(cr.at*time.Second), cr.uptime)
				got := wait
				if giveUp {
					got = -1
				}
				if got != tt.want[i] {
					t.Errorf("crash %d: got %v, want %v", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	for _, name := range []string{"HUP", "SIGHUP", "hup", " USR2 "} {
		if _, err := provision.ParseSignal(name); err != nil {
			t.Errorf("provision.ParseSignal(%q): %v", name, err)
		}
	}
	if _, err := provision.ParseSignal("BOGUS"); err == nil {
		t.Error("provision.ParseSignal(BOGUS): got nil error")
	}
}
