//go:build !linux

package health

import (
	"errors"
	"io/fs"
)

// Ruche runs on Linux; elsewhere the probes that read the kernel say so
// instead of failing to build, so that the rest of the tree still compiles
// on a developer's laptop.

// Disk is not implemented outside Linux.
func Disk(path string) (DiskUsage, error) {
	return DiskUsage{Path: path}, &fs.PathError{Op: "statfs", Path: path, Err: errors.ErrUnsupported}
}

// Clock is not implemented outside Linux.
func Clock() (ClockState, error) { return ClockState{}, errors.ErrUnsupported }

// ReadMemory is not implemented outside Linux.
func ReadMemory() (Memory, error) { return Memory{}, errors.ErrUnsupported }

// TreeMemory is not implemented outside Linux.
func TreeMemory(pids []int) (map[int]uint64, error) { return nil, errors.ErrUnsupported }
