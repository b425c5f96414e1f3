package health

// Disk thresholds, in percent of the space an unprivileged process may use
// (what df shows as Use%).
//
// Warn at 85 %: on the small disks of refurbished machines (16 to 64 GB)
// that still leaves a few GB, time for a volunteer to react before the
// next backups and uploads eat it. Fail at 95 %: from there the box's own
// work starts failing — restic needs room for its cache and new packs
// before it can prune, SQLite needs room for its journal, Postfix refuses
// mail when its queue's disk is short (queue_minfree), and an ext4 root
// keeps its last 5 % for root only, so the non-root php-fpm workers of the
// wiki hit "disk full" first.
const (
	DiskWarnPercent = 85
	DiskFailPercent = 95
)

// DiskUsage is the space of the filesystem holding a path.
type DiskUsage struct {
	Path  string
	Total uint64 // bytes of the filesystem
	// Free is the bytes an unprivileged process may still write (f_bavail):
	// the space reserved for root is not counted, as df does not.
	Free uint64
	// Used is the bytes in use (blocks not free, root's reserve aside):
	// not Total-Free, which counts the reserve as used — 5 % of an ext4
	// disk, more on some.
	Used uint64
	// UsedPercent is df's Use%: used / (used + Free), so that 100 means
	// "full for everyone but root".
	UsedPercent float64
	// Inodes and InodesFree count files; a wiki's flat files can run out of
	// them before bytes. Zero on filesystems that do not count them.
	Inodes, InodesFree uint64
	// InodesUsedPercent is the part of Inodes in use.
	InodesUsedPercent float64
}

// Level judges the usage against the thresholds, bytes and files alike.
func (u DiskUsage) Level() Level {
	p := max(u.UsedPercent, u.InodesUsedPercent)
	switch {
	case p >= DiskFailPercent:
		return Problem
	case p >= DiskWarnPercent:
		return Warning
	}
	return OK
}

// diskUsage computes a DiskUsage from statfs counts: blocks in units of
// unit bytes, files in files.
func diskUsage(path string, unit, blocks, bfree, bavail, files, ffree uint64) DiskUsage {
	u := DiskUsage{
		Path:       path,
		Total:      blocks * unit,
		Free:       bavail * unit,
		Inodes:     files,
		InodesFree: ffree,
	}
	if bfree > blocks {
		bfree = blocks // never seen, but a negative "used" would wrap around
	}
	used := blocks - bfree
	u.Used = used * unit
	if used+bavail > 0 {
		u.UsedPercent = 100 * float64(used) / float64(used+bavail)
	}
	if files > 0 && ffree <= files {
		u.InodesUsedPercent = 100 * float64(files-ffree) / float64(files)
	}
	return u
}
