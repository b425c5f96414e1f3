package health

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	c, err := Clock()
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxError < 0 || c.EstError < 0 {
		t.Errorf("Clock() = %+v: negative error bounds", c)
	}
	if c.Synchronized != (c.MaxError < MaxClockError) {
		t.Errorf("Clock() = %+v: Synchronized disagrees with MaxError", c)
	}
	t.Logf("this machine's clock: %+v", c)
}

func TestClockState(t *testing.T) {
	const (
		pll  = 0x1 // STA_PLL: a daemon disciplines the clock
		nano = 0x2000
	)
	tests := []struct {
		name       string
		status     int32
		maxErrorUS int64
		wantSync   bool
		wantUnsync bool
	}{
		// What timesyncd or chrony leave after a good update.
		{"synchronised", pll | nano, 12_000, true, false},
		// The kernel's state at boot, or after `date -s`: nothing
		// disciplines the clock, the error bound is at its limit.
		{"never synchronised", staUnsync, 16_000_000, false, true},
		// The kernel raises STA_UNSYNC itself when the bound reaches the
		// limit: hours without an update.
		{"synchronisation lost", pll | staUnsync, 16_000_000, false, true},
		// chrony without rtcsync keeps STA_UNSYNC set on purpose (so that
		// the kernel leaves the hardware clock alone): timedatectl says
		// synchronised, so do we.
		{"chrony without rtcsync", pll | staUnsync | nano, 350_000, true, true},
		{"just under the limit", pll, 15_999_999, true, false},
		{"at the limit without the bit", pll, 16_000_000, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clockState(tt.status, tt.maxErrorUS, 1000)
			if c.Synchronized != tt.wantSync || c.Unsync != tt.wantUnsync {
				t.Errorf("clockState(%#x, %d) = Synchronized %v, Unsync %v; want %v, %v", tt.status, tt.maxErrorUS, c.Synchronized, c.Unsync, tt.wantSync, tt.wantUnsync)
			}
			if c.MaxError != time.Duration(tt.maxErrorUS)*time.Microsecond || c.EstError != time.Millisecond {
				t.Errorf("MaxError, EstError = %v, %v", c.MaxError, c.EstError)
			}
			wantLevel := Warning
			if tt.wantSync {
				wantLevel = OK
			}
			if c.Level() != wantLevel {
				t.Errorf("Level() = %v, want %v", c.Level(), wantLevel)
			}
		})
	}
}
