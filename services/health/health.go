// Package health holds the box's small probes: disk space, the clock, and
// the DNS records that decide where a mail domain's mail goes. Each probe
// returns plain data and a Level, so that `ruche doctor`, the daemon's
// alerts, the panel's dashboard and tickets' diagnostic snapshots judge the
// box the same way. Probes read; they never change anything.
package health

import "fmt"

// Level is how a check came out.
type Level int

// Levels, from best to worst; a greater Level is worse, so the worst of a
// set is its maximum.
const (
	OK      Level = iota // nothing to do
	Warning              // works, but someone should look
	Problem              // something does not work, or will not soon
)

var levelNames = [...]string{OK: "ok", Warning: "warning", Problem: "problem"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelNames[l]
}

// MarshalText makes a Level "ok", "warning" or "problem" in JSON, for the
// panel and diagnostic snapshots.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (l *Level) UnmarshalText(b []byte) error {
	for i, name := range levelNames {
		if string(b) == name {
			*l = Level(i)
			return nil
		}
	}
	return fmt.Errorf("health: unknown level %q", b)
}

// Worst returns the worst of levels, OK for none.
func Worst(levels ...Level) Level {
	w := OK
	for _, l := range levels {
		w = max(w, l)
	}
	return w
}
