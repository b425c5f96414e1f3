package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/backup/backuptest"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/services/supervisor/systemdsup"
	"github.com/ruche-box/ruche/services/supervisor/systemdsup/nspawntest"
)

func TestChooseSupervisor(t *testing.T) {
	booted := false
	if fi, err := os.Stat(systemdBooted); err == nil && fi.IsDir() {
		booted = true
	}
	for _, tc := range []struct {
		flag, root, want string
	}{
		{"auto", "/srv/box", supervisorExec},
		{"", "/tmp/x", supervisorExec},
		{"exec", "/", supervisorExec},
		{"systemd", "/srv/box", supervisorSystemd},
		{"auto", "/", map[bool]string{true: supervisorSystemd, false: supervisorExec}[booted]},
	} {
		got, err := chooseSupervisor(tc.flag, tc.root)
		if err != nil || got != tc.want {
			t.Errorf("chooseSupervisor(%q, %q) = %q, %v; want %q", tc.flag, tc.root, got, err, tc.want)
		}
	}
	if _, err := chooseSupervisor("runit", "/"); err == nil || !strings.Contains(err.Error(), "auto, exec, systemd") {
		t.Errorf("chooseSupervisor(runit): %v", err)
	}
}

const timerPack = `apiVersion: ruche/v1
kind: Pack
association: {name: "Café test", slug: cafe-test, locale: fr}
box: {hostname: cafe-test, tls: "off", timezone: Europe/Paris}
backup:
  schedule: "*-*-* 03:00"
  keep: {daily: 7}
  password_secret: restic
  targets:
    - {name: local, repository: /var/backups/ruche/restic}
panel:
  users: [{login: alice, role: admin}]
`

