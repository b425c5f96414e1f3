package panel

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Login throttling. Each login and each client address has a few free
// failures; after those every attempt must wait twice as long as the one
// before (1 s, 2 s, 4 s... up to 15 minutes). A volunteer who mistypes is
// never slowed down; a script guessing one account's password gets about
// a hundred tries a day. The counts live in memory: a restart forgets
// them, which costs an attacker a restart of the box per few guesses.
const (
	// loginFreeFailures are allowed per login before delays start.
	loginFreeFailures = 5
	// addrFreeFailures are allowed per client address: more, because the
	// association's shared computer is many people's.
	addrFreeFailures = 10
	throttleBase     = time.Second
	throttleMax      = 15 * time.Minute
	// throttleForget drops a key without failure for that long.
	throttleForget = time.Hour
	// throttleEntries bounds each map: someone trying a million made-up
	// logins must not fill the memory of a 1 GiB box.
	throttleEntries = 10000
)

// throttle counts login failures per key.
type throttle struct {
	mu   sync.Mutex
	free int
	m    map[string]*strikes
}

type strikes struct {
	n    int       // failures, counted from the attempt on
	last time.Time // of the last failure
}

func newThrottle(free int) *throttle {
	return &throttle{free: free, m: map[string]*strikes{}}
}

// delayAfter is how long the next attempt waits after n failures.
func (t *throttle) delayAfter(n int) time.Duration {
	if n < t.free {
		return 0
	}
	d := throttleBase
	for i := t.free; i < n && d < throttleMax; i++ {
		d *= 2
	}
	return min(d, throttleMax)
}

// wait is how long key must still wait before its next attempt.
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[key]
	if s == nil {
		return 0
	}
	if now.Sub(s.last) > throttleForget {
		delete(t.m, key)
		return 0
	}
	return max(0, s.last.Add(t.delayAfter(s.n)).Sub(now))
}

// fail counts a failure of key. Attempts are counted as failures when they
// start, and forgiven on success: parallel guesses cannot all slip in
// before the first one is counted.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[key]
	if s == nil {
		if len(t.m) >= throttleEntries {
			t.evict(now)
		}
		s = &strikes{}
		t.m[key] = s
	}
	s.n++
	s.last = now
}

// forgive takes back one failure of key (an attempt that succeeded).
func (t *throttle) forgive(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.m[key]; s != nil {
		if s.n--; s.n <= 0 {
			delete(t.m, key)
		}
	}
}

// reset forgets key (its password was right).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}

// evict makes room in a full map: stale keys first, else the key with the
// oldest failure. Called with mu held.
func (t *throttle) evict(now time.Time) {
	var oldest string
	var at time.Time
	for k, s := range t.m {
		if now.Sub(s.last) > throttleForget {
			delete(t.m, k)
			continue
		}
		if oldest == "" || s.last.Before(at) {
			oldest, at = k, s.last
		}
	}
	if len(t.m) >= throttleEntries {
		delete(t.m, oldest)
	}
}

// loginKey is the throttle's key for a login as typed: case and
// surrounding spaces do not make another key, and a long one is cut.
func loginKey(login string) string {
	k := strings.ToLower(strings.TrimSpace(login))
	if len(k) > 64 {
		k = k[:64]
	}
	return k
}

// addrKey is the throttle's key for a client: its IPv4 address, or the /64
// of its IPv6 address, since one machine gets a whole /64 and may pick any
// address in it.
func addrKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
