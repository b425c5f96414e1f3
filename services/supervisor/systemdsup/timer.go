package systemdsup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/ruche-box/ruche/provision"
)

// Timer is a job systemd runs at calendar times: ruche-<Name>.timer starts
// ruche-<Name>.service, a oneshot running Job's command. Persistent: a time
// missed while the box was off is made up once at the next boot.
type Timer struct {
	Name        string // [a-z0-9-], as a service's
	Description string
	// OnCalendar is a systemd calendar expression (systemd.time(7)), its
	// timezone included when it is not the machine's.
	OnCalendar string
	// Job is what runs: Command, Env, Dir and MemoryMax count; its Name
	// is the timer's.
	Job provision.ServiceSpec
}

// TimerUnit is the .timer unit of a timer name; ServiceUnit (UnitName) the
// .service it starts.
func TimerUnit(name string) string { return Prefix + name + ".timer" }

// renderTimer is the .timer unit of t. Its [Install] section is what
// enabling links into timers.target, so that the timer runs from boot on,
// with or without `ruche up`.
func renderTimer(t Timer) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=%s\n", specifiers(t.Description))
	b.WriteString(markerTimer + "\n")
	b.WriteString("\n[Timer]\n")
	fmt.Fprintf(&b, "OnCalendar=%s\n", specifiers(t.OnCalendar))
	b.WriteString("Persistent=true\n")
	fmt.Fprintf(&b, "Unit=%s\n", UnitName(t.Name))
	b.WriteString("\n[Install]\nWantedBy=timers.target\n")
	return b.String()
}

// renderJob is the oneshot .service a timer starts. It waits for the
// network (a target may be an sftp: server) and runs at a lower priority
// than the services that answer people.
func renderJob(root string, t Timer) string {
	sp := t.Job
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=%s\n", specifiers(t.Description))
	b.WriteString(markerTimer + "\n")
	b.WriteString("Wants=network-online.target\nAfter=network-online.target\n")
	b.WriteString("\n[Service]\n")
	b.WriteString("Type=oneshot\n")
	fmt.Fprintf(&b, "ExecStart=%s\n", commandLine(sp.Command))
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", specifiers(serviceDir(root, sp.Dir)))
	for _, kv := range append(append([]string(nil), baseEnv...), sp.Env...) {
		fmt.Fprintf(&b, "Environment=%s\n", quote(kv, false))
	}
	b.WriteString("Nice=10\nIOSchedulingClass=best-effort\nIOSchedulingPriority=7\n")
	if sp.MemoryMax > 0 {
		fmt.Fprintf(&b, "MemoryMax=%d\n", sp.MemoryMax)
	}
	return b.String()
}

func validateTimers(timers []Timer) error {
	var errs []error
	specs := make([]provision.ServiceSpec, len(timers))
	for i, t := range timers {
		if t.OnCalendar == "" || strings.ContainsAny(t.OnCalendar, "\n\r\x00") {
			errs = append(errs, fmt.Errorf("timers[%d] %q: OnCalendar %q is not one line", i, t.Name, t.OnCalendar))
		}
		if strings.ContainsAny(t.Description, "\n\r\x00") {
			errs = append(errs, fmt.Errorf("timers[%d] %q: the description is not one line", i, t.Name))
		}
		specs[i] = t.Job
		specs[i].Name = t.Name
	}
	return errors.Join(append(errs, validate(specs))...)
}

// EnsureTimers makes Ruche's timers match timers: each one's two units
// written when they changed, the timer enabled and started; timers no longer
// wanted stopped, disabled and removed (a run in progress is stopped too).
// A job running when its unit changes finishes as it started.
func (s *Supervisor) EnsureTimers(ctx context.Context, timers []Timer) error {
	if err := validateTimers(timers); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()

	want := map[string]string{}
	for _, t := range timers {
		want[TimerUnit(t.Name)] = renderTimer(t)
		want[UnitName(t.Name)] = renderJob(s.root, t)
	}
	have, err := s.readUnits(markerTimer)
	if err != nil {
		return err
	}
	for unit := range want {
		if _, ours := have[unit]; !ours {
			if err := s.notSomeoneElsesTimer(unit); err != nil {
				return err
			}
		}
	}
	var write, remove, removeTimers, restart []string
	for unit, content := range have {
		next, ok := want[unit]
		switch {
		case !ok:
			remove = append(remove, unit)
			if strings.HasSuffix(unit, ".timer") {
				removeTimers = append(removeTimers, unit)
			}
		case next != content:
			write = append(write, unit)
			if strings.HasSuffix(unit, ".timer") {
				restart = append(restart, unit)
			}
		}
	}
	for unit := range want {
		if _, ok := have[unit]; !ok {
			write = append(write, unit)
		}
	}
	sort.Strings(remove)
	sort.Strings(write)

	var errs []error
	if len(remove) > 0 {
		s.log.Info("removing timers", "units", remove)
		errs = append(errs, s.jobs(ctx, "stop", remove, s.conn.StopUnitContext, true)...)
		if len(removeTimers) > 0 {
			if _, err := s.conn.DisableUnitFilesContext(ctx, removeTimers, false); err != nil && !isNoSuchUnit(err) {
				errs = append(errs, fmt.Errorf("disable %s: %w", strings.Join(removeTimers, " "), err))
			}
		}
		for _, unit := range remove {
			if err := os.Remove(filepath.Join(s.unitDir, unit)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			_ = s.conn.ResetFailedUnitContext(ctx, unit)
		}
	}
	for _, unit := range write {
		s.log.Info("writing timer unit", "unit", unit)
		if err := writeFileAtomic(filepath.Join(s.unitDir, unit), []byte(want[unit])); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if len(write)+len(remove) > 0 {
		_ = syncDir(s.unitDir)
		if err := s.conn.ReloadContext(ctx); err != nil {
			return errors.Join(append(errs, fmt.Errorf("systemd daemon-reload: %w", err))...)
		}
	}
	var names []string
	for _, t := range timers {
		names = append(names, TimerUnit(t.Name))
	}
	sort.Strings(names)
	if len(names) > 0 {
		// Enabling an enabled unit changes nothing; a technician's
		// `systemctl disable` is undone, as an edit of a unit would be.
		if _, _, err := s.conn.EnableUnitFilesContext(ctx, names, false, true); err != nil {
			errs = append(errs, fmt.Errorf("enable %s: %w", strings.Join(names, " "), err))
		}
	}
	// A changed timer is restarted so that its next elapse is computed
	// from the new calendar; the others are started (nothing when they
	// run).
	var start []string
	for _, n := range names {
		if !slices.Contains(restart, n) {
			start = append(start, n)
		}
	}
	errs = append(errs, s.jobs(ctx, "restart", restart, s.conn.RestartUnitContext, false)...)
	errs = append(errs, s.jobs(ctx, "start", start, s.conn.StartUnitContext, false)...)
	return errors.Join(errs...)
}

func (s *Supervisor) notSomeoneElsesTimer(unit string) error {
	data, err := os.ReadFile(filepath.Join(s.unitDir, unit))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !hasMarker(string(data), "") {
		return fmt.Errorf("%s: the unit file exists and was not written by Ruche", filepath.Join(s.unitDir, unit))
	}
	return fmt.Errorf("%s: written by Ruche for a service, not a timer", filepath.Join(s.unitDir, unit))
}
