package systemdsup_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/supervisor/systemdsup"
	"github.com/ruche-box/ruche/services/supervisor/systemdsup/nspawntest"
)

// within bounds every wait on systemd; far above what each takes (a start
// or a restart is a few milliseconds, RestartSec 200 ms).
const within = 20 * time.Second

// TestRealSystemd drives a real systemd 252, booted in a container, through
// the supervisor: services started, restarted when their spec changes,
// restarted by systemd after a kill -9, reloaded with a signal, removed,
// stopped; then a timer.
func TestRealSystemd(t *testing.T) {
	nspawntest.Need(t)
	m := nspawntest.Boot(t, nspawntest.Rootfs(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	conn, err := systemdsup.DialSocket(ctx, m.Path(systemdsup.SystemBus), true)
	if err != nil {
		t.Fatalf("D-Bus to the container's systemd: %v", err)
	}
	unitDir := m.Path("/etc/systemd/system")
	s := systemdsup.New(conn, systemdsup.Options{UnitDir: unitDir, Root: "/"})
	defer s.Close()

	status := func(name string) provision.ServiceStatus {
		t.Helper()
		for _, st := range s.Status() {
			if st.Name == name {
				return st
			}
		}
		return provision.ServiceStatus{}
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %s; status %+v\n%s", what, within, s.Status(), journal(m))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// "reloader" writes a line into /run/reloads at each SIGHUP, without
	// ending: a reload by signal, not a restart.
	reloader := provision.ServiceSpec{
		Name:         "reloader",
		Command:      []string{"/bin/sh", "-c", `trap 'echo reloaded >> /run/reloads' HUP; while :; do sleep 1000 & wait $!; done`},
		ReloadSignal: "HUP",
		Env:          []string{"GREETING=50% $HOME"},
	}
	sleeper := provision.ServiceSpec{Name: "sleeper", Command: []string{"/bin/sleep", "1000"}, MemoryMax: 64 << 20}

	if err := s.Ensure(ctx, []provision.ServiceSpec{reloader, sleeper}); err != nil {
		t.Fatalf("Ensure: %v\n%s", err, journal(m))
	}
	for _, n := range []string{"reloader", "sleeper"} {
		if st := status(n); st.State != provision.StateRunning || st.PID <= 1 || st.Since.IsZero() {
			t.Fatalf("%s after Ensure: %+v\n%s", n, st, journal(m))
		}
	}
	if out, err := m.Run(ctx, "systemctl", "show", "-P", "MemoryMax", "ruche-sleeper.service"); err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(64<<20) {
		t.Errorf("ruche-sleeper.service MemoryMax %q, %v; want %d", out, err, 64<<20)
	}
	reloaderPID := status("reloader").PID

	// sleeper's spec changes: it alone restarts, with a new main process.
	sleeperPID := status("sleeper").PID
	sleeper.Command = []string{"/bin/sleep", "2000"}
	if err := s.Ensure(ctx, []provision.ServiceSpec{reloader, sleeper}); err != nil {
		t.Fatal(err)
	}
	if st := status("sleeper"); st.State != provision.StateRunning || st.PID == sleeperPID {
		t.Errorf("sleeper after its change: %+v, was PID %d", st, sleeperPID)
	}
	if out, _ := m.Run(ctx, "cat", fmt.Sprintf("/proc/%d/cmdline", status("sleeper").PID)); !strings.Contains(string(out), "2000") {
		t.Errorf("sleeper's process runs %q, want sleep 2000", out)
	}
	if st := status("reloader"); st.PID != reloaderPID {
		t.Errorf("reloader restarted by sleeper's change: %+v, was PID %d", st, reloaderPID)
	}

	// Reload by signal: the same process reads its files again.
	if err := s.Reload(ctx, "reloader"); err != nil {
		t.Fatal(err)
	}
	waitFor("reloader got SIGHUP", func() bool {
		data, _ := os.ReadFile(m.Path("/run/reloads"))
		return strings.Count(string(data), "reloaded") == 1
	})
	if st := status("reloader"); st.PID != reloaderPID || st.Restarts != 0 {
		t.Errorf("reloader after Reload: %+v, want PID %d and no restart", st, reloaderPID)
	}

	// kill -9 of the main process: systemd starts it again.
	sleeperPID = status("sleeper").PID
	if _, err := m.Run(ctx, "/bin/sh", "-c", "kill -9 "+strconv.Itoa(sleeperPID)); err != nil {
		t.Fatal(err)
	}
	waitFor("sleeper restarted after kill -9", func() bool {
		st := status("sleeper")
		return st.State == provision.StateRunning && st.PID != sleeperPID && st.PID > 0 && st.Restarts == 1
	})
	// systemd forgets how the last process ended once the next one runs:
	// the journal keeps it.
	if out, _ := m.Run(ctx, "journalctl", "--no-pager", "-u", "ruche-sleeper.service"); !strings.Contains(string(out), "status=9/KILL") {
		t.Errorf("the journal does not tell the kill:\n%s", out)
	}

	// Restart: a new process, not counted as a crash.
	sleeperPID = status("sleeper").PID
	if err := s.Restart(ctx, "sleeper"); err != nil {
		t.Fatal(err)
	}
	if st := status("sleeper"); st.State != provision.StateRunning || st.PID == sleeperPID {
		t.Errorf("sleeper after Restart: %+v, was PID %d", st, sleeperPID)
	}

	// sleeper goes: stopped, its unit file removed, systemd forgets it.
	if err := s.Ensure(ctx, []provision.ServiceSpec{reloader}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(unitDir, "ruche-sleeper.service")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ruche-sleeper.service still there: %v", err)
	}
	if out, _ := m.Run(ctx, "systemctl", "show", "-p", "LoadState,ActiveState", "ruche-sleeper.service"); !strings.Contains(string(out), "LoadState=not-found") || !strings.Contains(string(out), "ActiveState=inactive") {
		t.Errorf("ruche-sleeper.service: %q, want not-found and inactive", out)
	}
	if st := s.Status(); len(st) != 1 || st[0].Name != "reloader" {
		t.Errorf("Status after removal: %+v", st)
	}

	// A timer: enabled into timers.target, its next elapse computed by
	// systemd, its job runnable at once; removed with its job.
	timer := systemdsup.Timer{Name: "tick", Description: "Ruche test timer", OnCalendar: "*-*-* 03:00 UTC",
		Job: provision.ServiceSpec{Command: []string{"/bin/sh", "-c", "echo ran >> /run/ticks"}}}
	if err := s.EnsureTimers(ctx, []systemdsup.Timer{timer}); err != nil {
		t.Fatalf("EnsureTimers: %v\n%s", err, journal(m))
	}
	if out, err := m.Run(ctx, "systemctl", "is-enabled", "ruche-tick.timer"); err != nil || strings.TrimSpace(string(out)) != "enabled" {
		t.Errorf("ruche-tick.timer is-enabled: %q, %v", out, err)
	}
	if next := nextElapse(t, ctx, conn, "ruche-tick.timer"); next == 0 {
		t.Errorf("systemd computed no next elapse for ruche-tick.timer")
	}
	if _, err := m.Run(ctx, "systemctl", "start", "ruche-tick.service"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(m.Path("/run/ticks")); string(data) != "ran\n" {
		t.Errorf("the timer's job wrote %q", data)
	}
	if st := s.Status(); len(st) != 1 {
		t.Errorf("a timer's job is listed among the services: %+v", st)
	}
	if err := s.EnsureTimers(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ruche-tick.timer", "ruche-tick.service"} {
		if _, err := os.Stat(filepath.Join(unitDir, u)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", u, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(unitDir, "timers.target.wants", "ruche-tick.timer")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ruche-tick.timer still enabled: %v", err)
	}

	// Shutdown stops every service; the unit files stay for the next start.
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := status("reloader"); st.State != provision.StateStopped || st.PID != 0 {
		t.Errorf("reloader after Shutdown: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(unitDir, "ruche-reloader.service")); err != nil {
		t.Errorf("ruche-reloader.service removed by Shutdown: %v", err)
	}
}

// nextElapse is a timer's NextElapseUSecRealtime as systemd computed it,
// 0 when it has none.
func nextElapse(t *testing.T, ctx context.Context, conn systemdsup.Conn, timer string) uint64 {
	t.Helper()
	props, err := conn.GetUnitTypePropertiesContext(ctx, timer, "Timer")
	if err != nil {
		t.Fatalf("%s: %v", timer, err)
	}
	n, _ := props["NextElapseUSecRealtime"].(uint64)
	return n
}

// journal is the container's recent log, for failure messages.
func journal(m *nspawntest.Machine) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := m.Run(ctx, "journalctl", "--no-pager", "-n", "60", "-u", "ruche-*")
	if err != nil {
		return err.Error()
	}
	return string(out)
}
