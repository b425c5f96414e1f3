package systemdsup

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ruche-box/ruche/provision"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fullSpec uses every field, with the characters a unit file gives a
// meaning to: quotes, backslashes, $, %, a line break.
var fullSpec = provision.ServiceSpec{
	Name:          "postfix",
	Command:       []string{"/bin/sh", "-c", `f="$HOME/x"; printf '%s\n' "a\b" ; echo done`, "postfix"},
	Env:           []string{"MAIL_CONFIG=/etc/ruche/postfix", "ODD=50% $off \"q\""},
	Dir:           "var/lib/ruche/mail",
	ReloadCommand: []string{"/bin/sh", "/etc/ruche/postfix/activate.sh", "reload"},
	StopSignal:    "sigquit",
	StopTimeout:   20,
	MemoryMax:     128 << 20,
}

func TestRenderGolden(t *testing.T) {
	golden(t, "postfix.service", renderService("/", fullSpec))
	golden(t, "minimal.service", renderService("/srv/box", provision.ServiceSpec{Name: "sleeper", Command: []string{"/bin/sleep", "1000"}}))
	timer := Timer{Name: "backup", Description: "Ruche: scheduled backup", OnCalendar: "*-*-* 02:30 Europe/Paris",
		Job: provision.ServiceSpec{Command: []string{"/usr/bin/ruche", "backup", "run-scheduled", "--root", "/"}}}
	golden(t, "backup.timer", renderTimer(timer))
	golden(t, "backup.service", renderJob("/", timer))
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct {
		in      string
		command bool
		want    string
	}{
		{"plain", true, `"plain"`},
		{`a "b" \c`, true, `"a \"b\" \\c"`},
		{"$HOME 100%", true, `"$$HOME 100%%"`},
		{"$HOME 100%", false, `"$HOME 100%%"`},
		{"line\nbreak\ttab\x01", true, `"line\nbreak\ttab\x01"`},
		{"", true, `""`},
		{";", true, `";"`},
	} {
		if got := quote(tc.in, tc.command); got != tc.want {
			t.Errorf("quote(%q, %v) = %s, want %s", tc.in, tc.command, got, tc.want)
		}
	}
}

func newTestSupervisor(t *testing.T) (*Supervisor, *fakeSystemd, string) {
	dir := t.TempDir()
	f := newFake(dir)
	return New(f, Options{UnitDir: dir, Root: "/"}), f, dir
}

func sleeper(name, arg string) provision.ServiceSpec {
	return provision.ServiceSpec{Name: name, Command: []string{"/bin/sleep", arg}}
}

func wantCalls(t *testing.T, f *fakeSystemd, want ...string) {
	t.Helper()
	got := f.takeCalls()
	if !slices.Equal(got, want) {
		t.Errorf("calls:\n got %q\nwant %q", got, want)
	}
}

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	s, f, dir := newTestSupervisor(t)
	a, b := sleeper("a", "100"), sleeper("b", "100")

	if err := s.Ensure(ctx, []provision.ServiceSpec{a, b}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "daemon-reload", "start ruche-a.service", "start ruche-b.service")
	for _, n := range []string{"a", "b"} {
		data, err := os.ReadFile(filepath.Join(dir, UnitName(n)))
		if err != nil || !strings.Contains(string(data), "\n"+markerService+"\n") {
			t.Fatalf("%s: %v\n%s", UnitName(n), err, data)
		}
	}
	pidA := f.pid["ruche-a.service"]

	// The same specs: nothing written, nothing started.
	if err := s.Ensure(ctx, []provision.ServiceSpec{b, a}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f)

	// b changes: b alone is stopped, rewritten and started.
	b.Command = []string{"/bin/sleep", "200"}
	if err := s.Ensure(ctx, []provision.ServiceSpec{a, b}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "stop ruche-b.service", "daemon-reload", "start ruche-b.service")
	if f.pid["ruche-a.service"] != pidA {
		t.Errorf("a was restarted")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "ruche-b.service")); !strings.Contains(string(data), `ExecStart="/bin/sleep" "200"`) {
		t.Errorf("ruche-b.service not rewritten:\n%s", data)
	}

	// a goes: stopped, its file removed.
	if err := s.Ensure(ctx, []provision.ServiceSpec{b}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "stop ruche-a.service", "daemon-reload")
	if _, err := os.Stat(filepath.Join(dir, "ruche-a.service")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ruche-a.service still there: %v", err)
	}

	// A unit that stopped (a technician's systemctl stop) is started
	// again; a failed one is left for Restart.
	f.active["ruche-b.service"] = "inactive"
	if err := s.Ensure(ctx, []provision.ServiceSpec{b}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "start ruche-b.service")
	f.active["ruche-b.service"] = "failed"
	if err := s.Ensure(ctx, []provision.ServiceSpec{b}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f)
}

