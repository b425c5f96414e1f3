package health

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// Disk returns the usage of the filesystem that holds path.
func Disk(path string) (DiskUsage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return DiskUsage{Path: path}, &fs.PathError{Op: "statfs", Path: path, Err: err}
	}
	// f_blocks, f_bfree and f_bavail count fragments of f_frsize bytes
	// (statfs(2)); f_bsize is only the preferred I/O size. Kernels that
	// leave f_frsize at zero mean f_bsize.
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	return diskUsage(path, unit, st.Blocks, st.Bfree, st.Bavail, st.Files, st.Ffree), nil
}
