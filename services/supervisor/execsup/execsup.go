// Package execsup supervises the box's services as child processes of
// `ruche up`. It is the backend for development, CI and containers, where
// systemd is not there to do it; on a box the systemd backend gets the same
// provision.ServiceSpecs.
package execsup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// Defaults, chosen so that a service that crashes at start costs little CPU
// on a 1 GiB box, while one that crashes once a day is restarted at once.
const (
	DefaultMinBackoff   = 200 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultBackoffReset = 10 * time.Second // up this long: the next crash starts over at DefaultMinBackoff
	DefaultFailLimit    = 10               // crashes within DefaultFailWindow before giving up
	DefaultFailWindow   = 5 * time.Minute
	DefaultStopTimeout  = 10 * time.Second // when a spec's StopTimeout is 0
)

// LogDir holds one <service>.log per service, relative to the root.
const LogDir = "var/log/ruche"

// ErrShutdown is returned by calls made after Shutdown.
var ErrShutdown = errors.New("supervisor is shut down")

// Option tunes a Supervisor.
type Option func(*config)

type config struct {
	minBackoff, maxBackoff time.Duration
	backoffReset           time.Duration
	failLimit              int
	failWindow             time.Duration
	stopTimeout            time.Duration
	onRestart              func(name string)
}

// WithBackoff sets the first wait before restarting a crashed service and
// the ceiling it doubles up to.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(c *config) {
		if minWait > 0 {
			c.minBackoff = minWait
		}
		c.maxBackoff = max(maxWait, c.minBackoff)
	}
}

// WithBackoffReset sets how long a child must stay up for its next crash to
// be restarted after the shortest wait again.
func WithBackoffReset(d time.Duration) Option {
	return func(c *config) { c.backoffReset = d }
}

// WithFailLimit sets how many crashes within window make a service failed:
// it is then left stopped until Restart. A limit of 0 never gives up.
func WithFailLimit(limit int, window time.Duration) Option {
	return func(c *config) { c.failLimit, c.failWindow = limit, window }
}

// WithStopTimeout sets the grace period between the stop signal and SIGKILL
// for specs whose StopTimeout is 0.
func WithStopTimeout(d time.Duration) Option {
	return func(c *config) { c.stopTimeout = d }
}

// OnRestart calls fn, from the service's own goroutine, each time a crashed
// service is started again; the daemon counts these in its metrics. fn must
// not block.
func OnRestart(fn func(name string)) Option {
	return func(c *config) { c.onRestart = fn }
}

// Supervisor runs services as child processes, each in its own process
// group, restarted when they crash and reaped when they end.
type Supervisor struct {
	root string
	log  *slog.Logger // the supervisor's own events
	out  *slog.Logger // the children's output
	cfg  config

	// ops serialises Ensure, Reload, Restart and Shutdown; a channel rather
	// than a mutex so that waiting for it honours the caller's context.
	ops chan struct{}

	mu       sync.Mutex // guards the fields below and every service's status
	services map[string]*service
	closed   bool
}

var _ provision.Supervisor = (*Supervisor)(nil)

