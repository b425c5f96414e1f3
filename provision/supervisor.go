package provision

import (
	"context"
	"time"
)

// Supervisor runs the box's services. Two backends implement it: exec
// (child processes under `ruche up`, for development, CI and containers) and
// systemd (units over D-Bus, on a box). Both get the same ServiceSpecs.
type Supervisor interface {
	// Ensure makes the set of running services equal to specs: starts new
	// ones, stops the ones no longer wanted, restarts those whose spec changed.
	Ensure(ctx context.Context, specs []ServiceSpec) error
	// Reload makes a running service reread its configuration (its
	// ReloadSignal or ReloadCommand), or restarts it when it has neither.
	Reload(ctx context.Context, name string) error
	// Restart stops then starts a service.
	Restart(ctx context.Context, name string) error
	// Status reports every supervised service.
	Status() []ServiceStatus
	// Shutdown stops every service (StopSignal, then kill after StopTimeout).
	Shutdown(ctx context.Context) error
}

// ServiceState is where a supervised service stands.
type ServiceState string

// Service states.
const (
	StateStarting ServiceState = "starting"
	StateRunning  ServiceState = "running"
	StateBackoff  ServiceState = "backoff" // crashed, waiting to restart
	StateStopped  ServiceState = "stopped"
	StateFailed   ServiceState = "failed" // gave up restarting
)

// ServiceStatus is one service's state as a supervisor sees it.
type ServiceStatus struct {
	Name     string
	State    ServiceState
	PID      int
	Restarts int       // times restarted after a crash since ruche started
	Since    time.Time // when it entered State
	LastExit string    // how it last ended ("exit status 1", "signal: killed")
}
