package execsup

import "time"

// restartPolicy decides, crash after crash, how long to wait before starting
// a service again and when to give up. It holds no clock so that its
// arithmetic is tested on its own.
type restartPolicy struct {
	minWait, maxWait time.Duration
	reset            time.Duration
	limit            int
	window           time.Duration

	next    time.Duration // the last wait; 0 after a reset
	crashes []time.Time   // within window, oldest first
}

func newRestartPolicy(c config) *restartPolicy {
	return &restartPolicy{
		minWait: c.minBackoff,
		maxWait: c.maxBackoff,
		reset:   c.backoffReset,
		limit:   c.failLimit,
		window:  c.failWindow,
	}
}

// crashed records a crash at now of a child that had been up for uptime. It
// returns how long to wait before the next start, or giveUp when the
// service crashed limit times within window.
func (p *restartPolicy) crashed(now time.Time, uptime time.Duration) (wait time.Duration, giveUp bool) {
	// A child that stayed up a while was healthy: its crash is news, not
	// the next turn of a crash loop.
	if uptime >= p.reset {
		p.next = 0
	}
	kept := p.crashes[:0]
	for _, t := range p.crashes {
		if now.Sub(t) < p.window {
			kept = append(kept, t)
		}
	}
	p.crashes = append(kept, now)
	if p.limit > 0 && len(p.crashes) >= p.limit {
		return 0, true
	}
	if p.next == 0 {
		p.next = p.minWait
	} else {
		p.next = min(2*p.next, p.maxWait)
	}
	return p.next, false
}