// TestSystemdBackupTimer runs the scheduled backup as a box with systemd
// does, in a container booting a real systemd 252: `ruche up --supervisor
// systemd` (itself a unit) writes, enables and starts ruche-backup.timer,
// whose next elapse systemd computes in the box's timezone, and no
// scheduler of its own; ruche-backup.service, started as the timer would,
// runs `ruche backup run-scheduled`, which leaves a restic snapshot and
// runs the weekly drill and check; a pack without backup removes both
// units.
func TestSystemdBackupTimer(t *testing.T) {
	nspawntest.Need(t)
	restic := backuptest.Restic(t)
	rootfs := nspawntest.Rootfs(t)

	// A static ruche: the container's libc is not the host's.
	bin := filepath.Join(t.TempDir(), "ruche")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/ruche-box/ruche/cmd/ruche")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	m := nspawntest.Boot(t, rootfs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for src, dst := range map[string]string{bin: "/usr/local/bin/ruche", restic: "/usr/local/lib/ruche/restic"} {
		copyFile(t, src, m.Path(dst), 0o755)
	}
	const root = "/srv/box"
	if err := os.MkdirAll(m.Path(root+"/"+provision.SecretsDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.Path(root+"/"+provision.SecretsDir+"/restic"), []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.Path("/srv/pack.yaml"), []byte(timerPack), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := m.Run(ctx, "/usr/local/bin/ruche", "apply", "--root", root, "/srv/pack.yaml"); err != nil {
		t.Fatalf("ruche apply in the container: %v\n%s", err, out)
	}

	p, err := provision.Load("pack.yaml", []byte(timerPack))
	if err != nil {
		t.Fatal(err)
	}
	timer, err := backupTimer(p, "/usr/local/bin/ruche", root, "/usr/local/lib/ruche/restic")
	if err != nil || timer == nil {
		t.Fatalf("backupTimer: %+v, %v", timer, err)
	}
	if timer.OnCalendar != "*-*-* 03:00 Europe/Paris" {
		t.Errorf("OnCalendar %q, want the box's timezone", timer.OnCalendar)
	}

	conn, err := systemdsup.DialSocket(ctx, m.Path(systemdsup.SystemBus), true)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// ruche up, a unit of the container's systemd as on a box, with the
	// systemd backend: it writes and starts the timer itself.
	if out, err := m.Run(ctx, "systemd-run", "--unit=ruche-up-test", "--property=Restart=no",
		"/usr/local/bin/ruche", "up", "--root", root, "--supervisor", "systemd", "--restic", "/usr/local/lib/ruche/restic", "/srv/pack.yaml"); err != nil {
		t.Fatalf("systemd-run ruche up: %v\n%s", err, out)
	}
	upLog := func() string {
		out, _ := m.Run(context.Background(), "journalctl", "--no-pager", "-u", "ruche-up-test.service")
		return string(out)
	}
	timerFile := m.Path("/etc/systemd/system/ruche-backup.timer")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(timerFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ruche up wrote no ruche-backup.timer within 60 s:\n%s", upLog())
		}
	}
	// The file is written before the timer is enabled and started: the
	// log line comes after.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(upLog(), "backups run by a systemd timer"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ruche up does not say the timer backs up:\n%s", upLog())
		}
	}
	if out, err := m.Run(ctx, "systemctl", "is-enabled", "ruche-backup.timer"); err != nil || strings.TrimSpace(string(out)) != "enabled" {
		t.Errorf("ruche-backup.timer is-enabled: %q, %v", out, err)
	}
	if out, err := m.Run(ctx, "systemctl", "is-active", "ruche-backup.timer"); err != nil || strings.TrimSpace(string(out)) != "active" {
		t.Errorf("ruche-backup.timer is-active: %q, %v", out, err)
	}
	// The in-daemon scheduler writes its state as it starts; the timer's
	// job has not run yet.
	if _, err := os.Stat(m.Path(root + "/" + backup.ScheduleStateFile)); !os.IsNotExist(err) {
		t.Errorf("%s exists before the timer's job ran (%v): the in-daemon scheduler runs beside the timer\n%s", backup.ScheduleStateFile, err, upLog())
	}

	props, err := conn.GetUnitTypePropertiesContext(ctx, "ruche-backup.timer", "Timer")
	if err != nil {
		t.Fatal(err)
	}
	next, _ := props["NextElapseUSecRealtime"].(uint64)
	if next == 0 {
		out, _ := m.Run(ctx, "systemctl", "status", "ruche-backup.timer")
		t.Fatalf("systemd computed no next elapse for ruche-backup.timer:\n%s", out)
	}
	// 03:00 in Paris is 01:00 or 02:00 UTC, within a day.
	at := time.UnixMicro(int64(next))
	if paris, err := time.LoadLocation("Europe/Paris"); err == nil {
		if h, mi, _ := at.In(paris).Clock(); h != 3 || mi != 0 || time.Until(at) > 25*time.Hour {
			t.Errorf("next backup at %s, want the next 03:00 in Paris", at.In(paris))
		}
	}

	// The job, started as the timer would: one run, awaited.
	ch := make(chan string, 1)
	if _, err := conn.StartUnitContext(ctx, "ruche-backup.service", "replace", ch); err != nil {
		t.Fatal(err)
	}
	select {
	case result := <-ch:
		if result != "done" {
			out, _ := m.Run(ctx, "journalctl", "--no-pager", "-u", "ruche-backup.service")
			t.Fatalf("ruche-backup.service: job %s\n%s", result, out)
		}
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	repo := &backup.Repo{
		Binary:       restic,
		Location:     m.Path(root + "/var/backups/ruche/restic"),
		PasswordFile: m.Path(root + "/" + provision.SecretsDir + "/restic"),
		CacheDir:     t.TempDir(),
	}
	snaps, err := repo.Snapshots(ctx, backup.SnapshotFilter{})
	if err != nil || len(snaps) != 1 {
		out, _ := m.Run(ctx, "journalctl", "--no-pager", "-u", "ruche-backup.service")
		t.Fatalf("snapshots after the timer's job: %d, %v\n%s", len(snaps), err, out)
	}
	st, err := backup.ReadScheduleState(m.Path(root))
	if err != nil || st.LastBackup.IsZero() || st.BackupError != nil {
		t.Errorf("schedule state after the timer's job: %+v, %v", st, err)
	}
	if st != nil && (st.LastDrill.IsZero() || st.LastCheck.IsZero() || st.DrillError != nil || st.CheckError != nil) {
		t.Errorf("the weekly drill and check did not both run and succeed with the first backup: %+v", st)
	}
	// systemd counts the job a success: run-scheduled exited 0.
	if out, err := m.Run(ctx, "systemctl", "show", "-p", "Result,ExecMainStatus", "ruche-backup.service"); err != nil || !strings.Contains(string(out), "Result=success") || !strings.Contains(string(out), "ExecMainStatus=0") {
		t.Errorf("ruche-backup.service: %q, %v", out, err)
	}

	// No backup in the pack any more: ruche apply goes through the running
	// ruche up, which removes both units.
	noBackup := strings.Replace(timerPack, timerPack[strings.Index(timerPack, "backup:"):strings.Index(timerPack, "panel:")], "", 1)
	if err := os.WriteFile(m.Path("/srv/pack2.yaml"), []byte(noBackup), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := m.Run(ctx, "/usr/local/bin/ruche", "apply", "--root", root, "/srv/pack2.yaml"); err != nil {
		t.Fatalf("ruche apply without backup: %v\n%s\n%s", err, out, upLog())
	}
	for _, u := range []string{"ruche-backup.timer", "ruche-backup.service"} {
		if _, err := os.Stat(m.Path("/etc/systemd/system/" + u)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v\n%s", u, err, upLog())
		}
	}
	if _, err := os.Lstat(m.Path("/etc/systemd/system/timers.target.wants/ruche-backup.timer")); !os.IsNotExist(err) {
		t.Errorf("ruche-backup.timer still enabled: %v", err)
	}
	if out, err := m.Run(ctx, "systemctl", "stop", "ruche-up-test.service"); err != nil {
		t.Errorf("stopping ruche up: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}
