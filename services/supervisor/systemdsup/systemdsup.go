// Package systemdsup supervises the box's services as systemd units: one
// ruche-<name>.service per provision.ServiceSpec, written into systemd's
// unit folder and driven over D-Bus (github.com/coreos/go-systemd/v22). It is
// the backend for a box, where PID 1 is systemd; the exec backend
// (execsup) gets the same specs under `ruche up` elsewhere.
//
// systemd then does the supervising: restarts after a crash, stop signals
// and timeouts, memory ceilings, the journal (journalctl -u ruche-<name>).
// Ruche writes the units, starts, stops and reloads them, and reads their
// state back. It only ever touches units that carry its marker line.
package systemdsup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/ruche-box/ruche/provision"
)

// DefaultUnitDir is where units go on a box: the administrator's folder,
// which wins over the packages' /lib/systemd/system.
const DefaultUnitDir = "/etc/systemd/system"

// statusTimeout bounds the D-Bus calls of Status, which has no context: a
// hung systemd must not hang /healthz and /metrics with it.
const statusTimeout = 5 * time.Second

// ErrShutdown is returned by calls made after Shutdown.
var ErrShutdown = errors.New("supervisor is shut down")

// Conn is what the supervisor asks of systemd: the methods of go-systemd's
// *dbus.Conn it uses, so that unit tests can answer in its place.
type Conn interface {
	ReloadContext(ctx context.Context) error
	StartUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
	StopUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
	RestartUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
	ReloadUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
	KillUnitWithTarget(ctx context.Context, name string, target sdbus.Who, signal int32) error
	ResetFailedUnitContext(ctx context.Context, name string) error
	GetUnitPropertiesContext(ctx context.Context, unit string) (map[string]any, error)
	GetUnitTypePropertiesContext(ctx context.Context, unit, unitType string) (map[string]any, error)
	EnableUnitFilesContext(ctx context.Context, files []string, runtime, force bool) (bool, []sdbus.EnableUnitFileChange, error)
	DisableUnitFilesContext(ctx context.Context, files []string, runtime bool) ([]sdbus.DisableUnitFileChange, error)
	Close()
}

var _ Conn = (*sdbus.Conn)(nil)

// Options tune a Supervisor.
type Options struct {
	// UnitDir is where unit files are written (DefaultUnitDir when "").
	UnitDir string
	// Root is the box's root as the units' processes see it: a spec's Dir
	// is relative to it ("/" when "").
	Root string
	// Log receives the supervisor's own events; the services' output goes
	// to the journal.
	Log *slog.Logger
}

// Supervisor runs services as systemd units.
type Supervisor struct {
	conn    Conn
	unitDir string
	root    string
	log     *slog.Logger

	// ops serialises Ensure, Reload, Restart, Shutdown and EnsureTimers; a
	// channel rather than a mutex so that waiting for it honours the
	// caller's context.
	ops chan struct{}

	mu     sync.Mutex // guards the fields below
	specs  map[string]provision.ServiceSpec
	fresh  bool // no Ensure yet: failed units get another try
	closed bool
}

var _ provision.Supervisor = (*Supervisor)(nil)

// New returns a supervisor that drives systemd through conn. It owns conn
// from then on (Shutdown does not close it; Close does).
func New(conn Conn, o Options) *Supervisor {
	if o.UnitDir == "" {
		o.UnitDir = DefaultUnitDir
	}
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Supervisor{
		conn:    conn,
		unitDir: o.UnitDir,
		root:    o.Root,
		log:     o.Log.With("component", "supervisor", "backend", "systemd"),
		ops:     make(chan struct{}, 1),
		specs:   map[string]provision.ServiceSpec{},
		fresh:   true,
	}
}

// Where systemd answers on a box: its private socket, which needs neither
// the D-Bus daemon nor a bus policy (ruche runs as root), and the system
// bus, when the private socket refuses (as it does a process of another
// PID namespace).
const (
	PrivateSocket = "/run/systemd/private"
	SystemBus     = "/run/dbus/system_bus_socket"
)

// Dial connects to the machine's systemd: its private socket, else the
// system bus.
func Dial(ctx context.Context) (*sdbus.Conn, error) {
	c, err := DialSocket(ctx, PrivateSocket, false)
	if err == nil {
		return c, nil
	}
	c, err2 := DialSocket(ctx, SystemBus, true)
	if err2 != nil {
		return nil, fmt.Errorf("%s: %w; %s: %w", PrivateSocket, err, SystemBus, err2)
	}
	return c, nil
}

