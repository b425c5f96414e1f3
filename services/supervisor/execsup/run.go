package execsup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// baseEnv is all a child gets from ruche: the box's services must behave the
// same whoever started `ruche up` and from which shell. LC_ALL=C keeps their
// messages, which technicians paste into tickets, in one language.
var baseEnv = []string{
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C",
	"LC_ALL=C",
}

// outputDrain bounds how long a child's output is still read after it
// exited: a grandchild that left the process group may hold the pipe open
// for ever, and Wait must not wait for it.
const outputDrain = 2 * time.Second

// reloadTimeout bounds a ReloadCommand when the caller set no deadline.
const reloadTimeout = time.Minute

// errExited is returned when signalling a child whose main process is gone.
var errExited = errors.New("process already exited")

// supervise keeps one service's child running until r is stopped or the
// service crashed too often.
func (s *Supervisor) supervise(svc *service, r *run, spec provision.ServiceSpec) {
	defer close(r.done)
	log := s.log.With("service", spec.Name)
	policy := newRestartPolicy(s.cfg)
	first := true
	for {
		s.setState(svc, r, provision.StateStarting, nil, "")
		c, err := s.start(spec)
		if first {
			close(r.started)
			first = false
		}
		startedAt := time.Now()
		var how string
		if err != nil {
			how = err.Error()
			log.Error("cannot start", "err", err)
		} else {
			s.setState(svc, r, provision.StateRunning, c, "")
			log.Info("started", "pid", c.pid)
			select {
			case <-c.done:
				how = c.exit
			case <-r.stopc:
				how = s.stop(c, spec, log)
				s.setState(svc, r, provision.StateStopped, nil, how)
				log.Info("stopped", "exit", how)
				return
			}
		}
		uptime := time.Since(startedAt)
		wait, giveUp := policy.crashed(time.Now(), uptime)
		if giveUp {
			log.Error("crashed too often, giving up until restarted",
				"exit", how, "crashes", s.cfg.failLimit, "window", s.cfg.failWindow)
			s.setState(svc, r, provision.StateFailed, nil, how)
			return
		}
		log.Warn("exited, will restart", "exit", how, "uptime", uptime.Round(time.Millisecond), "backoff", wait)
		s.setState(svc, r, provision.StateBackoff, nil, how)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.stopc:
			t.Stop()
			s.setState(svc, r, provision.StateStopped, nil, "")
			log.Info("stopped while waiting to restart")
			return
		}
		s.mu.Lock()
		svc.restarts++
		s.mu.Unlock()
		if s.cfg.onRestart != nil {
			s.cfg.onRestart(spec.Name)
		}
	}
}

// setState records where svc stands, unless r is no longer its run.
func (s *Supervisor) setState(svc *service, r *run, state provision.ServiceState, c *child, lastExit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc.run != r {
		return
	}
	svc.state, svc.since, svc.child = state, time.Now(), c
	if lastExit != "" {
		svc.lastExit = lastExit
	}
}

// child is one started process and the goroutine that reaps it.
type child struct {
	pid int
	cmd *exec.Cmd
	out *output

	// mu makes signalling and reaping exclusive: once the main process is
	// reaped its PID, and so its process group ID, may belong to another
	// process, so nothing is sent after exited is set.
	mu     sync.Mutex
	exited bool

	done chan struct{} // closed once reaped
	exit string        // how it ended, set before done is closed
}

func (s *Supervisor) start(spec provision.ServiceSpec) (*child, error) {
	return s.spawn(spec, spec.Command, nil)
}

// spawn starts argv for spec's service, its output to the service's log
// file and logger, and to extra when not nil.
func (s *Supervisor) spawn(spec provision.ServiceSpec, argv []string, extra io.Writer) (*child, error) {
	cmd := s.command(spec, argv)
	out := s.openOutput(spec.Name)
	var w io.Writer = out
	if extra != nil {
		w = io.MultiWriter(out, extra)
	}
	cmd.Stdout, cmd.Stderr = w, w // the same writer: one pipe, one goroutine, lines kept whole
	cmd.WaitDelay = outputDrain
	if err := startCmd(cmd); err != nil {
		out.Close()
		return nil, err
	}
	c := &child{pid: cmd.Process.Pid, cmd: cmd, out: out, done: make(chan struct{})}
	go c.reap()
	return c, nil
}

