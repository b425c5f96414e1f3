package provision

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// serviceSignals are the signals a ServiceSpec may name (ReloadSignal,
// StopSignal): those a service's reload or stop uses.
var serviceSignals = map[string]syscall.Signal{
	"HUP":   syscall.SIGHUP,
	"INT":   syscall.SIGINT,
	"QUIT":  syscall.SIGQUIT,
	"ABRT":  syscall.SIGABRT,
	"KILL":  syscall.SIGKILL,
	"USR1":  syscall.SIGUSR1,
	"USR2":  syscall.SIGUSR2,
	"ALRM":  syscall.SIGALRM,
	"TERM":  syscall.SIGTERM,
	"CONT":  syscall.SIGCONT,
	"STOP":  syscall.SIGSTOP,
	"WINCH": syscall.SIGWINCH,
}

// SignalName is a signal's name without "SIG", upper case: "sighup" and
// "SIGHUP" are "HUP".
func SignalName(name string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "SIG")
}

// ParseSignal reads "HUP", "SIGHUP" or "hup".
func ParseSignal(name string) (syscall.Signal, error) {
	sig, ok := serviceSignals[SignalName(name)]
	if !ok {
		return 0, fmt.Errorf("unknown signal %q", name)
	}
	return sig, nil
}

var serviceNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// ValidServiceName says name may name a service: [a-z0-9-], neither
// starting nor ending with "-".
func ValidServiceName(name string) bool { return serviceNameRE.MatchString(name) }

// ServiceProblem is a problem of the i-th spec of a list, naming it.
func ServiceProblem(i int, sp ServiceSpec, format string, args ...any) error {
	return fmt.Errorf("services[%d] %q: %s", i, sp.Name, fmt.Sprintf(format, args...))
}

// ValidateServices reports every problem of specs at once: what every
// supervisor backend needs of them. A backend adds what it alone cannot
// hold.
func ValidateServices(specs []ServiceSpec) []error {
	var errs []error
	seen := make(map[string]bool, len(specs))
	for i, sp := range specs {
		bad := func(format string, args ...any) {
			errs = append(errs, ServiceProblem(i, sp, format, args...))
		}
		if !ValidServiceName(sp.Name) {
			bad("name must be made of [a-z0-9-]")
		}
		if seen[sp.Name] {
			bad("name used twice")
		}
		seen[sp.Name] = true
		if len(sp.Command) == 0 {
			bad("no command")
		} else if !filepath.IsAbs(sp.Command[0]) {
			bad("command %q is not an absolute path", sp.Command[0])
		}
		if len(sp.ReloadCommand) > 0 && !filepath.IsAbs(sp.ReloadCommand[0]) {
			bad("reload command %q is not an absolute path", sp.ReloadCommand[0])
		}
		if sp.Dir != "" && !filepath.IsLocal(filepath.FromSlash(sp.Dir)) {
			bad("dir %q is not a path inside the root", sp.Dir)
		}
		for _, kv := range sp.Env {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				bad("env %q is not KEY=VALUE", kv)
			}
		}
		for _, sig := range []string{sp.ReloadSignal, sp.StopSignal} {
			if sig == "" {
				continue
			}
			if _, err := ParseSignal(sig); err != nil {
				bad("%v", err)
			}
		}
		if sp.StopTimeout < 0 {
			bad("stop timeout %d is negative", sp.StopTimeout)
		}
	}
	return errs
}