// DialSocket connects to a systemd through the socket at path: its private
// socket, or a D-Bus daemon's when bus is true (tests reach a container's
// as /proc/<pid>/root/run/dbus/system_bus_socket).
func DialSocket(ctx context.Context, path string, bus bool) (*sdbus.Conn, error) {
	return sdbus.NewConnection(func() (*godbus.Conn, error) {
		c, err := godbus.Dial("unix:path="+path, godbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		// EXTERNAL with the uid, not the user name: no lookup, which a
		// static binary could not do.
		if err := c.Auth([]godbus.Auth{godbus.AuthExternal(fmt.Sprint(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		if bus {
			if err := c.Hello(); err != nil {
				c.Close()
				return nil, err
			}
		}
		// A round trip: systemd's private socket accepts the connection
		// of a process it does not want, then closes it.
		var v godbus.Variant
		if err := c.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").CallWithContext(ctx,
			"org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.systemd1.Manager", "Version").Store(&v); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
}

// Close closes the D-Bus connection; the units keep running.
func (s *Supervisor) Close() { s.conn.Close() }

func (s *Supervisor) lock(ctx context.Context) error {
	select {
	case s.ops <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Supervisor) unlock() { <-s.ops }

// Ensure makes the box's service units match specs. Specs are checked
// first; when one is wrong nothing changes. A unit whose file is unchanged
// is left alone when it runs, or when it failed (Restart is how one asks
// for another try), except at the first Ensure: `ruche up` starting is
// everyone's new start.
func (s *Supervisor) Ensure(ctx context.Context, specs []provision.ServiceSpec) error {
	if err := validate(specs); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	s.mu.Lock()
	closed, fresh := s.closed, s.fresh
	s.mu.Unlock()
	if closed {
		return ErrShutdown
	}

	want := make(map[string]string, len(specs))
	for _, sp := range specs {
		want[UnitName(sp.Name)] = renderService(s.root, sp)
	}
	have, err := s.readUnits(markerService)
	if err != nil {
		return err
	}
	for unit := range want {
		if _, ours := have[unit]; !ours {
			if err := s.notSomeoneElses(unit); err != nil {
				return err
			}
		}
	}

	var stop, write, remove, start []string
	for unit, content := range have {
		next, ok := want[unit]
		switch {
		case !ok:
			stop, remove = append(stop, unit), append(remove, unit)
			s.log.Info("stopping removed service", "unit", unit)
		case next != content:
			stop, write = append(stop, unit), append(write, unit)
			s.log.Info("restarting changed service", "unit", unit)
		}
	}
	for unit := range want {
		if _, ok := have[unit]; !ok {
			write = append(write, unit)
			s.log.Info("starting new service", "unit", unit)
		}
	}
	sort.Strings(stop)

	// Removed and changed services stop first, so that the new ones find
	// their ports and files free.
	var errs []error
	errs = append(errs, s.jobs(ctx, "stop", stop, s.conn.StopUnitContext, true)...)
	for _, unit := range write {
		if err := writeFileAtomic(filepath.Join(s.unitDir, unit), []byte(want[unit])); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	for _, unit := range remove {
		if err := os.Remove(filepath.Join(s.unitDir, unit)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		// A failed unit stays listed until reset, file or not.
		_ = s.conn.ResetFailedUnitContext(ctx, unit)
	}
	if len(write)+len(remove) > 0 {
		_ = syncDir(s.unitDir)
		if err := s.conn.ReloadContext(ctx); err != nil {
			return errors.Join(append(errs, fmt.Errorf("systemd daemon-reload: %w", err))...)
		}
	}

	for unit := range want {
		if slices.Contains(write, unit) {
			start = append(start, unit)
			continue
		}
		active, err := s.activeState(ctx, unit)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if active == "inactive" || (active == "failed" && fresh) {
			start = append(start, unit)
		}
	}
	sort.Strings(start)
	for _, unit := range start {
		// A unit that hit its start limit refuses to start until reset.
		_ = s.conn.ResetFailedUnitContext(ctx, unit)
	}
	// A service that does not start is not Ensure's failure: its unit
	// shows it (failed, or restarting), as the exec backend's Status does.
	for _, err := range s.jobs(ctx, "start", start, s.conn.StartUnitContext, false) {
		s.log.Warn("service did not start", "err", err)
	}

	s.mu.Lock()
	s.fresh = false
	clear(s.specs)
	for _, sp := range specs {
		s.specs[sp.Name] = cloneSpec(sp)
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}

// notSomeoneElses refuses to overwrite a unit file Ruche did not write.
func (s *Supervisor) notSomeoneElses(unit string) error {
	data, err := os.ReadFile(filepath.Join(s.unitDir, unit))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !hasMarker(string(data), "") {
		return fmt.Errorf("%s: the unit file exists and was not written by Ruche; remove it or rename the service",
			filepath.Join(s.unitDir, unit))
	}
	return fmt.Errorf("%s: written by Ruche for something else than a service", filepath.Join(s.unitDir, unit))
}

// readUnits returns the unit files in the unit folder that carry marker,
// by file name.
func (s *Supervisor) readUnits(marker string) (map[string]string, error) {
	entries, err := os.ReadDir(s.unitDir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), Prefix) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.unitDir, e.Name()))
		if err != nil {
			return nil, err
		}
		if hasMarker(string(data), marker) {
			out[e.Name()] = string(data)
		}
	}
	return out, nil
}

// hasMarker reports whether a unit carries Ruche's marker line of that kind
// (any kind when marker is "").
func hasMarker(content, marker string) bool {
	for line := range strings.Lines(content) {
		line = strings.TrimSpace(line)
		if marker == "" && strings.HasPrefix(line, markerKey) || marker != "" && line == marker {
			return true
		}
	}
	return false
}

type jobFunc func(ctx context.Context, name, mode string, ch chan<- string) (int, error)

// jobs queues one job per unit, all at once, and waits for them. A unit
// systemd does not know is already stopped when stopping.
func (s *Supervisor) jobs(ctx context.Context, verb string, units []string, f jobFunc, stopping bool) []error {
	type queued struct {
		unit string
		ch   chan string
	}
	var errs []error
	var qs []queued
	for _, unit := range units {
		// Buffered: go-systemd's signal loop must never block on us.
		ch := make(chan string, 1)
		if _, err := f(ctx, unit, "replace", ch); err != nil {
			if stopping && isNoSuchUnit(err) {
				continue
			}
			errs = append(errs, fmt.Errorf("%s %s: %w", verb, unit, err))
			continue
		}
		qs = append(qs, queued{unit, ch})
	}
	for _, q := range qs {
		select {
		case result := <-q.ch:
			if result != "done" {
				errs = append(errs, fmt.Errorf("%s %s: systemd job %s (journalctl -u %s)", verb, q.unit, result, q.unit))
			}
		case <-ctx.Done():
			return append(errs, ctx.Err())
		}
	}
	return errs
}

func isNoSuchUnit(err error) bool {
	var e godbus.Error
	if errors.As(err, &e) {
		return e.Name == "org.freedesktop.systemd1.NoSuchUnit"
	}
	var pe *godbus.Error
	return errors.As(err, &pe) && pe.Name == "org.freedesktop.systemd1.NoSuchUnit"
}

func (s *Supervisor) activeState(ctx context.Context, unit string) (string, error) {
	props, err := s.conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return "", fmt.Errorf("%s: %w", unit, err)
	}
	st, _ := props["ActiveState"].(string)
	return st, nil
}

// Reload makes a running service reread its files: its ReloadSignal to the
// main process, else its ReloadCommand (the unit's ExecReload=), else a
// restart. A failed or stopped service is restarted, since the new files
// may be what it was missing; one waiting to restart reads them when it
// starts.
func (s *Supervisor) Reload(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	spec, err := s.lookup(name)
	if err != nil {
		return err
	}
	unit := UnitName(name)
	active, err := s.activeState(ctx, unit)
	if err != nil {
		return err
	}
	if active == "failed" || active == "inactive" || (spec.ReloadSignal == "" && len(spec.ReloadCommand) == 0) {
		s.log.Info("reloading by restart", "unit", unit, "state", active)
		return s.restart(ctx, unit)
	}
	if active != "active" && active != "reloading" {
		return nil // starting or restarting: it reads the new files anyway
	}
	if spec.ReloadSignal != "" {
		sig, _ := provision.ParseSignal(spec.ReloadSignal) // checked by validate
		s.log.Info("reloading", "unit", unit, "signal", spec.ReloadSignal)
		if err := s.conn.KillUnitWithTarget(ctx, unit, sdbus.Main, int32(sig)); err != nil {
			return fmt.Errorf("reload %s: signal %s: %w", name, spec.ReloadSignal, err)
		}
		return nil
	}
	s.log.Info("reloading", "unit", unit, "command", spec.ReloadCommand)
	if errs := s.jobs(ctx, "reload", []string{unit}, s.conn.ReloadUnitContext, false); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Restart stops a service and starts it again, which is also how a failed
// service gets another try.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	if _, err := s.lookup(name); err != nil {
		return err
	}
	s.log.Info("restarting", "unit", UnitName(name))
	return s.restart(ctx, UnitName(name))
}

func (s *Supervisor) restart(ctx context.Context, unit string) error {
	_ = s.conn.ResetFailedUnitContext(ctx, unit)
	if errs := s.jobs(ctx, "restart", []string{unit}, s.conn.RestartUnitContext, false); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func (s *Supervisor) lookup(name string) (provision.ServiceSpec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return provision.ServiceSpec{}, ErrShutdown
	}
	sp, ok := s.specs[name]
	if !ok {
		return provision.ServiceSpec{}, fmt.Errorf("no service %q", name)
	}
	return sp, nil
}

// Status reports every service unit Ruche wrote, sorted by name, from
// systemd's own view of it. A unit systemd cannot be asked about is
// reported stopped, with the reason in LastExit. Restarts is systemd's
// NRestarts, which counts from the unit's last (re)start by hand, not
// from ruche's start. LastExit is known while the service is down
// (failed, waiting to restart): systemd forgets it once a new main process
// runs, and the journal keeps it.
func (s *Supervisor) Status() []provision.ServiceStatus {
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	units, err := s.readUnits(markerService)
	if err != nil {
		s.log.Warn("unit folder unreadable", "dir", s.unitDir, "err", err)
	}
	out := make([]provision.ServiceStatus, 0, len(units))
	for unit := range units {
		name := serviceName(unit)
		if name == "" {
			continue
		}
		out = append(out, s.status(ctx, name, unit))
	}
	slices.SortFunc(out, func(a, b provision.ServiceStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (s *Supervisor) status(ctx context.Context, name, unit string) provision.ServiceStatus {
	st := provision.ServiceStatus{Name: name, State: provision.StateStopped}
	props, err := s.conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		st.LastExit = err.Error()
		return st
	}
	svc, err := s.conn.GetUnitTypePropertiesContext(ctx, unit, "Service")
	if err != nil {
		st.LastExit = err.Error()
		return st
	}
	active, _ := props["ActiveState"].(string)
	sub, _ := props["SubState"].(string)
	st.State = stateOf(active, sub)
	if usec, ok := props["StateChangeTimestamp"].(uint64); ok && usec > 0 {
		st.Since = time.UnixMicro(int64(usec))
	}
	if pid, ok := svc["MainPID"].(uint32); ok {
		st.PID = int(pid)
	}
	if n, ok := svc["NRestarts"].(uint32); ok {
		st.Restarts = int(n)
	}
	code, _ := svc["ExecMainCode"].(int32)
	status, _ := svc["ExecMainStatus"].(int32)
	st.LastExit = exitText(code, status)
	if result, _ := svc["Result"].(string); result != "" && result != "success" && st.LastExit == "" {
		st.LastExit = result
	}
	return st
}

// stateOf maps systemd's ActiveState and SubState to a ServiceState.
func stateOf(active, sub string) provision.ServiceState {
	switch active {
	case "active", "reloading":
		return provision.StateRunning
	case "activating":
		if sub == "auto-restart" {
			return provision.StateBackoff // crashed, waiting RestartSec
		}
		return provision.StateStarting
	case "failed":
		return provision.StateFailed
	}
	return provision.StateStopped // inactive, deactivating, maintenance
}

// Shutdown stops every service unit Ruche wrote, in parallel, and waits for
// them; their files stay, so that the next `ruche up` finds them unchanged.
// The backup timer is not a service and keeps running.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	units, err := s.readUnits(markerService)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(units))
	for unit := range units {
		names = append(names, unit)
	}
	sort.Strings(names)
	if err := errors.Join(s.jobs(ctx, "stop", names, s.conn.StopUnitContext, true)...); err != nil {
		return err
	}
	s.log.Info("all services stopped", "count", len(names))
	return nil
}

// cloneSpec copies the slices so that the caller may reuse its own.
func cloneSpec(sp provision.ServiceSpec) provision.ServiceSpec {
	sp.Command = slices.Clone(sp.Command)
	sp.Env = slices.Clone(sp.Env)
	sp.ReloadCommand = slices.Clone(sp.ReloadCommand)
	return sp
}
