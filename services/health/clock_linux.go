package health

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The decoding in clock.go spells STA_UNSYNC out; this fails to build if
// the kernel's value ever differs.
var _ = [1]struct{}{}[staUnsync^unix.STA_UNSYNC]

// Clock reads the kernel clock's synchronisation state. adjtimex with no
// mode bits set only reads: it needs no privilege and changes nothing.
func Clock() (ClockState, error) {
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		return ClockState{}, fmt.Errorf("adjtimex: %w", err)
	}
	return clockState(tx.Status, int64(tx.Maxerror), int64(tx.Esterror)), nil
}
