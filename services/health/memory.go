package health

// Memory thresholds, in percent of the machine's memory in use (what is
// not MemAvailable). A box of 1 GiB runs php-fpm, Postfix, Caddy and
// restic: warn at 90 % used (about 100 MB left, less than one restic
// prune needs), problem at 97 % (the kernel is about to kill something).
const (
	MemoryWarnPercent = 90
	MemoryFailPercent = 97
)

// Memory is the machine's memory as the kernel counts it.
type Memory struct {
	Total uint64 // bytes (MemTotal)
	// Available is what new work may still take without swapping
	// (MemAvailable): free memory plus the caches the kernel can drop.
	Available uint64
}

// UsedPercent is the part of Total not available.
func (m Memory) UsedPercent() float64 {
	if m.Total == 0 || m.Available > m.Total {
		return 0
	}
	return 100 * float64(m.Total-m.Available) / float64(m.Total)
}

// Level judges the memory in use against the thresholds.
func (m Memory) Level() Level {
	switch p := m.UsedPercent(); {
	case p >= MemoryFailPercent:
		return Problem
	case p >= MemoryWarnPercent:
		return Warning
	}
	return OK
}
