// Package nspawntest boots a real systemd for the systemd backend's tests:
// a minimal Debian bookworm tree made by mmdebstrap (cached, keyed by its
// package list), booted with systemd-nspawn on a throw-away overlay, so
// that every test starts from the same clean machine.
//
// The host reaches the container's systemd through its D-Bus daemon
// (/proc/<pid1>/root/run/dbus/system_bus_socket: systemd's private socket
// refuses a process of another PID namespace) and its files through
// /proc/<pid1>/root; commands run inside with nsenter.
//
// A missing mmdebstrap or systemd-nspawn, or not being root, skips the
// test, except under CI=true, where it fails it.
package nspawntest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// CacheEnv names the folder that keeps the built trees; without it,
// $XDG_CACHE_HOME/ruche-test, else /var/cache/ruche-test.
const CacheEnv = "RUCHE_TEST_CACHE"

// Limits of the waits, far above what they take (a tree ~20 s, a boot
// under a second, a stop a second or two).
const (
	buildTimeout = 10 * time.Minute
	bootTimeout  = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// Base is the package list every tree has: systemd as PID 1, the D-Bus
// daemon, and the timezones a timer's OnCalendar may name (box.timezone),
// which minbase leaves out and every box has.
var Base = []string{"systemd", "systemd-sysv", "dbus", "tzdata"}

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Need skips (fails under CI) unless this machine can build and boot a
// container: root, mmdebstrap, systemd-nspawn, nsenter.
func Need(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "booting systemd in a container needs root")
	}
	for _, prog := range []string{"mmdebstrap", "systemd-nspawn", "nsenter"} {
		if _, err := exec.LookPath(prog); err != nil {
			missing(t, "%s is missing (apt-get install mmdebstrap systemd-container util-linux): %v", prog, err)
		}
	}
}

func cacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "ruche-test")
	}
	return "/var/cache/ruche-test"
}

// Rootfs returns a bookworm tree with Base and packages installed, built
// once and kept in the cache folder under a name made from the package
// list. Concurrent tests wait for one build.
func Rootfs(t testing.TB, packages ...string) string {
	t.Helper()
	pkgs := slices.Sorted(slices.Values(append(slices.Clone(Base), packages...)))
	pkgs = slices.Compact(pkgs)
	sum := sha256.Sum256([]byte("bookworm minbase " + strings.Join(pkgs, ",")))
	base := cacheDir()
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "rootfs-"+hex.EncodeToString(sum[:6]))
	done := filepath.Join(dir, ".ruche-test-complete")

	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(done); err == nil {
		return dir
	}

	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	_ = os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	start := time.Now()
	// No mirror: mmdebstrap takes the machine's apt sources, the only
	// Debian this machine may reach.
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--variant=minbase", "--include="+strings.Join(pkgs, ","), "bookworm", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(tmp)
		t.Fatalf("mmdebstrap: %v\n%s", err, tail(out))
	}
	// Every boot is a first boot with its own machine ID (an empty file
	// makes systemd make one up, in memory); the first-boot wizard has no
	// one to ask.
	if err := os.WriteFile(filepath.Join(tmp, "etc/machine-id"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/null", filepath.Join(tmp, "etc/systemd/system/systemd-firstboot.service")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, filepath.Base(done)), []byte(strings.Join(pkgs, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %s (%s)", dir, time.Since(start).Round(time.Second), strings.Join(pkgs, " "))
	return dir
}

func tail(b []byte) []byte {
	if len(b) > 4000 {
		return b[len(b)-4000:]
	}
	return b
}

// Machine is a booted container.
type Machine struct {
	Name string
	PID1 int // its systemd, as the host numbers it

	nspawn *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

var seq atomic.Int32

// Boot starts systemd in a container on the tree dir, its writes going to
// a throw-away overlay (dir stays as built), without network but loopback,
// and waits until its boot is over. The container is stopped when the test
// ends.
func Boot(t testing.TB, dir string) *Machine {
	t.Helper()
	m := &Machine{Name: fmt.Sprintf("ruche-test-%d-%d", os.Getpid(), seq.Add(1)), out: &syncBuffer{}, exited: make(chan struct{})}
	// --register=no --keep-unit: the host has no systemd-machined to
	// register with, and no systemd to make a scope in. --console=pipe:
	// no terminal here.
	m.nspawn = exec.Command("systemd-nspawn", "--register=no", "--keep-unit", "-M", m.Name, "-D", dir,
		"--private-network", "--volatile=overlay", "-b", "--console=pipe")
	m.nspawn.Stdout, m.nspawn.Stderr = m.out, m.out
	if err := m.nspawn.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	go func() {
		_ = m.nspawn.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() { m.stop(t) })

	deadline := time.Now().Add(bootTimeout)
	for m.PID1 == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("container %s: no PID 1 after %s\n%s", m.Name, bootTimeout, m.out)
		}
		select {
		case <-m.exited:
			t.Fatalf("systemd-nspawn exited: %v\n%s", m.nspawn.ProcessState, m.out)
		case <-time.After(50 * time.Millisecond):
		}
		m.PID1 = childOf(m.nspawn.Process.Pid)
	}
	for {
		if _, err := os.Stat(m.Path("/run/systemd/private")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: systemd's socket missing after %s\n%s", m.Name, bootTimeout, m.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// --wait: until the boot is over; "degraded" is a boot that ended too
	// (a unit failed), which the test may not care about.
	out, err := m.Run(ctx, "systemctl", "is-system-running", "--wait")
	if state := strings.TrimSpace(string(out)); state != "running" && state != "degraded" {
		t.Fatalf("container %s: system %q, %v\n%s", m.Name, state, err, m.out)
	}
	return m
}

// childOf is the first child process of pid, 0 when it has none yet.
func childOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// Path is the host's path of p inside the container.
func (m *Machine) Path(p string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", m.PID1), p)
}

// Run runs a command inside the container (its namespaces, its root) and
// returns its standard output; the error holds standard error.
func (m *Machine) Run(ctx context.Context, argv ...string) ([]byte, error) {
	args := append([]string{"-t", strconv.Itoa(m.PID1), "-a"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Console is what the container printed so far.
func (m *Machine) Console() string { return m.out.String() }

// stop asks systemd to power off (SIGRTMIN+3), then kills what is left.
func (m *Machine) stop(t testing.TB) {
	if m.PID1 > 0 {
		_ = syscall.Kill(m.PID1, syscall.Signal(34+3)) // SIGRTMIN+3: halt
	}
	select {
	case <-m.exited:
		return
	case <-time.After(stopTimeout):
	}
	t.Logf("container %s did not stop within %s: killing it", m.Name, stopTimeout)
	_ = m.nspawn.Process.Kill()
	<-m.exited
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
