package health

import (
	"net/netip"
	"testing"
)

func TestIsPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"80.67.169.12", true},
		{"2a01:e0a:1:2::3", true},
		{"::ffff:80.67.169.12", true},
		{"192.168.1.10", false},
		{"10.0.0.2", false},
		{"172.16.5.4", false},
		{"100.64.12.1", false}, // behind the provider's NAT
		{"127.0.0.1", false},
		{"169.254.1.1", false},
		{"192.0.2.2", false}, // documentation: labs and containers
		{"fd00::2", false},
		{"fe80::1", false},
		{"2001:db8::1", false},
		{"::1", false},
	}
	for _, tt := range tests {
		if got := IsPublic(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("IsPublic(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if _, err := PublicAddrs(); err != nil {
		t.Errorf("PublicAddrs: %v", err)
	}
}

func TestLevel(t *testing.T) {
	if Worst() != OK || Worst(OK, Problem, Warning) != Problem || Worst(Warning, OK) != Warning {
		t.Error("Worst does not pick the worst level")
	}
	for _, l := range []Level{OK, Warning, Problem} {
		b, _ := l.MarshalText()
		var back Level
		if err := back.UnmarshalText(b); err != nil || back != l {
			t.Errorf("%v: text %q reads back as %v, %v", l, b, back, err)
		}
	}
}