// At the first Ensure (ruche up starting) a failed unit gets another try,
// and a unit file left from the last run is not rewritten.
func TestEnsureFirstRunStartsFailed(t *testing.T) {
	ctx := context.Background()
	s, f, dir := newTestSupervisor(t)
	a := sleeper("a", "100")
	if err := os.WriteFile(filepath.Join(dir, UnitName("a")), []byte(renderService("/", a)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.ReloadContext(ctx)
	f.active["ruche-a.service"] = "failed"
	f.takeCalls()
	if err := s.Ensure(ctx, []provision.ServiceSpec{a}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "start ruche-a.service")
}

func TestEnsureRefusesWhatIsNotRuches(t *testing.T) {
	ctx := context.Background()
	s, f, dir := newTestSupervisor(t)
	foreign := "[Service]\nExecStart=/bin/true\n"
	path := filepath.Join(dir, "ruche-c.service")
	if err := os.WriteFile(path, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	err := s.Ensure(ctx, []provision.ServiceSpec{sleeper("c", "1")})
	if err == nil || !strings.Contains(err.Error(), "not written by Ruche") {
		t.Fatalf("Ensure over a foreign unit: %v", err)
	}
	// Nor is it removed as a unit no longer wanted.
	if err := s.Ensure(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != foreign {
		t.Errorf("foreign unit changed: %q", data)
	}
	wantCalls(t, f)
	if st := s.Status(); len(st) != 0 {
		t.Errorf("Status lists a foreign unit: %+v", st)
	}
}

func TestEnsureInvalidChangesNothing(t *testing.T) {
	ctx := context.Background()
	s, f, dir := newTestSupervisor(t)
	err := s.Ensure(ctx, []provision.ServiceSpec{
		sleeper("ok", "1"),
		{Name: "Bad_Name", Command: []string{"sleep"}},
		{Name: "x", Command: []string{"/bin/x"}, StopSignal: "NOPE", Dir: "../etc"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"Bad_Name": name`, "not an absolute path", `unknown signal "NOPE"`, "not a path inside the root"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
	wantCalls(t, f)
}

func TestReload(t *testing.T) {
	ctx := context.Background()
	s, f, _ := newTestSupervisor(t)
	sig := sleeper("sig", "1")
	sig.ReloadSignal = "HUP"
	cmd := sleeper("cmd", "1")
	cmd.ReloadCommand = []string{"/bin/true"}
	plain := sleeper("plain", "1")
	if err := s.Ensure(ctx, []provision.ServiceSpec{sig, cmd, plain}); err != nil {
		t.Fatal(err)
	}
	f.takeCalls()
	for _, n := range []string{"sig", "cmd", "plain"} {
		if err := s.Reload(ctx, n); err != nil {
			t.Fatalf("reload %s: %v", n, err)
		}
	}
	wantCalls(t, f,
		"kill ruche-sig.service main "+strconv.Itoa(int(syscall.SIGHUP)),
		"reload ruche-cmd.service",
		"restart ruche-plain.service")
	// A failed service is restarted whatever its reload.
	f.active["ruche-sig.service"] = "failed"
	if err := s.Reload(ctx, "sig"); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "restart ruche-sig.service")
	if err := s.Reload(ctx, "nope"); err == nil {
		t.Error("reload of an unknown service: no error")
	}
}

func TestStatus(t *testing.T) {
	ctx := context.Background()
	s, f, _ := newTestSupervisor(t)
	if err := s.Ensure(ctx, []provision.ServiceSpec{sleeper("b", "1"), sleeper("a", "1"), sleeper("c", "1")}); err != nil {
		t.Fatal(err)
	}
	f.active["ruche-b.service"] = "failed"
	f.pid["ruche-b.service"] = 0
	f.active["ruche-c.service"] = "activating"
	f.restarts["ruche-c.service"] = 4
	st := s.Status()
	if len(st) != 3 || st[0].Name != "a" || st[1].Name != "b" || st[2].Name != "c" {
		t.Fatalf("Status: %+v", st)
	}
	if st[0].State != provision.StateRunning || st[0].PID == 0 || st[0].Since.IsZero() {
		t.Errorf("a: %+v", st[0])
	}
	if st[1].State != provision.StateFailed || st[1].LastExit != "exit status 3" {
		t.Errorf("b: %+v", st[1])
	}
	if st[2].State != provision.StateBackoff || st[2].Restarts != 4 {
		t.Errorf("c: %+v", st[2])
	}
}

func TestStateOf(t *testing.T) {
	for _, tc := range []struct {
		active, sub string
		want        provision.ServiceState
	}{
		{"active", "running", provision.StateRunning},
		{"reloading", "reload", provision.StateRunning},
		{"activating", "start", provision.StateStarting},
		{"activating", "auto-restart", provision.StateBackoff},
		{"failed", "failed", provision.StateFailed},
		{"inactive", "dead", provision.StateStopped},
		{"deactivating", "stop-sigterm", provision.StateStopped},
	} {
		if got := stateOf(tc.active, tc.sub); got != tc.want {
			t.Errorf("stateOf(%s, %s) = %s, want %s", tc.active, tc.sub, got, tc.want)
		}
	}
	if got := exitText(2, int32(syscall.SIGKILL)); got != "signal: killed" {
		t.Errorf("exitText(killed) = %q", got)
	}
}

func TestShutdown(t *testing.T) {
	ctx := context.Background()
	s, f, dir := newTestSupervisor(t)
	if err := s.Ensure(ctx, []provision.ServiceSpec{sleeper("a", "1"), sleeper("b", "1")}); err != nil {
		t.Fatal(err)
	}
	f.takeCalls()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "stop ruche-a.service", "stop ruche-b.service")
	if _, err := os.Stat(filepath.Join(dir, "ruche-a.service")); err != nil {
		t.Errorf("Shutdown removed the unit file: %v", err)
	}
	if err := s.Ensure(ctx, nil); !errors.Is(err, ErrShutdown) {
		t.Errorf("Ensure after Shutdown: %v", err)
	}
}

func TestEnsureTimers(t *testing.T) {
	ctx := context.Background()
	s, f, dir := newTestSupervisor(t)
	timer := Timer{Name: "backup", Description: "Ruche: scheduled backup", OnCalendar: "*-*-* 02:30 UTC",
		Job: provision.ServiceSpec{Command: []string{"/usr/bin/ruche", "backup", "run-scheduled"}}}
	if err := s.EnsureTimers(ctx, []Timer{timer}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "daemon-reload", "enable ruche-backup.timer", "start ruche-backup.timer")
	if !f.enabled["ruche-backup.timer"] {
		t.Error("timer not enabled")
	}
	// The timer's units are not services: Ensure leaves them alone.
	if err := s.Ensure(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); len(st) != 0 {
		t.Errorf("Status lists the timer's job: %+v", st)
	}
	wantCalls(t, f)
	// And a service may not take the timer's job's name.
	if err := s.Ensure(ctx, []provision.ServiceSpec{sleeper("backup", "1")}); err == nil {
		t.Error("Ensure over the timer's job: no error")
	}
	f.takeCalls()

	// Same timer: nothing rewritten.
	if err := s.EnsureTimers(ctx, []Timer{timer}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "enable ruche-backup.timer", "start ruche-backup.timer")

	// A new calendar: rewritten and the timer restarted.
	timer.OnCalendar = "Mon *-*-* 03:00 UTC"
	if err := s.EnsureTimers(ctx, []Timer{timer}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "daemon-reload", "enable ruche-backup.timer", "restart ruche-backup.timer")
	if data, _ := os.ReadFile(filepath.Join(dir, "ruche-backup.timer")); !strings.Contains(string(data), "OnCalendar=Mon *-*-* 03:00 UTC\n") {
		t.Errorf("timer not rewritten:\n%s", data)
	}

	// No timer: stopped, disabled, removed.
	if err := s.EnsureTimers(ctx, nil); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "stop ruche-backup.service", "stop ruche-backup.timer", "disable ruche-backup.timer", "daemon-reload")
	for _, u := range []string{"ruche-backup.timer", "ruche-backup.service"} {
		if _, err := os.Stat(filepath.Join(dir, u)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", u, err)
		}
	}
}
