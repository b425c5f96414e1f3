package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sampleEvery is how often the restic processes' memory is read while a
// measured command runs: often enough to see the peak (VmHWM only grows,
// so a late sample misses only what grew in its last interval), rarely
// enough to cost nothing measurable.
const sampleEvery = 20 * time.Millisecond

// resticProc is one restic process seen during a measured command.
type resticProc struct {
	pid        int
	args       []string // its command line, without argv[0]
	hwmKiB     int64    // the largest VmHWM read
	seen, gone time.Time
}

// subcommand is the restic command this process runs ("backup", "init").
func (p *resticProc) subcommand() string { return resticSubcommand(p.args) }

// resticSubcommand finds the command in restic's arguments: the first one
// that is neither a global flag nor a flag's value.
func resticSubcommand(args []string) string {
	withValue := map[string]bool{"--password-file": true, "--cache-dir": true, "-o": true, "--option": true, "-r": true, "--repo": true, "--repository-file": true, "--password-command": true, "--tls-client-cert": true, "--cacert": true, "--limit-upload": true, "--limit-download": true, "--pack-size": true, "--compression": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a
		}
		if withValue[a] {
			i++
		}
	}
	return ""
}

// measured is one run of a measured command.
type measured struct {
	wall    time.Duration
	code    int
	stdout  []byte
	stderr  []byte
	restics []*resticProc // in the order they appeared
	// maxRSSKiB is the kernel's peak resident size of the direct child
	// (wait4's rusage): exact, but for a ruche process it also covers
	// its children, so only the plain restic's is used, as a check of
	// the samples.
	maxRSSKiB int64
}

// peakKiB is the largest VmHWM of the restic processes.
func (m *measured) peakKiB() int64 {
	var p int64
	for _, r := range m.restics {
		p = max(p, r.hwmKiB)
	}
	return p
}

// resticTime is how long the restic processes ran, per subcommand, as
// seen by the samples (first and last sample: within sampleEvery).
func (m *measured) resticTime() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, r := range m.restics {
		out[r.subcommand()] += r.gone.Sub(r.seen)
	}
	return out
}

// runMeasured runs argv in dir with env, timing it from start to exit, and
// samples the memory of restic: of the process itself when it is restic
// (children false), of the restic processes it starts when it is ruche
// (children true). The process dies with this program.
func runMeasured(ctx context.Context, argv, env []string, dir string, children bool) (*measured, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	m := &measured{}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	pid := cmd.Process.Pid
	seen := map[int]*resticProc{}
	sample := func(now time.Time) {
		if !children {
			if seen[pid] == nil {
				seen[pid] = &resticProc{pid: pid, args: argv[1:], seen: start}
				m.restics = append(m.restics, seen[pid])
			}
		} else {
			for _, c := range childrenOf(pid) {
				if seen[c] == nil {
					name, args := procName(c)
					if name != "restic" {
						continue
					}
					seen[c] = &resticProc{pid: c, args: args, seen: now}
					m.restics = append(m.restics, seen[c])
				}
			}
		}
		for _, r := range m.restics {
			if hwm, ok := vmHWM(r.pid); ok {
				r.hwmKiB = max(r.hwmKiB, hwm)
				r.gone = now
			}
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case now := <-tick.C:
			sample(now)
		}
	}
	m.wall = time.Since(start)
	m.stdout, m.stderr = stdout.Bytes(), stderr.Bytes()
	if cmd.ProcessState == nil {
		return m, fmt.Errorf("%s: %w", argv[0], err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSSKiB = ru.Maxrss
	}
	if !children && len(m.restics) > 0 {
		m.restics[0].gone = start.Add(m.wall)
	}
	m.code = cmd.ProcessState.ExitCode()
	if err != nil && m.code < 0 {
		return m, fmt.Errorf("%s: %w", argv[0], err)
	}
	return m, nil
}

// childrenOf lists the processes whose parent is pid. Only processes
// started after pid are read (pids grow; a wrap-around is not worth the
// cost of reading every process 50 times a second).
func childrenOf(pid int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	var out []int
	for _, n := range names {
		c, err := strconv.Atoi(n)
		if err != nil || c <= pid {
			continue
		}
		stat, err := os.ReadFile("/proc/" + n + "/stat")
		if err != nil {
			continue
		}
		if _, ppid, ok := parseStat(string(stat)); ok && ppid == pid {
			out = append(out, c)
		}
	}
	return out
}

// procName is a process's executable's base name and its arguments.
func procName(pid int) (string, []string) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return "", nil
	}
	f := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
	return filepath.Base(f[0]), f[1:]
}

// parseStat reads comm and the parent's pid from /proc/PID/stat; comm is
// in parentheses and may itself hold spaces or parentheses.
func parseStat(stat string) (name string, ppid int, ok bool) {
	open, closing := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || closing < open {
		return "", 0, false
	}
	f := strings.Fields(stat[closing+1:])
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return stat[open+1 : closing], ppid, err == nil
}

// vmHWM is the peak resident size of a process so far, in KiB
// (/proc/PID/status); false once it has exited.
func vmHWM(pid int) (int64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	return statusField(data, "VmHWM")
}

// statusField reads a line such as "VmHWM:  1234 kB" in KiB.
func statusField(status []byte, name string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// treeSize is the bytes and regular files under dir.
func treeSize(dir string) (files int, bytes int64) {
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			files++
			bytes += info.Size()
		}
		return nil
	})
	return files, bytes
}

// machine describes the CPU, cores, memory, OS, kernel and the file
// system the work folder is on.
func machine(work string) string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kib, ok := statusField(data, "MemTotal"); ok {
			mem = fmt.Sprintf(", %.0f GiB", float64(kib)/(1<<20))
		}
	}
	osName := "linux"
	if data, err := os.ReadFile("/etc/debian_version"); err == nil {
		osName = "Debian " + strings.TrimSpace(string(data))
	}
	kernel := ""
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%s (%d cores%s, %s%s, work folder on %s)", cpu, runtime.NumCPU(), mem, osName, kernel, fsOf(work))
}

// fsOf is the type and options of the file system holding path, from
// /proc/self/mountinfo (the longest mount point that is a prefix).
func fsOf(path string) string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "?"
	}
	best, desc := "", "?"
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || sep+2 >= len(f) {
			continue
		}
		mp := f[4]
		if (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best = mp
			desc = fmt.Sprintf("%s (%s, %s)", f[sep+1], mp, f[5])
		}
	}
	return desc
}