// New returns an exec supervisor. Children's stdout/stderr go to
// <root>/var/log/ruche/<name>.log (appended, created 0640, folder 0750) and,
// line by line, to logger with attribute service=<name>.
func New(root string, logger *slog.Logger, opts ...Option) *Supervisor {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := config{
		minBackoff:   DefaultMinBackoff,
		maxBackoff:   DefaultMaxBackoff,
		backoffReset: DefaultBackoffReset,
		failLimit:    DefaultFailLimit,
		failWindow:   DefaultFailWindow,
		stopTimeout:  DefaultStopTimeout,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return &Supervisor{
		root:     root,
		log:      logger.With("component", "supervisor"),
		out:      logger,
		cfg:      cfg,
		ops:      make(chan struct{}, 1),
		services: make(map[string]*service),
	}
}

// service is one supervised name. It outlives its runs: Restarts counts
// crashes since ruche started, across spec changes and restarts.
type service struct {
	name string
	spec provision.ServiceSpec
	run  *run // the goroutine in charge, nil before the first start

	// Status, guarded by Supervisor.mu.
	state    provision.ServiceState
	since    time.Time
	child    *child // the running child, nil when none
	restarts int
	lastExit string
}

// run is one supervising goroutine: it starts the child, waits for it,
// restarts it, until told to stop or it gives up.
type run struct {
	stopOnce sync.Once
	stopc    chan struct{}
	started  chan struct{} // closed after the first start attempt
	done     chan struct{} // closed once the goroutine returned, its child reaped
}

func (r *run) stop() { r.stopOnce.Do(func() { close(r.stopc) }) }

func (s *Supervisor) lock(ctx context.Context) error {
	select {
	case s.ops <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Supervisor) unlock() { <-s.ops }

// Ensure makes the running services match specs. Specs are checked first;
// when one is wrong nothing changes. Services whose spec is unchanged are
// left alone, even failed ones: Restart is how one asks for another try.
func (s *Supervisor) Ensure(ctx context.Context, specs []provision.ServiceSpec) error {
	if err := validate(specs); err != nil {
		return err
	}
	want := make(map[string]provision.ServiceSpec, len(specs))
	for _, sp := range specs {
		want[sp.Name] = cloneSpec(sp)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrShutdown
	}
	var stopping, removed []*service
	var toStart []string
	for name, svc := range s.services {
		sp, ok := want[name]
		switch {
		case !ok:
			removed = append(removed, svc)
			stopping = append(stopping, svc)
			s.log.Info("stopping removed service", "service", name)
		case !reflect.DeepEqual(svc.spec, sp):
			stopping = append(stopping, svc)
			toStart = append(toStart, name)
			s.log.Info("restarting changed service", "service", name)
		}
	}
	for name := range want {
		if _, ok := s.services[name]; !ok {
			s.services[name] = &service{name: name, state: provision.StateStopped, since: time.Now()}
			toStart = append(toStart, name)
			s.log.Info("starting new service", "service", name)
		}
	}
	s.mu.Unlock()

	// Removed and changed services stop first, so that the new ones find
	// their ports and files free.
	if err := s.stopAll(ctx, stopping); err != nil {
		return err
	}
	s.mu.Lock()
	for _, svc := range removed {
		delete(s.services, svc.name)
	}
	s.mu.Unlock()

	sort.Strings(toStart)
	runs := make([]*run, 0, len(toStart))
	for _, name := range toStart {
		s.mu.Lock()
		svc := s.services[name]
		svc.spec = want[name]
		s.mu.Unlock()
		runs = append(runs, s.launch(svc))
	}
	return waitStarted(ctx, runs)
}

// Reload makes a running service reread its files: its ReloadSignal to the
// main process, else its ReloadCommand, else a restart. A failed service is
// restarted, since the new files may be what it was missing; one waiting to
// restart is left to read them when it starts.
func (s *Supervisor) Reload(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	svc, err := s.lookup(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	spec, state, c := svc.spec, svc.state, svc.child
	s.mu.Unlock()

	if state == provision.StateFailed || state == provision.StateStopped ||
		(spec.ReloadSignal == "" && len(spec.ReloadCommand) == 0) {
		s.log.Info("reloading by restart", "service", name, "state", state)
		return s.restart(ctx, svc)
	}
	if c == nil {
		return nil
	}
	if spec.ReloadSignal != "" {
		sig, err := provision.ParseSignal(spec.ReloadSignal)
		if err != nil {
			return fmt.Errorf("reload %s: %w", name, err)
		}
		s.log.Info("reloading", "service", name, "signal", spec.ReloadSignal, "pid", c.pid)
		if err := c.signal(sig, false); err != nil && !errors.Is(err, errExited) {
			return fmt.Errorf("reload %s: signal %s to pid %d: %w", name, spec.ReloadSignal, c.pid, err)
		}
		return nil
	}
	s.log.Info("reloading", "service", name, "command", spec.ReloadCommand)
	return s.runReloadCommand(ctx, spec)
}

// Restart stops a service and starts it again with a fresh backoff, which
// is also how a failed service gets another try.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	svc, err := s.lookup(name)
	if err != nil {
		return err
	}
	s.log.Info("restarting", "service", name)
	return s.restart(ctx, svc)
}

func (s *Supervisor) restart(ctx context.Context, svc *service) error {
	if err := s.stopAll(ctx, []*service{svc}); err != nil {
		return err
	}
	return waitStarted(ctx, []*run{s.launch(svc)})
}

// Status reports every service, sorted by name.
func (s *Supervisor) Status() []provision.ServiceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]provision.ServiceStatus, 0, len(s.services))
	for _, svc := range s.services {
		st := provision.ServiceStatus{
			Name:     svc.name,
			State:    svc.state,
			Restarts: svc.restarts,
			Since:    svc.since,
			LastExit: svc.lastExit,
		}
		if svc.child != nil {
			st.PID = svc.child.pid
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b provision.ServiceStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Shutdown stops every service in parallel and waits until each child is
// reaped. When ctx ends first it returns ctx's error; the children are still
// killed and reaped in the background.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	s.mu.Lock()
	s.closed = true
	all := make([]*service, 0, len(s.services))
	for _, svc := range s.services {
		all = append(all, svc)
	}
	s.mu.Unlock()
	if err := s.stopAll(ctx, all); err != nil {
		return err
	}
	s.log.Info("all services stopped", "count", len(all))
	return nil
}

func (s *Supervisor) lookup(name string) (*service, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrShutdown
	}
	svc, ok := s.services[name]
	if !ok {
		return nil, fmt.Errorf("no service %q", name)
	}
	return svc, nil
}

// launch starts a new run for svc, whose previous run (if any) is over.
func (s *Supervisor) launch(svc *service) *run {
	r := &run{stopc: make(chan struct{}), started: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	svc.run = r
	spec := svc.spec
	s.mu.Unlock()
	go s.supervise(svc, r, spec)
	return r
}

// stopAll stops the services' runs in parallel and waits for them all.
func (s *Supervisor) stopAll(ctx context.Context, svcs []*service) error {
	var runs []*run
	s.mu.Lock()
	for _, svc := range svcs {
		if svc.run != nil {
			runs = append(runs, svc.run)
		}
	}
	s.mu.Unlock()
	for _, r := range runs {
		r.stop()
	}
	for _, r := range runs {
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func waitStarted(ctx context.Context, runs []*run) error {
	for _, r := range runs {
		select {
		case <-r.started:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// validate reports every problem in specs at once.
func validate(specs []provision.ServiceSpec) error {
	return errors.Join(provision.ValidateServices(specs)...)
}

// cloneSpec copies the slices so that the caller may reuse its own, and
// makes empty ones nil so that DeepEqual does not see a change where there
// is none.
func cloneSpec(sp provision.ServiceSpec) provision.ServiceSpec {
	clone := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return slices.Clone(s)
	}
	sp.Command = clone(sp.Command)
	sp.Env = clone(sp.Env)
	sp.ReloadCommand = clone(sp.ReloadCommand)
	return sp
}
