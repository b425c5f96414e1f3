package execsup

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// The tests run real children: /bin/sh scripts, and this test binary itself
// as a stand-in for ruche (see TestMain).

const helperEnv = "EXECSUP_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "supervise" {
		helperSupervise()
		return
	}
	os.Exit(m.Run())
}

// helperSupervise plays ruche: it supervises the script named by argv and
// waits to be killed.
func helperSupervise() {
	root := os.Getenv("EXECSUP_ROOT")
	s := New(root, nil)
	spec := provision.ServiceSpec{Name: "orphan", Command: []string{"/bin/sh", os.Getenv("EXECSUP_SCRIPT")}}
	if err := s.Ensure(context.Background(), []provision.ServiceSpec{spec}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	time.Sleep(time.Hour) // until the test kills it
}

// wait is how long any condition may take to come true: generous, since
// the machine is shared and the tests run with -race.
const wait = 10 * time.Second

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, still waiting for %s", wait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer collects a logger's output from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	t    *testing.T
	root string
	sup  *Supervisor
	logs *lockedBuffer
}

// newFixture returns a supervisor under a fresh root, shut down when the
// test ends whatever happened, so that no test leaves a process behind.
func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	return newFixtureIn(t, t.TempDir(), opts...)
}

func newFixtureIn(t *testing.T, root string, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{t: t, root: root, logs: &lockedBuffer{}}
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]Option{WithBackoff(10*time.Millisecond, 100*time.Millisecond), WithStopTimeout(2 * time.Second)}, opts...)
	f.sup = New(f.root, logger, opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := f.sup.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("supervisor log:\n%s", f.logs.String())
		}
	})
	return f
}

// script writes a /bin/sh script under the root and returns the spec that
// runs it. Running it through /bin/sh rather than exec'ing the file avoids
// "text file busy" when another test forks while it is being written.
func (f *fixture) script(name, body string, env ...string) provision.ServiceSpec {
	f.t.Helper()
	path := filepath.Join(f.root, name+".sh")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return provision.ServiceSpec{Name: name, Command: []string{"/bin/sh", path}, Env: env}
}

func (f *fixture) path(name string) string { return filepath.Join(f.root, name) }

func (f *fixture) ensure(specs ...provision.ServiceSpec) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := f.sup.Ensure(ctx, specs); err != nil {
		f.t.Fatalf("Ensure: %v", err)
	}
}

func (f *fixture) shutdown() time.Duration {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	if err := f.sup.Shutdown(ctx); err != nil {
		f.t.Fatalf("Shutdown: %v", err)
	}
	return time.Since(start)
}

func (f *fixture) status(name string) provision.ServiceStatus {
	for _, st := range f.sup.Status() {
		if st.Name == name {
			return st
		}
	}
	return provision.ServiceStatus{}
}

func (f *fixture) waitState(name string, state provision.ServiceState) provision.ServiceStatus {
	f.t.Helper()
	var st provision.ServiceStatus
	waitFor(f.t, fmt.Sprintf("%s to be %s", name, state), func() bool {
		st = f.status(name)
		return st.State == state
	})
	return st
}

