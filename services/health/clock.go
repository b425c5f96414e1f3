package health

import "time"

// MaxClockError is the kernel's NTP_PHASE_LIMIT: the largest error bound
// the kernel keeps (kernel/time/ntp.c). Nothing has disciplined the clock
// for hours when its maximum error has climbed to it.
const MaxClockError = 16 * time.Second

// staUnsync is the kernel's STA_UNSYNC status bit (include/uapi/linux/timex.h).
// Spelled out here so that the decoding below builds and is tested on any
// system; clock_linux.go checks it equals unix.STA_UNSYNC.
const staUnsync = 0x40

// ClockState is what the kernel says of its clock's synchronisation.
type ClockState struct {
	// Synchronized is what `timedatectl` shows as "System clock
	// synchronized" (systemd-timedated's NTPSynchronized): the kernel's
	// maximum error is below MaxClockError.
	Synchronized bool
	// MaxError is the kernel's bound on the clock's error; it grows by
	// 500 µs every second nothing corrects the clock.
	MaxError time.Duration
	// EstError is the error the time daemon estimated at its last update.
	EstError time.Duration
	// Unsync reports the STA_UNSYNC status bit. It is not the verdict:
	// chrony without rtcsync sets it on purpose (so that the kernel leaves
	// the hardware clock alone) while the clock is perfectly synchronised,
	// which is why systemd stopped reading it. Kept for diagnostics.
	Unsync bool
	// Status is the raw adjtimex status word, for diagnostics.
	Status int32
}

// Level is Warning when the clock is not synchronised: the box still works,
// but backup schedules, tickets' dates and HTTPS certificates' validity all
// read this clock.
func (c ClockState) Level() Level {
	if !c.Synchronized {
		return Warning
	}
	return OK
}

// clockState decodes adjtimex's status word and error bounds (in
// microseconds, as the kernel gives them).
//
// The verdict follows systemd-timedated's ntp_synced() (src/timedate/
// timedated.c, as in Debian 12's systemd 252: "maxerror < 16000000",
// ignoring STA_UNSYNC) so that `ruche doctor` and
// `timedatectl` never disagree on the same box. The kernel sets STA_UNSYNC
// itself whenever the maximum error reaches the limit, and a clock set by
// hand (date -s) gets both at once, so the two agree except for the chrony
// case described at ClockState.Unsync.
func clockState(status int32, maxErrorUS, estErrorUS int64) ClockState {
	c := ClockState{
		MaxError: time.Duration(maxErrorUS) * time.Microsecond,
		EstError: time.Duration(estErrorUS) * time.Microsecond,
		Unsync:   status&staUnsync != 0,
		Status:   status,
	}
	c.Synchronized = c.MaxError < MaxClockError
	return c
}
