package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// syscallCount is how many system calls of each kind a server made while
// it answered a number of requests, counted by `strace -c -f`.
type syscallCount struct {
	requests int64
	calls    map[string]int64
	total    int64
	table    string // strace's own summary
}

// runtimeOnly are system calls of the Go runtime's own timing (sysmon's
// sleeps), not of serving: strace makes them more frequent per request, so
// they are left out of the counts.
var runtimeOnly = map[string]bool{"nanosleep": true}

// perRequest is the calls of name per request, or with name "" of all
// but runtimeOnly.
func (c syscallCount) perRequest(name string) float64 {
	if c.requests == 0 {
		return 0
	}
	if name == "" {
		n := c.total
		for r := range runtimeOnly {
			n -= c.calls[r]
		}
		return float64(n) / float64(c.requests)
	}
	return float64(c.calls[name]) / float64(c.requests)
}

// syncBuffer collects a process's output while this program reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// countSyscalls attaches strace to srv's threads, loads it for 3 s, and
// counts the system calls it made. strace slows the server down several
// times: only the counts per request mean anything.
func countSyscalls(ctx context.Context, strace string, srv *server, load loadSpec, out string) (syscallCount, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, strace, "-f", "-c", "-o", out, "-p", strconv.Itoa(srv.pid()))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return syscallCount{}, fmt.Errorf("strace: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() error {
		_ = cmd.Process.Signal(os.Interrupt) // strace detaches and prints its summary
		select {
		case <-done: // its exit status is that of the interrupt
			return nil
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("strace did not stop on SIGINT")
		}
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "attached"); {
		if time.Now().After(deadline) {
			stop()
			return syscallCount{}, fmt.Errorf("strace did not attach to %s (pid %d): %s", srv.name, srv.pid(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // every thread
	res, wout, err := load.run(ctx, srv.addr, 3*time.Second)
	serr := stop()
	if err != nil {
		return syscallCount{}, fmt.Errorf("load under strace: %w\n%s", err, wout)
	}
	if serr != nil {
		return syscallCount{}, serr
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return syscallCount{}, fmt.Errorf("strace summary: %w (%s)", err, stderr.String())
	}
	c := parseStrace(data)
	c.requests = res.Requests
	if c.total == 0 || c.requests == 0 {
		return c, fmt.Errorf("strace counted nothing for %s:\n%s", srv.name, data)
	}
	return c, nil
}

// parseStrace reads the table `strace -c` writes:
//
//	% time     seconds  usecs/call     calls    errors syscall
//	------ ----------- ----------- --------- --------- ----------------
//	 45.12    0.123456          12     10000           fcntl
func parseStrace(data []byte) syscallCount {
	c := syscallCount{calls: map[string]int64{}, table: string(data)}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasPrefix(f[0], "-") || f[0] == "%" {
			continue
		}
		name := f[len(f)-1]
		if name == "total" {
			continue
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			continue
		}
		c.calls[name] += n
		c.total += n
	}
	return c
}

// topSyscalls are the system calls made most per request by any of the
// servers, most first.
func topSyscalls(counts map[string]syscallCount, n int) []string {
	most := map[string]float64{}
	for _, c := range counts {
		for name := range c.calls {
			if runtimeOnly[name] {
				continue
			}
			most[name] = max(most[name], c.perRequest(name))
		}
	}
	var names []string
	for name, v := range most {
		if v >= 0.5 {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if most[names[i]] != most[names[j]] {
			return most[names[i]] > most[names[j]]
		}
		return names[i] < names[j]
	})
	if len(names) > n {
		names = names[:n]
	}
	return names
}
