package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one server under test: `ruche up` or Debian's caddy, started
// under taskset in a process group of its own, so that stopping it also
// stops anything it started.
type server struct {
	name string // "ruche" or "caddy"
	addr string // loopback host:port
	cmd  *exec.Cmd
	log  *os.File

	done    chan struct{} // closed when the process has been waited for
	waitErr error
}

// procs are the processes this run started and has not stopped yet.
var procs = struct {
	sync.Mutex
	m map[*server]bool
}{m: map[*server]bool{}}

// startServer starts argv pinned to cpu, logging to logPath.
func startServer(name, addr, cpu, logPath string, env []string, argv ...string) (*server, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpu}, argv...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// If this program dies without its cleanup (SIGKILL), the server
		// does not outlive it. taskset execs the server: it keeps this.
		Pdeathsig: syscall.SIGKILL,
	}
	s := &server{name: name, addr: addr, cmd: cmd, log: log, done: make(chan struct{})}
	procs.Lock()
	defer procs.Unlock()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	procs.m[s] = true
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitReady polls host/path until it answers 200, the process exits or
// the time is up.
func (s *server) waitReady(ctx context.Context, host, path string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last string
	for {
		if s.exited() {
			return fmt.Errorf("%s exited before it served (%v); its log: %s\n%s", s.name, s.waitErr, s.log.Name(), tail(s.log.Name(), 20))
		}
		code, _, _, err := fetch(ctx, s.addr, host, path)
		if err == nil && code == http.StatusOK {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("status %d", code)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s did not answer 200 on http://%s%s (Host %s) within %v: %s; its log: %s\n%s",
				s.name, s.addr, path, host, within, last, s.log.Name(), tail(s.log.Name(), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after grace, and
// checks that nothing of the group is left.
func (s *server) stop(grace time.Duration) error {
	procs.Lock()
	delete(procs.m, s)
	procs.Unlock()
	pgid := s.pid()
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
	s.log.Close()
	// The leader is gone; children it may have started must be too.
	for i := 0; i < 50; i++ {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		if i == 10 {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s: processes of group %d still running", s.name, pgid)
}

// stopAll stops every server still running: the cleanup that runs on
// every way out of the program.
func stopAll() {
	procs.Lock()
	var left []*server
	for s := range procs.m {
		left = append(left, s)
	}
	procs.Unlock()
	for _, s := range left {
		if err := s.stop(15 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "benchweb:", err)
		}
	}
}

// procStatus is what /proc/PID/status says about memory and CPU placement.
type procStatus struct {
	Name       string
	RSSKiB     int64 // VmRSS
	HWMKiB     int64 // VmHWM, the peak of VmRSS
	CPUs       string
	ThreadsNum int
}

func readStatus(pid int) (procStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStatus{}, err
	}
	defer f.Close()
	var st procStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		kib := func() int64 {
			n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
			return n
		}
		switch k {
		case "Name":
			st.Name = v
		case "VmRSS":
			st.RSSKiB = kib()
		case "VmHWM":
			st.HWMKiB = kib()
		case "Cpus_allowed_list":
			st.CPUs = v
		case "Threads":
			st.ThreadsNum, _ = strconv.Atoi(v)
		}
	}
	if st.RSSKiB == 0 {
		return st, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return st, sc.Err()
}

var client = &http.Client{
	Timeout: 5 * time.Second,
	// Redirects are answers to compare, not to follow.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableCompression: true, Proxy: nil},
}

// fetch gets path on addr with the Host header host.
func fetch(ctx context.Context, addr, host, path string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, err
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// tail is the last n lines of a file, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cpuTicks is the user and system CPU time of a process so far, in clock
// ticks (/proc/PID/stat fields 14 and 15).
func cpuTicks(pid int) (user, sys int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name, in parentheses, may hold spaces: count after it.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if user, err = strconv.ParseInt(f[11], 10, 64); err != nil {
		return 0, 0, err
	}
	sys, err = strconv.ParseInt(f[12], 10, 64)
	return user, sys, err
}