// command prepares argv to run as spec says: its environment, its folder,
// its own process group, killed with ruche.
func (s *Supervisor) command(spec provision.ServiceSpec, argv []string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string(nil), baseEnv...), spec.Env...)
	cmd.Dir = filepath.Join(s.root, filepath.FromSlash(spec.Dir))
	cmd.SysProcAttr = sysProcAttr()
	return cmd
}

// reap waits for the child. The main process is first waited for without
// being reaped, so that what is left of its process group (workers, a shell's
// children) can be killed while the group ID is still surely its own: a
// service's processes never outlive it, whether it crashed or was stopped.
func (c *child) reap() {
	groupSafe := waitExited(c.pid) == nil
	c.mu.Lock()
	if groupSafe {
		_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	}
	c.exited = true
	c.mu.Unlock()

	err := c.cmd.Wait()
	c.out.Close()
	switch {
	case c.cmd.ProcessState != nil:
		c.exit = c.cmd.ProcessState.String()
	case err != nil:
		c.exit = err.Error()
	}
	close(c.done)
}

// signal sends sig to the main process, or to its whole process group.
func (c *child) signal(sig syscall.Signal, group bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited {
		return errExited
	}
	pid := c.pid
	if group {
		pid = -pid
	}
	return syscall.Kill(pid, sig)
}

// stop sends the stop signal to the child's process group, then SIGKILL
// after the grace period, and returns how the child ended.
func (s *Supervisor) stop(c *child, spec provision.ServiceSpec, log *slog.Logger) string {
	sig := syscall.SIGTERM
	if spec.StopSignal != "" {
		sig, _ = provision.ParseSignal(spec.StopSignal) // checked by validate
	}
	grace := s.cfg.stopTimeout
	if spec.StopTimeout > 0 {
		grace = time.Duration(spec.StopTimeout) * time.Second
	}
	_ = c.signal(sig, true)
	// A stopped (SIGSTOP) process would never act on the signal.
	_ = c.signal(syscall.SIGCONT, true)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
		return c.exit
	case <-t.C:
	}
	log.Warn("did not stop in time, killing", "pid", c.pid, "signal", sig.String(), "timeout", grace)
	_ = c.signal(syscall.SIGKILL, true)
	<-c.done
	return c.exit
}

// runReloadCommand runs spec's ReloadCommand beside the service, with the
// service's environment and folder; its output goes to the service's log
// and, when it fails, into the error.
func (s *Supervisor) runReloadCommand(ctx context.Context, spec provision.ServiceSpec) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, reloadTimeout)
		defer cancel()
	}
	var out strings.Builder
	c, err := s.spawn(spec, spec.ReloadCommand, &out)
	if err != nil {
		return fmt.Errorf("reload %s: %w", spec.Name, err)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		_ = c.signal(syscall.SIGKILL, true)
		<-c.done
		return fmt.Errorf("reload %s: %s: %w", spec.Name, strings.Join(spec.ReloadCommand, " "), ctx.Err())
	}
	if ps := c.cmd.ProcessState; ps == nil || !ps.Success() {
		return fmt.Errorf("reload %s: %s: %s: %s", spec.Name, strings.Join(spec.ReloadCommand, " "),
			c.exit, strings.TrimSpace(out.String()))
	}
	return nil
}

// openOutput opens the service's log file for its next child. A file that
// cannot be opened costs the file, not the service: lines still reach the
// logger.
func (s *Supervisor) openOutput(name string) *output {
	o := &output{log: s.out.With("service", name)}
	dir := filepath.Join(s.root, filepath.FromSlash(LogDir))
	path := filepath.Join(dir, name+".log")
	err := os.MkdirAll(dir, 0o750)
	if err == nil {
		o.file, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	}
	if err != nil {
		s.log.Warn("cannot open log file, output goes to the logger only", "service", name, "err", err)
	}
	return o
}
