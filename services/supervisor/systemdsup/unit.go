package systemdsup

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/ruche-box/ruche/provision"
)

// Prefix starts the name of every unit Ruche writes: ruche-<service>.service.
const Prefix = "ruche-"

// Marker is the line that tells a unit Ruche wrote, and of which kind, from
// one a technician or a package put there: Ruche rewrites and removes only
// units carrying it. systemd ignores keys starting with X-.
const (
	markerKey     = "X-Ruche-Managed="
	markerService = markerKey + "service"
	markerTimer   = markerKey + "timer"
)

// header opens every unit Ruche writes, for whoever opens the file.
const header = "# Written by Ruche (ruche up) from the box's pack: changes made here are\n" +
	"# overwritten at the next apply. Edit the pack, or use a drop-in\n" +
	"# (systemctl edit), to change this service.\n"

// Restart policy, as close as systemd 252 gets to the exec backend's: a
// crashed service starts again after a short wait, and one that crashes 10
// times in 5 minutes is left failed until Restart (execsup.DefaultFailLimit
// and DefaultFailWindow). systemd 252 has no growing backoff (RestartSteps=
// came in 254).
const (
	restartSec         = "200ms"
	startLimitInterval = "5min"
	startLimitBurst    = 10
	defaultStopTimeout = 10 // seconds, execsup.DefaultStopTimeout
)

// baseEnv is all a service gets besides its spec's Env, as under the exec
// backend: the same behaviour whichever backend runs it.
var baseEnv = []string{
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C",
	"LC_ALL=C",
}

// UnitName is the unit that runs the service name.
func UnitName(name string) string { return Prefix + name + ".service" }

// serviceName is the service a unit file name runs, "" when it is not one
// of Ruche's service units.
func serviceName(unit string) string {
	n, ok := strings.CutPrefix(unit, Prefix)
	if !ok {
		return ""
	}
	n, ok = strings.CutSuffix(n, ".service")
	if !ok || !provision.ValidServiceName(n) {
		return ""
	}
	return n
}

// renderService is the unit file of a service whose paths are under root.
func renderService(root string, sp provision.ServiceSpec) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=Ruche: %s\n", specifiers(sp.Name))
	b.WriteString(markerService + "\n")
	fmt.Fprintf(&b, "StartLimitIntervalSec=%s\nStartLimitBurst=%d\n", startLimitInterval, startLimitBurst)
	b.WriteString("\n[Service]\n")
	// exec: the start job fails when the binary cannot be run, as the
	// exec backend's start does, instead of succeeding at fork.
	b.WriteString("Type=exec\n")
	fmt.Fprintf(&b, "ExecStart=%s\n", commandLine(sp.Command))
	if len(sp.ReloadCommand) > 0 {
		fmt.Fprintf(&b, "ExecReload=%s\n", commandLine(sp.ReloadCommand))
	}
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", specifiers(serviceDir(root, sp.Dir)))
	for _, kv := range append(append([]string(nil), baseEnv...), sp.Env...) {
		fmt.Fprintf(&b, "Environment=%s\n", quote(kv, false))
	}
	fmt.Fprintf(&b, "Restart=always\nRestartSec=%s\n", restartSec)
	stop := "TERM"
	if sp.StopSignal != "" {
		stop = provision.SignalName(sp.StopSignal)
	}
	timeout := sp.StopTimeout
	if timeout == 0 {
		timeout = defaultStopTimeout
	}
	fmt.Fprintf(&b, "KillSignal=SIG%s\nTimeoutStopSec=%d\n", stop, timeout)
	if sp.MemoryMax > 0 {
		fmt.Fprintf(&b, "MemoryMax=%d\n", sp.MemoryMax)
	}
	return b.String()
}

// serviceDir is the absolute working directory of a spec's Dir.
func serviceDir(root, dir string) string {
	if root == "" {
		root = "/"
	}
	return path.Join(filepath.ToSlash(root), dir)
}

// commandLine writes argv for ExecStart=, each word quoted so that systemd
// hands the program exactly these bytes: no variable expansion ($ doubled),
// no specifier (% doubled), C escapes for the rest.
func commandLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = quote(a, true)
	}
	return strings.Join(words, " ")
}

// quote is s between double quotes as systemd's unit parser reads them
// (extract_first_word with EXTRACT_CUNESCAPE), with specifiers escaped, and
// $ escaped too where variables are expanded (command lines).
func quote(s string, command bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '%':
			b.WriteString("%%")
		case c == '$' && command:
			b.WriteString("$$")
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// specifiers escapes % in a value that systemd reads unquoted.
func specifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// validate reports every problem in specs at once, as the exec backend
// does, plus what a unit file cannot hold.
func validate(specs []provision.ServiceSpec) error {
	errs := provision.ValidateServices(specs)
	for i, sp := range specs {
		bad := func(format string, args ...any) {
			errs = append(errs, provision.ServiceProblem(i, sp, format, args...))
		}
		// A line break would end the WorkingDirectory= line early.
		if strings.ContainsAny(sp.Dir, "\n\r\x00") {
			bad("dir %q holds a line break", sp.Dir)
		}
		for _, a := range append(append([]string(nil), sp.Command...), sp.ReloadCommand...) {
			if strings.IndexByte(a, 0) >= 0 {
				bad("command holds a NUL byte")
			}
		}
		if sp.MemoryMax < 0 {
			bad("memory max %d is negative", sp.MemoryMax)
		}
	}
	return errors.Join(errs...)
}

// exitText says how a service's main process last ended, in the words of
// the exec backend (Go's os.ProcessState): "exit status 1", "signal: killed".
// code is systemd's ExecMainCode (a CLD_* value), status ExecMainStatus.
func exitText(code, status int32) string {
	switch code {
	case 1: // CLD_EXITED
		return "exit status " + strconv.Itoa(int(status))
	case 2, 3: // CLD_KILLED, CLD_DUMPED
		s := "signal: " + syscall.Signal(status).String()
		if code == 3 {
			s += " (core dumped)"
		}
		return s
	}
	return ""
}