// readPID waits for a script to write a PID into file.
func (f *fixture) readPID(file string) int {
	f.t.Helper()
	var pid int
	waitFor(f.t, "a pid in "+file, func() bool {
		b, err := os.ReadFile(f.path(file))
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

func (f *fixture) waitFile(file, want string) {
	f.t.Helper()
	waitFor(f.t, fmt.Sprintf("%q in %s", want, file), func() bool {
		b, _ := os.ReadFile(f.path(file))
		return strings.Contains(string(b), want)
	})
}

// proc is what /proc/<pid>/stat says of a process.
type proc struct {
	pid, ppid, pgrp int
	state           string
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 3 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	pgrp, _ := strconv.Atoi(fields[2])
	return proc{pid: pid, ppid: ppid, pgrp: pgrp, state: fields[0]}, true
}

func allProcs(t *testing.T) []proc {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var ps []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// zombieChildren lists this test process's children that died unreaped.
func zombieChildren(t *testing.T) []proc {
	var zs []proc
	for _, p := range allProcs(t) {
		if p.ppid == os.Getpid() && p.state == "Z" {
			zs = append(zs, p)
		}
	}
	return zs
}

// gone reports whether pid no longer runs. A zombie counts as gone when it
// is no longer ours: killed grandchildren are reparented to init, which
// reaps them in its own time.
func gone(pid int) bool {
	p, ok := readProc(pid)
	return !ok || (p.state == "Z" && p.ppid != os.Getpid())
}

// aliveInGroup lists live processes in process group pgrp.
func aliveInGroup(t *testing.T, pgrp int) []proc {
	var ps []proc
	for _, p := range allProcs(t) {
		if p.pgrp == pgrp && !gone(p.pid) {
			ps = append(ps, p)
		}
	}
	return ps
}

func TestCrashingChildIsRestartedWithBackoff(t *testing.T) {
	var mu sync.Mutex
	var restarts []time.Time
	f := newFixture(t,
		WithBackoff(20*time.Millisecond, 400*time.Millisecond),
		WithFailLimit(0, 0),
		OnRestart(func(name string) {
			if name != "crasher" {
				t.Errorf("OnRestart(%q), want crasher", name)
			}
			mu.Lock()
			restarts = append(restarts, time.Now())
			mu.Unlock()
		}))
	f.ensure(f.script("crasher", "echo crashing\nexit 3\n"))

	const n = 7
	waitFor(t, fmt.Sprintf("%d restarts", n), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(restarts) >= n
	})
	st := f.status("crasher")
	if st.Restarts < n {
		t.Errorf("Restarts = %d, want >= %d", st.Restarts, n)
	}
	if st.LastExit != "exit status 3" {
		t.Errorf("LastExit = %q, want %q", st.LastExit, "exit status 3")
	}

	mu.Lock()
	times := slices.Clone(restarts[:n])
	mu.Unlock()
	// Between restart i and i+1 the child ran, crashed, and the supervisor
	// waited backoff i+1: 40ms, 80ms, 160ms, 320ms, then 400ms (the
	// ceiling). Waits are lower bounds; the machine may add to them.
	var gaps []time.Duration
	for i := 1; i < n; i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	t.Logf("gaps between restarts: %v", gaps)
	backoff := 20 * time.Millisecond
	for i, g := range gaps {
		backoff = min(2*backoff, 400*time.Millisecond)
		if g < backoff {
			t.Errorf("gap %d = %v, want >= %v", i, g, backoff)
		}
	}
	if first, last := gaps[0], gaps[len(gaps)-1]; first >= last {
		t.Errorf("gaps do not grow: first %v, last %v", first, last)
	}
}

func TestFailsAfterTooManyCrashesUntilRestart(t *testing.T) {
	f := newFixture(t, WithBackoff(10*time.Millisecond, 10*time.Millisecond), WithFailLimit(3, time.Minute))
	f.ensure(f.script("flaky",
		`if [ -e "$OK" ]; then echo $$ > pid; exec sleep 1000; fi
exit 1
`, "OK="+f.path("ok")))

	st := f.waitState("flaky", provision.StateFailed)
	if st.Restarts != 2 || st.PID != 0 || st.LastExit != "exit status 1" {
		t.Errorf("failed status = %+v, want 2 restarts, no pid, exit status 1", st)
	}
	// Failed stays failed: no more restarts.
	time.Sleep(100 * time.Millisecond)
	if got := f.status("flaky"); got.State != provision.StateFailed || got.Restarts != 2 {
		t.Errorf("after a while: %+v, want still failed with 2 restarts", got)
	}

	if err := os.WriteFile(f.path("ok"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.sup.Restart(context.Background(), "flaky"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	st = f.waitState("flaky", provision.StateRunning)
	if pid := f.readPID("pid"); st.PID != pid {
		t.Errorf("PID = %d, the child says %d", st.PID, pid)
	}
	if st.Restarts != 2 {
		t.Errorf("Restarts = %d after a manual restart, want still 2", st.Restarts)
	}
}

func TestShutdownKillsChildIgnoringTERM(t *testing.T) {
	f := newFixture(t)
	stubborn := f.script("stubborn", `trap '' TERM
sleep 1000 &
echo $! > stubborn-worker
wait
`)
	stubborn.StopTimeout = 1
	polite := f.script("polite", "sleep 1000 &\nwait\n")
	f.ensure(stubborn, polite)
	f.waitState("polite", provision.StateRunning)
	pid := f.waitState("stubborn", provision.StateRunning).PID
	worker := f.readPID("stubborn-worker")

	took := f.shutdown()
	t.Logf("Shutdown took %v", took)
	if took < 900*time.Millisecond || took > 5*time.Second {
		t.Errorf("Shutdown took %v, want about the 1s grace period", took)
	}
	for name, exit := range map[string]string{"stubborn": "signal: killed", "polite": "signal: terminated"} {
		st := f.status(name)
		if st.State != provision.StateStopped || st.LastExit != exit || st.PID != 0 {
			t.Errorf("%s: %+v, want stopped by %q", name, st, exit)
		}
	}
	if !gone(pid) {
		t.Errorf("stubborn pid %d still there", pid)
	}
	waitFor(t, "the stubborn worker to be gone", func() bool { return gone(worker) })
}

func TestShutdownLeavesNoZombie(t *testing.T) {
	f := newFixture(t, WithStopTimeout(300*time.Millisecond), WithBackoff(50*time.Millisecond, time.Second), WithFailLimit(0, 0))
	var specs []provision.ServiceSpec
	// Services with workers in their process group, one deaf to TERM, one
	// whose main process exits and leaves its worker behind, one crashing.
	for _, name := range []string{"web", "mail", "deaf", "leaver", "crash"} {
		body := fmt.Sprintf("sleep 1000 &\necho $! > %s-worker\nsleep 1000 &\nwait\n", name)
		switch name {
		case "deaf":
			body = "trap '' TERM\n" + body
		case "leaver":
			body = fmt.Sprintf("sleep 1000 &\necho $! > %s-worker\nexit 0\n", name)
		case "crash":
			body = "exit 7\n"
		}
		specs = append(specs, f.script(name, body))
	}
	f.ensure(specs...)

	groups := map[string]int{}
	for _, name := range []string{"web", "mail", "deaf"} {
		groups[name] = f.waitState(name, provision.StateRunning).PID
	}
	var workers []int
	for _, name := range []string{"web", "mail", "deaf", "leaver"} {
		workers = append(workers, f.readPID(name+"-worker"))
	}
	waitFor(t, "crash to have been restarted", func() bool { return f.status("crash").Restarts >= 2 })

	f.shutdown()
	if zs := zombieChildren(t); len(zs) > 0 {
		t.Errorf("zombie children after Shutdown: %+v", zs)
	}
	for _, st := range f.sup.Status() {
		if st.State != provision.StateStopped {
			t.Errorf("%s: %s, want stopped", st.Name, st.State)
		}
	}
	waitFor(t, "every worker to be gone", func() bool {
		for _, w := range workers {
			if !gone(w) {
				return false
			}
		}
		return true
	})
	for name, pgrp := range groups {
		if ps := aliveInGroup(t, pgrp); len(ps) > 0 {
			t.Errorf("%s: processes left in its group: %+v", name, ps)
		}
	}
}

func TestCrashKillsLeftoverWorkers(t *testing.T) {
	f := newFixture(t, WithBackoff(5*time.Second, 5*time.Second))
	// The main process dies and leaves a worker that would run for ever.
	f.ensure(f.script("leaver", "sleep 1000 &\necho $! > worker\nexit 2\n"))
	worker := f.readPID("worker")
	f.waitState("leaver", provision.StateBackoff)
	waitFor(t, "the leftover worker to be killed", func() bool { return gone(worker) })
	if zs := zombieChildren(t); len(zs) > 0 {
		t.Errorf("zombie children: %+v", zs)
	}
}

func TestChildDiesWithSupervisor(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "orphan.sh")
	if err := os.WriteFile(script, []byte("echo $$ > \"$0.pid.tmp\"\nmv \"$0.pid.tmp\" \"$0.pid\"\nexec sleep 1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ruche := exec.Command(os.Args[0])
	ruche.Env = append(os.Environ(), helperEnv+"=supervise", "EXECSUP_ROOT="+dir, "EXECSUP_SCRIPT="+script)
	ruche.Stderr = os.Stderr
	if err := ruche.Start(); err != nil {
		t.Fatal(err)
	}
	defer ruche.Process.Kill()
	var pid int
	waitFor(t, "the supervised child's pid", func() bool {
		b, err := os.ReadFile(script + ".pid")
		if err == nil {
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		return err == nil && pid > 0
	})
	if p, ok := readProc(pid); !ok || p.ppid != ruche.Process.Pid {
		t.Fatalf("child %d: %+v, want a child of the helper %d", pid, p, ruche.Process.Pid)
	}

	// ruche dies without a chance to stop anything.
	if err := ruche.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = ruche.Wait()
	waitFor(t, "the child to die with its supervisor", func() bool { return gone(pid) })
}

func TestEnsureAddsRemovesChanges(t *testing.T) {
	f := newFixture(t)
	body := "sleep 1000 &\nwait\n"
	a, b := f.script("a", body), f.script("b", body)
	f.ensure(a, b)
	pidA := f.waitState("a", provision.StateRunning).PID
	pidB := f.waitState("b", provision.StateRunning).PID

	// The same specs, in other slices and order: nothing restarts.
	a2 := a
	a2.Command = slices.Clone(a.Command)
	a2.Env = []string{}
	f.ensure(b, a2)
	if got := f.status("a").PID; got != pidA {
		t.Errorf("a restarted by an unchanged Ensure: pid %d, was %d", got, pidA)
	}
	if got := f.status("b").PID; got != pidB {
		t.Errorf("b restarted by an unchanged Ensure: pid %d, was %d", got, pidB)
	}

	// a changes, b goes, c comes.
	a3 := a
	a3.Env = []string{"VERSION=2"}
	c := f.script("c", body)
	f.ensure(a3, c)
	var names []string
	for _, st := range f.sup.Status() {
		names = append(names, st.Name)
	}
	if want := []string{"a", "c"}; !slices.Equal(names, want) {
		t.Errorf("Status names = %v, want %v", names, want)
	}
	st := f.waitState("a", provision.StateRunning)
	if st.PID == pidA {
		t.Errorf("a not restarted after its spec changed")
	}
	if st.Restarts != 0 {
		t.Errorf("a: Restarts = %d after a change, want 0 (not a crash)", st.Restarts)
	}
	f.waitState("c", provision.StateRunning)
	waitFor(t, "b's process to be gone", func() bool { return gone(pidB) && gone(pidA) })

	f.ensure()
	if sts := f.sup.Status(); len(sts) != 0 {
		t.Errorf("Status after Ensure(nothing) = %+v, want none", sts)
	}
}

func TestEnsureRejectsBadSpecs(t *testing.T) {
	good := provision.ServiceSpec{Name: "ok", Command: []string{"/bin/sleep", "1000"}}
	tests := []struct {
		name string
		spec provision.ServiceSpec
		want string
	}{
		{"no command", provision.ServiceSpec{Name: "x"}, "no command"},
		{"relative command", provision.ServiceSpec{Name: "x", Command: []string{"sleep"}}, "not an absolute path"},
		{"bad name", provision.ServiceSpec{Name: "X/y", Command: []string{"/bin/true"}}, "[a-z0-9-]"},
		{"duplicate", good, "used twice"},
		{"bad signal", provision.ServiceSpec{Name: "x", Command: []string{"/bin/true"}, ReloadSignal: "HUPP"}, `unknown signal "HUPP"`},
		{"escaping dir", provision.ServiceSpec{Name: "x", Command: []string{"/bin/true"}, Dir: "../etc"}, "not a path inside the root"},
		{"bad env", provision.ServiceSpec{Name: "x", Command: []string{"/bin/true"}, Env: []string{"NOEQUALS"}}, "KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			err := f.sup.Ensure(context.Background(), []provision.ServiceSpec{good, tt.spec})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Ensure: got %v, want an error with %q", err, tt.want)
			}
			if sts := f.sup.Status(); len(sts) != 0 {
				t.Errorf("a rejected Ensure started %+v", sts)
			}
		})
	}
}

func TestReloadSignalReachesChild(t *testing.T) {
	f := newFixture(t)
	spec := f.script("hupper", `trap 'echo hup >> "$OUT"' HUP
echo ready > "$READY"
while :; do sleep 0.1; done
`, "OUT="+f.path("hups"), "READY="+f.path("ready"))
	spec.ReloadSignal = "HUP"
	f.ensure(spec)
	pid := f.waitState("hupper", provision.StateRunning).PID
	f.waitFile("ready", "ready") // the trap is set

	for i := range 2 {
		if err := f.sup.Reload(context.Background(), "hupper"); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		f.waitFile("hups", strings.Repeat("hup\n", i+1))
	}
	if st := f.status("hupper"); st.PID != pid || st.State != provision.StateRunning {
		t.Errorf("after Reload: %+v, want still running as pid %d", st, pid)
	}
}

func TestReloadCommand(t *testing.T) {
	f := newFixture(t)
	if err := os.Mkdir(f.path("work"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := f.script("svc", "sleep 1000 &\nwait\n", "WHO=svc")
	spec.Dir = "work"
	spec.ReloadCommand = []string{"/bin/sh", "-c", `echo "reloaded $WHO" > reloaded; echo done reloading`}
	broken := f.script("broken", "sleep 1000 &\nwait\n")
	broken.ReloadCommand = []string{"/bin/sh", "-c", "echo config is wrong >&2; exit 2"}
	f.ensure(spec, broken)
	pid := f.waitState("svc", provision.StateRunning).PID
	f.waitState("broken", provision.StateRunning)

	if err := f.sup.Reload(context.Background(), "svc"); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	f.waitFile("work/reloaded", "reloaded svc")
	if got := f.status("svc").PID; got != pid {
		t.Errorf("Reload restarted the service: pid %d, was %d", got, pid)
	}
	f.waitFile(LogDir+"/svc.log", "done reloading")

	err := f.sup.Reload(context.Background(), "broken")
	if err == nil || !strings.Contains(err.Error(), "config is wrong") || !strings.Contains(err.Error(), "exit status 2") {
		t.Errorf("Reload(broken) = %v, want its exit status and output", err)
	}
}

func TestReloadWithoutMethodRestarts(t *testing.T) {
	f := newFixture(t)
	f.ensure(f.script("plain", "sleep 1000 &\nwait\n"))
	pid := f.waitState("plain", provision.StateRunning).PID
	if err := f.sup.Reload(context.Background(), "plain"); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	st := f.waitState("plain", provision.StateRunning)
	if st.PID == pid {
		t.Errorf("Reload did not restart: pid still %d", pid)
	}
	if st.Restarts != 0 {
		t.Errorf("Restarts = %d, want 0: a reload is not a crash", st.Restarts)
	}
	if err := f.sup.Reload(context.Background(), "nope"); err == nil {
		t.Error("Reload of an unknown service: got nil error")
	}
	if err := f.sup.Restart(context.Background(), "nope"); err == nil {
		t.Error("Restart of an unknown service: got nil error")
	}
}

func TestStopSignal(t *testing.T) {
	f := newFixture(t)
	spec := f.script("graceful", `trap 'echo got INT > "$OUT"; exit 0' INT
echo ready > "$READY"
while :; do sleep 0.1; done
`, "OUT="+f.path("stopped"), "READY="+f.path("ready"))
	spec.StopSignal = "INT"
	f.ensure(spec)
	f.waitFile("ready", "ready")
	f.shutdown()
	f.waitFile("stopped", "got INT")
	if st := f.status("graceful"); st.LastExit != "exit status 0" {
		t.Errorf("LastExit = %q, want exit status 0", st.LastExit)
	}
}

func TestOutputGoesToLogFileAndLogger(t *testing.T) {
	f := newFixture(t)
	logFile := f.path(LogDir + "/talker.log")
	f.ensure(f.script("talker", `echo "hello out"
echo "hello err" >&2
printf 'no newline'
exec sleep 1000
`))
	f.waitFile(LogDir+"/talker.log", "no newline")
	f.shutdown()

	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "hello out\nhello err\nno newline"; got != want {
		t.Errorf("log file = %q, want %q", got, want)
	}
	for path, want := range map[string]os.FileMode{logFile: 0o640, filepath.Dir(logFile): 0o750} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	logs := f.logs.String()
	for _, line := range []string{`msg="hello out" service=talker`, `msg="hello err" service=talker`, `msg="no newline" service=talker`} {
		if !strings.Contains(logs, line) {
			t.Errorf("logger output lacks %s:\n%s", line, logs)
		}
	}
	if !strings.Contains(logs, "component=supervisor service=talker") {
		t.Errorf("supervisor events lack component=supervisor service=talker:\n%s", logs)
	}

	// The next ruche appends.
	f2 := newFixtureIn(t, f.root)
	f2.ensure(f2.script("talker", "echo again\nexec sleep 1000\n"))
	f2.waitFile(LogDir+"/talker.log", "hello out\nhello err\nno newlineagain\n")
}

func TestEnvAndDir(t *testing.T) {
	t.Setenv("EXECSUP_LEAK", "should not reach children")
	f := newFixture(t)
	if err := os.MkdirAll(f.path("var/lib/svc"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := f.script("envy", `{ pwd -P; env; } > env.tmp && mv env.tmp env.out
exec sleep 1000
`, "FOO=bar", "LANG=fr_FR.UTF-8")
	spec.Dir = "var/lib/svc"
	f.ensure(spec)
	f.waitFile("var/lib/svc/env.out", "FOO=bar")
	b, err := os.ReadFile(f.path("var/lib/svc/env.out"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	wantDir, _ := filepath.EvalSymlinks(f.path("var/lib/svc"))
	if lines[0] != wantDir {
		t.Errorf("working directory = %q, want %q", lines[0], wantDir)
	}
	env := lines[1:]
	for _, kv := range []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "FOO=bar", "LANG=fr_FR.UTF-8"} {
		if !slices.Contains(env, kv) {
			t.Errorf("child environment lacks %s: %q", kv, env)
		}
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "EXECSUP_LEAK=") || strings.HasPrefix(kv, "HOME=") || kv == "LANG=C" {
			t.Errorf("child environment has %s", kv)
		}
	}
}

func TestAfterShutdown(t *testing.T) {
	f := newFixture(t)
	f.shutdown()
	if err := f.sup.Ensure(context.Background(), nil); err != ErrShutdown {
		t.Errorf("Ensure after Shutdown = %v, want ErrShutdown", err)
	}
	f.shutdown() // a second Shutdown is harmless
}
