package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// upProcess is the running `ruche up`, in a process group of its own.
type upProcess struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	log     *os.File
	done    chan struct{}
	waitErr error
}

// benchEnv is the environment of every ruche the benchmark runs: nothing
// lands in the $HOME of whoever runs it.
func benchEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home)
}

// runRuche runs one ruche command to its end, stdin as its input.
func runRuche(ctx context.Context, bin, home, stdin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = benchEnv(home)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ruche %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func startUp(bin, root, home, httpAddr, smtpAddr, pack, logPath string) (*upProcess, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "up", "--lang", "en", "--root", root, "--http", httpAddr, "--smtp", smtpAddr, pack)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = benchEnv(home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start ruche up: %w", err)
	}
	u := &upProcess{cmd: cmd, addr: httpAddr, logPath: logPath, log: log, done: make(chan struct{})}
	go func() {
		u.waitErr = cmd.Wait()
		close(u.done)
	}()
	return u, nil
}

func (u *upProcess) exited() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to ruche up, then SIGKILL to its group after grace.
func (u *upProcess) stop(grace time.Duration) {
	pid := u.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-u.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-u.done
	}
	u.log.Close()
}

// memory is the RSS and PSS of ruche up and the processes under it at one
// moment.
type memory struct {
	processes      int
	pssKiB, rssKiB int64
	hwmKiB         int64 // ruche up's own peak RSS so far (VmHWM)
}

// measure sums Rss and Pss of /proc/PID/smaps_rollup over ruche up and its
// descendants.
func (u *upProcess) measure() (memory, error) {
	var m memory
	pids := append([]int{u.cmd.Process.Pid}, descendants(processes(), u.cmd.Process.Pid)...)
	for i, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			if i == 0 {
				return m, err
			}
			continue // a child that ended meanwhile
		}
		pss, ok := smapsField(data, "Pss")
		rss, ok2 := smapsField(data, "Rss")
		if !ok || !ok2 {
			return m, fmt.Errorf("no Pss or Rss line in /proc/%d/smaps_rollup", pid)
		}
		m.processes++
		m.pssKiB += pss
		m.rssKiB += rss
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", u.cmd.Process.Pid)); err == nil {
		m.hwmKiB, _ = smapsField(st, "VmHWM")
	}
	return m, nil
}

// smapsField reads a line such as "Pss:  1234 kB" (smaps_rollup, status),
// in KiB.
func smapsField(data []byte, name string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// processes maps each process of the machine to its parent, from /proc.
func processes() map[int]int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	parent := map[int]int{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		if ppid, ok := parentOf(string(stat)); ok {
			parent[pid] = ppid
		}
	}
	return parent
}

// parentOf reads the parent's pid from /proc/PID/stat; comm, before it, is
// in parentheses and may itself hold spaces or parentheses.
func parentOf(stat string) (int, bool) {
	closing := strings.LastIndexByte(stat, ')')
	if closing < 0 {
		return 0, false
	}
	f := strings.Fields(stat[closing+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// descendants are the pids under pid, in any depth.
func descendants(parent map[int]int, pid int) []int {
	children := map[int][]int{}
	for c, p := range parent {
		children[p] = append(children[p], c)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < len(parent) {
		next := queue[0]
		queue = queue[1:]
		out = append(out, children[next]...)
		queue = append(queue, children[next]...)
	}
	return out
}
