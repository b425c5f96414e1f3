package health

import (
	"errors"

	"github.com/prometheus/procfs"
)

// ReadMemory reads the machine's memory from /proc/meminfo.
func ReadMemory() (Memory, error) {
	p, err := procfs.NewDefaultFS()
	if err != nil {
		return Memory{}, err
	}
	mi, err := p.Meminfo()
	if err != nil {
		return Memory{}, err
	}
	if mi.MemTotalBytes == nil || mi.MemAvailableBytes == nil {
		return Memory{}, errors.New("/proc/meminfo: no MemTotal or MemAvailable")
	}
	return Memory{Total: *mi.MemTotalBytes, Available: *mi.MemAvailableBytes}, nil
}

// TreeMemory is the memory of each process of pids with all its
// descendants, in bytes: their proportional set sizes (PSS), so that the
// pages php-fpm's workers share with their master count once, not once
// per worker as RSS would. A process gone meanwhile counts nothing; RSS
// stands in where smaps_rollup cannot be read (another user's process
// when not root).
func TreeMemory(pids []int) (map[int]uint64, error) {
	p, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, err
	}
	procs, err := p.AllProcs()
	if err != nil {
		return nil, err
	}
	parent := map[int]int{}
	own := map[int]uint64{}
	for _, pr := range procs {
		st, err := pr.Stat()
		if err != nil {
			continue // gone
		}
		parent[pr.PID] = st.PPID
		own[pr.PID] = uint64(st.ResidentMemory())
	}
	out := map[int]uint64{}
	for pid, top := range treeOf(parent, pids) {
		size := own[pid]
		if pr, err := p.Proc(pid); err == nil {
			if r, err := pr.ProcSMapsRollup(); err == nil && r.Pss > 0 {
				size = r.Pss
			}
		}
		out[top] += size
	}
	return out, nil
}

// treeOf maps each process of parent (pid → parent pid) to the nearest of
// pids among itself and its ancestors; processes under none are left out.
func treeOf(parent map[int]int, pids []int) map[int]int {
	wanted := map[int]bool{}
	for _, pid := range pids {
		if pid > 0 {
			wanted[pid] = true
		}
	}
	out := map[int]int{}
	for pid := range parent {
		// Bounded: a chain of parents is no longer than the processes.
		cur := pid
		for range len(parent) {
			if wanted[cur] {
				out[pid] = cur
				break
			}
			next, ok := parent[cur]
			if !ok || next <= 1 || next == cur {
				break
			}
			cur = next
		}
	}
	return out
}
