package systemdsup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// fakeSystemd answers the supervisor's D-Bus calls as systemd would for
// what these unit tests look at: which units are loaded (read from the
// folder at each daemon-reload), their states and main PIDs, and every call
// made, in order. The real systemd is in the integration test.
type fakeSystemd struct {
	dir string

	mu       sync.Mutex
	loaded   map[string]string // unit → content at the last daemon-reload
	active   map[string]string // unit → ActiveState
	pid      map[string]uint32
	restarts map[string]uint32
	enabled  map[string]bool
	badStart map[string]bool // start jobs of these units fail
	nextPID  uint32
	calls    []string
}

func newFake(dir string) *fakeSystemd {
	return &fakeSystemd{dir: dir, loaded: map[string]string{}, active: map[string]string{},
		pid: map[string]uint32{}, restarts: map[string]uint32{}, enabled: map[string]bool{},
		badStart: map[string]bool{}, nextPID: 100}
}

func (f *fakeSystemd) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// takeCalls returns the calls made since the last takeCalls.
func (f *fakeSystemd) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func noSuchUnit(unit string) error {
	return godbus.Error{Name: "org.freedesktop.systemd1.NoSuchUnit", Body: []any{"Unit " + unit + " not loaded."}}
}

func (f *fakeSystemd) ReloadContext(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("daemon-reload")
	f.loaded = map[string]string{}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(f.dir, e.Name()))
		if err != nil {
			return err
		}
		f.loaded[e.Name()] = string(data)
	}
	return nil
}

func (f *fakeSystemd) job(ch chan<- string, result string) (int, error) {
	ch <- result
	return 1, nil
}

func (f *fakeSystemd) StartUnitContext(_ context.Context, name, _ string, ch chan<- string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("start %s", name)
	if _, ok := f.loaded[name]; !ok {
		return 0, noSuchUnit(name)
	}
	if f.badStart[name] {
		f.active[name] = "failed"
		return f.job(ch, "failed")
	}
	if f.active[name] != "active" {
		f.active[name] = "active"
		f.nextPID++
		f.pid[name] = f.nextPID
	}
	return f.job(ch, "done")
}

func (f *fakeSystemd) StopUnitContext(_ context.Context, name, _ string, ch chan<- string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("stop %s", name)
	if _, ok := f.loaded[name]; !ok && f.active[name] == "" {
		return 0, noSuchUnit(name)
	}
	f.active[name] = "inactive"
	f.pid[name] = 0
	return f.job(ch, "done")
}

func (f *fakeSystemd) RestartUnitContext(_ context.Context, name, _ string, ch chan<- string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("restart %s", name)
	if _, ok := f.loaded[name]; !ok {
		return 0, noSuchUnit(name)
	}
	f.active[name] = "active"
	f.nextPID++
	f.pid[name] = f.nextPID
	return f.job(ch, "done")
}

func (f *fakeSystemd) ReloadUnitContext(_ context.Context, name, _ string, ch chan<- string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("reload %s", name)
	if !strings.Contains(f.loaded[name], "\nExecReload=") {
		return f.job(ch, "failed")
	}
	return f.job(ch, "done")
}

func (f *fakeSystemd) KillUnitWithTarget(_ context.Context, name string, target sdbus.Who, signal int32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("kill %s %s %d", name, target, signal)
	return nil
}

func (f *fakeSystemd) ResetFailedUnitContext(context.Context, string) error { return nil }

func (f *fakeSystemd) GetUnitPropertiesContext(_ context.Context, unit string) (map[string]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	active := f.active[unit]
	if active == "" {
		active = "inactive"
	}
	sub := map[string]string{"active": "running", "inactive": "dead", "failed": "failed", "activating": "auto-restart"}[active]
	return map[string]any{"ActiveState": active, "SubState": sub, "StateChangeTimestamp": uint64(1_700_000_000_000_000)}, nil
}

func (f *fakeSystemd) GetUnitTypePropertiesContext(_ context.Context, unit, typ string) (map[string]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if typ != "Service" {
		return nil, fmt.Errorf("type %s", typ)
	}
	props := map[string]any{"MainPID": f.pid[unit], "NRestarts": f.restarts[unit], "Result": "success",
		"ExecMainCode": int32(0), "ExecMainStatus": int32(0)}
	if f.active[unit] == "failed" {
		props["Result"], props["ExecMainCode"], props["ExecMainStatus"] = "exit-code", int32(1), int32(3)
	}
	return props, nil
}

func (f *fakeSystemd) EnableUnitFilesContext(_ context.Context, files []string, runtime, force bool) (bool, []sdbus.EnableUnitFileChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("enable %s", strings.Join(files, " "))
	for _, u := range files {
		f.enabled[u] = true
	}
	return true, nil, nil
}

func (f *fakeSystemd) DisableUnitFilesContext(_ context.Context, files []string, runtime bool) ([]sdbus.DisableUnitFileChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("disable %s", strings.Join(files, " "))
	for _, u := range files {
		delete(f.enabled, u)
	}
	return nil, nil
}

func (f *fakeSystemd) Close() {}
