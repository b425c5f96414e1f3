package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/cmd/internal/benchenv"
)

// upProcess is the running `ruche up`, in a process group of its own.
type upProcess struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	log     *os.File
	done    chan struct{}
	waitErr error
	client  *http.Client
}

func startUp(bin, root, home, httpAddr, smtpAddr, pack, logPath string) (*upProcess, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "up", "--lang", "en", "--root", root, "--http", httpAddr, "--smtp", smtpAddr, pack)
	cmd.Stdout, cmd.Stderr = log, log
	// Nothing lands in the $HOME of whoever runs the benchmark.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start ruche up: %w", err)
	}
	u := &upProcess{cmd: cmd, addr: httpAddr, logPath: logPath, log: log, done: make(chan struct{}), client: newClient(httpAddr)}
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

// stop sends SIGTERM to ruche up (which stops php-fpm with it), then
// SIGKILL to its group after grace.
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

// newClient sends every request to addr, keep-alive, whatever the URL's
// host (which becomes the Host header).
func newClient(addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr)
			},
			MaxIdleConnsPerHost: 4,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// view GETs the wiki's start page; the body is read to its end, as a
// browser would.
func view(ctx context.Context, c *http.Client) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+wikiHost+"/", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// waitWiki polls the start page until it answers 200 (and, when notPID is
// not 0, php-fpm's master is another process than notPID) or within
// passes. It polls every 20 ms: the restart times it measures are a few
// hundred.
func (u *upProcess) waitWiki(ctx context.Context, within time.Duration, notPID int) error {
	deadline := time.Now().Add(within)
	var last string
	for {
		if u.exited() {
			return fmt.Errorf("ruche up exited (%v); its log:\n%s", u.waitErr, benchenv.Tail(u.logPath, 20))
		}
		code, err := view(ctx, u.client)
		if err == nil && code == http.StatusOK {
			if notPID == 0 {
				return nil
			}
			if m := u.master(); m != 0 && m != notPID {
				return nil
			}
		}
		last = fmt.Sprintf("status %d, %v", code, err)
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the wiki did not answer 200 on http://%s/ (Host %s) within %v: %s; ruche up's log:\n%s",
				u.addr, wikiHost, within, last, benchenv.Tail(u.logPath, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procInfo is one process of the machine.
type procInfo struct {
	pid, ppid int
	name      string // comm: "php-fpm8.2"
	cmdline   string // php-fpm sets its title: "php-fpm: master process (...)"
}

// processes lists the machine's processes from /proc.
func processes() []procInfo {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []procInfo
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		name, ppid, ok := parseStat(string(stat))
		if !ok {
			continue
		}
		cmdline, _ := os.ReadFile(d + "/cmdline")
		out = append(out, procInfo{pid: pid, ppid: ppid, name: name, cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))})
	}
	return out
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

// descendants are the processes under pid, in any depth.
func descendants(all []procInfo, pid int) []procInfo {
	children := map[int][]procInfo{}
	for _, p := range all {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var out []procInfo
	queue := []int{pid}
	for len(queue) > 0 && len(out) < len(all) {
		next := queue[0]
		queue = queue[1:]
		for _, c := range children[next] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// fpm are the php-fpm processes under ruche up, and how many others run
// on the machine (another box, a test): they share pages with these, which
// lowers these processes' PSS.
func (u *upProcess) fpmAndOthers() (ours []procInfo, others int) {
	all := processes()
	mine := map[int]bool{}
	for _, p := range descendants(all, u.cmd.Process.Pid) {
		if strings.HasPrefix(p.name, "php-fpm") {
			ours = append(ours, p)
			mine[p.pid] = true
		}
	}
	for _, p := range all {
		if strings.HasPrefix(p.name, "php-fpm") && !mine[p.pid] {
			others++
		}
	}
	return ours, others
}

func (u *upProcess) fpm() []procInfo {
	ours, _ := u.fpmAndOthers()
	return ours
}

// master is the pid of php-fpm's master process under ruche up, 0 when
// none runs.
func (u *upProcess) master() int {
	for _, p := range u.fpm() {
		if strings.HasPrefix(p.cmdline, "php-fpm: master process") {
			return p.pid
		}
	}
	return 0
}

// memory is the PSS and RSS of php-fpm's processes at one moment.
type memory struct {
	processes, workers int
	pssKiB, rssKiB     int64
	others             int // php-fpm processes on the machine not under ruche up
}

func (m memory) String() string {
	return fmt.Sprintf("%d processes (%d workers), PSS %.1f MiB, RSS %.1f MiB, %d other php-fpm processes on the machine",
		m.processes, m.workers, float64(m.pssKiB)/1024, float64(m.rssKiB)/1024, m.others)
}

// pss sums Pss and Rss over php-fpm's processes under ruche up.
func (u *upProcess) pss() (memory, error) {
	var m memory
	ours, others := u.fpmAndOthers()
	m.others = others
	for _, p := range ours {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p.pid))
		if err != nil {
			continue // a worker that stopped meanwhile
		}
		pss, ok := smapsField(data, "Pss")
		rss, ok2 := smapsField(data, "Rss")
		if !ok || !ok2 {
			return m, fmt.Errorf("no Pss or Rss line in /proc/%d/smaps_rollup", p.pid)
		}
		m.processes++
		if !strings.HasPrefix(p.cmdline, "php-fpm: master process") {
			m.workers++
		}
		m.pssKiB += pss
		m.rssKiB += rss
	}
	if m.processes == 0 {
		return m, fmt.Errorf("no php-fpm process under ruche up (pid %d)", u.cmd.Process.Pid)
	}
	return m, nil
}

// smapsField reads a line such as "Pss:  1234 kB" of smaps_rollup, in KiB.
func smapsField(smaps []byte, name string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// waitNoWorker waits for the pool to have stopped every worker and
// returns the memory then.
func (u *upProcess) waitNoWorker(ctx context.Context, within time.Duration) (memory, error) {
	deadline := time.Now().Add(within)
	for {
		m, err := u.pss()
		if err == nil && m.workers == 0 {
			return m, nil
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("php-fpm still had workers %v after the load (%v, %v)", within, m, err)
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return m, err
		}
	}
}

// loadResult is what the load did.
type loadResult struct {
	views, failed int
	took          time.Duration
	latencies     []time.Duration
}

func (l loadResult) rate() float64 { return float64(l.views) / l.took.Seconds() }

func (l loadResult) percentile(p float64) time.Duration {
	if len(l.latencies) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), l.latencies...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// load makes views views of the start page from clients clients in
// parallel, each with its own keep-alive connection, and samples the
// memory every 100 ms meanwhile; it returns the sample with the most PSS.
func (u *upProcess) load(ctx context.Context, views, clients int) (memory, loadResult, error) {
	var res loadResult
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		client := newClient(u.addr)
		wg.Go(func() {
			for {
				mu.Lock()
				if next >= views || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				t0 := time.Now()
				code, err := view(ctx, client)
				d := time.Since(t0)
				mu.Lock()
				res.views++
				res.latencies = append(res.latencies, d)
				if err != nil || code != http.StatusOK {
					res.failed++
				}
				mu.Unlock()
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	var peak memory
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			res.took = time.Since(start)
			if peak.processes == 0 {
				return peak, res, fmt.Errorf("the load ended before a memory sample (%v)", res.took)
			}
			return peak, res, ctx.Err()
		case <-tick.C:
			if m, err := u.pss(); err == nil && m.pssKiB > peak.pssKiB {
				peak = m
			}
		}
	}
}

// killMaster sends SIGKILL to php-fpm's master and returns the time until
// the wiki answers 200 again from a new master.
func (u *upProcess) killMaster(ctx context.Context, within time.Duration) (time.Duration, error) {
	pid := u.master()
	if pid == 0 {
		return 0, fmt.Errorf("no php-fpm master under ruche up")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, err
	}
	killed := time.Now()
	if err := u.waitWiki(ctx, within, pid); err != nil {
		return 0, err
	}
	return time.Since(killed), nil
}

// debVersion is an installed Debian package's version.
func debVersion(ctx context.Context, pkg string) string {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil || len(out) == 0 {
		return "?"
	}
	return string(out)
}
