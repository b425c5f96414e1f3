// Package backup drives restic for the box: what is backed up, to which
// targets, with which progress, and what went wrong in plain words.
//
// restic runs as a binary behind one seam (Runner), always through its
// scripting contract: --json lines typed by message_type, documented exit
// codes, LC_ALL=C, the password from a file, the cache under the box's root,
// and locks (never --no-lock). An unknown exit code is a failure.
//
// Two levels:
//   - Repo is one restic repository: Init, Backup, Snapshots, Check, Unlock,
//     and Run for any other command (restore, forget, ls). A lock left by a
//     killed run is removed with `restic unlock` (which only removes stale
//     locks) and the command is tried once more.
//   - Run backs up a box (Options.Root and its live pack) to every target of
//     the pack in turn, and records each target's result in State.
package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultBinary is where a box keeps restic: the image ships the same pinned
// build as `make bin/restic` (restic 0.18.1), not Debian's 0.14, whose exit
// codes and JSON errors the driver does not rely on.
const DefaultBinary = "/usr/lib/ruche/restic"

// BinaryEnv names the environment variable that overrides DefaultBinary.
const BinaryEnv = "RUCHE_RESTIC"

// Binary returns the restic to run: flag when set, else $RUCHE_RESTIC, else
// DefaultBinary.
func Binary(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(BinaryEnv); env != "" {
		return env
	}
	return DefaultBinary
}

// restic's exit codes (0.18, doc/075_scripting.rst).
const (
	ExitOK            = 0
	ExitFatal         = 1  // the command failed
	ExitGoRuntime     = 2  // a Go runtime error (a bug in restic)
	ExitPartial       = 3  // backup: the snapshot was made, some files could not be read
	ExitRepoMissing   = 10 // the repository does not exist
	ExitLockFailed    = 11 // the repository is locked
	ExitWrongPassword = 12 // wrong password
	ExitInterrupted   = 130
)

// Command is one run of a program.
type Command struct {
	Path string
	Args []string
	Env  []string // the whole environment: nothing is inherited
	Dir  string   // working directory; "" for the current one
}

// String shows the command as a shell would read it, for error messages.
func (c Command) String() string {
	return strings.Join(append([]string{c.Path}, c.Args...), " ")
}

// Runner runs a command to its end, writing its standard output and error to
// stdout and stderr as they come, and returns its exit code. err is non-nil
// when the command could not start or did not exit by itself (a signal);
// the code is then -1. It exists so that tests can feed restic's output to
// the parser; ExecRunner is the real one.
type Runner interface {
	Run(ctx context.Context, c Command, stdout, stderr io.Writer) (code int, err error)
}

// ExecRunner runs commands with os/exec. A cancelled context sends SIGINT
// first, so that restic removes its lock, and kills after a grace period.
type ExecRunner struct{}

// interruptGrace is how long restic has to stop after SIGINT.
const interruptGrace = 30 * time.Second

// Run implements Runner.
func (ExecRunner) Run(ctx context.Context, c Command, stdout, stderr io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = interruptGrace
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, fmt.Errorf("%s: %s", c.Path, ws.Signal())
		}
		return exit.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// Repo is one restic repository and how to reach it.
type Repo struct {
	// Binary is restic's path (Binary("") when empty).
	Binary string
	// Location is the repository as restic reads it ("/media/usb/restic",
	// "sftp:user@host:/path", "rest:https://host/path"). It is passed in
	// RESTIC_REPOSITORY, not on the command line, since it may hold a
	// rest: server's credentials.
	Location string
	// PasswordFile holds the repository's password (restic trims the
	// trailing newline).
	PasswordFile string
	// CacheDir is restic's cache (never in $HOME).
	CacheDir string
	// Options are extended options, each passed as -o KEY=VALUE
	// ("sftp.command=ssh ...").
	Options []string
	// Env is added to restic's environment (PATH, LC_ALL=C and HOME are
	// always set; nothing else is inherited, so that a RESTIC_* variable
	// of the caller cannot change what runs).
	Env []string
	// Runner runs restic; nil is ExecRunner.
	Runner Runner
	// Log receives one line per restic command; nil is slog.Default().
	Log *slog.Logger
}

// Display is the repository with any password in it hidden, for messages.
func (r *Repo) Display() string { return DisplayLocation(r.Location) }

func (r *Repo) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// Message is one line of restic's --json output.
type Message struct {
	Type string          // message_type: "status", "summary", "error", "verbose_status", ...
	Raw  json.RawMessage // the whole line
}

// Decode reads the message into v.
func (m Message) Decode(v any) error { return json.Unmarshal(m.Raw, v) }

// maxKept bounds what is kept of restic's output for error messages.
const maxKept = 64 << 10

// lockingCommands take a lock on the repository: a lock error on them is
// answered by `restic unlock` and one more try.
var lockingCommands = map[string]bool{
	"backup": true, "check": true, "forget": true, "prune": true, "restore": true,
	"snapshots": true, "ls": true, "stats": true, "tag": true, "rebuild-index": true,
	"repair": true, "copy": true, "diff": true, "dump": true, "find": true, "cat": true,
	"rewrite": true, "mount": true, "key": true, "recover": true,
}

// Run runs `restic --json ARGS...` on the repository, in dir when not
// empty, and calls onMessage (when not nil) for every JSON line of its
// standard output, in order. A failure is an *Error whose Kind says what
// went wrong. A locking command that finds the repository locked runs
// `restic unlock` (stale locks only) and is tried once more.
func (r *Repo) Run(ctx context.Context, dir string, args []string, onMessage func(Message)) error {
	_, err := r.run(ctx, dir, args, onMessage)
	if errors.Is(err, ErrLocked) && len(args) > 0 && lockingCommands[args[0]] && ctx.Err() == nil {
		r.log().Info("restic: repository locked, removing stale locks", "repository", r.Display(), "command", args[0])
		if uerr := r.Unlock(ctx); uerr != nil {
			r.log().Warn("restic unlock failed", "repository", r.Display(), "err", uerr)
		}
		_, err = r.run(ctx, dir, args, onMessage)
	}
	return err
}

// outcome is what one restic run left besides its messages.
type outcome struct {
	code   int
	stderr string
}

// run runs restic once.
func (r *Repo) run(ctx context.Context, dir string, args []string, onMessage func(Message)) (outcome, error) {
	c := r.command(dir, args)
	runner := r.Runner
	if runner == nil {
		runner = ExecRunner{}
	}
	out := &lineWriter{}
	var errLines []string // restic's non-JSON lines on stdout, for errors
	out.line = func(line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		var head struct {
			Type string `json:"message_type"`
		}
		if line[0] == '{' && json.Unmarshal(line, &head) == nil && head.Type != "" {
			if onMessage != nil {
				onMessage(Message{Type: head.Type, Raw: append(json.RawMessage(nil), line...)})
			}
			return
		}
		if len(errLines) < 50 {
			errLines = append(errLines, string(line))
		}
	}
	stderr := &tailBuffer{max: maxKept}
	start := time.Now()
	code, err := runner.Run(ctx, c, out, stderr)
	out.flush()
	o := outcome{code: code, stderr: stderr.String()}
	r.log().Debug("restic", "command", args[0], "repository", r.Display(), "exit", code, "duration", time.Since(start).Round(time.Millisecond))
	if err != nil {
		if ctx.Err() != nil {
			return o, &Error{Kind: ErrInterrupted, Command: args[0], Repository: r.Display(), Code: -1, Err: ctx.Err()}
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return o, &Error{Kind: ErrNoBinary, Command: args[0], Repository: r.Display(), Code: -1, Message: c.Path, Err: err}
		}
		return o, &Error{Command: args[0], Repository: r.Display(), Code: -1, Message: err.Error(), Err: err}
	}
	if code == ExitOK {
		return o, nil
	}
	return o, classify(args[0], r.Display(), code, o.stderr, errLines)
}

// command builds restic's command line and environment.
func (r *Repo) command(dir string, args []string) Command {
	argv := []string{"--json"}
	if r.PasswordFile != "" {
		argv = append(argv, "--password-file", r.PasswordFile)
	}
	if r.CacheDir != "" {
		argv = append(argv, "--cache-dir", r.CacheDir)
	}
	for _, o := range r.Options {
		argv = append(argv, "-o", o)
	}
	argv = append(argv, args...)
	home := r.CacheDir
	if home == "" {
		home = os.TempDir()
	}
	env := []string{
		"PATH=" + envOr("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
		"LC_ALL=C",
		// Nothing in the caller's home: ssh and restic look there
		// only when told nothing else.
		"HOME=" + home,
		// restic writes its JSON status 60 times a second by default;
		// a few are enough for a progress line and cost less.
		"RESTIC_PROGRESS_FPS=4",
	}
	if t := os.Getenv("TMPDIR"); t != "" {
		env = append(env, "TMPDIR="+t)
	}
	if r.Location != "" {
		env = append(env, "RESTIC_REPOSITORY="+r.Location)
	}
	env = append(env, r.Env...)
	bin := r.Binary
	if bin == "" {
		bin = Binary("")
	}
	return Command{Path: bin, Args: argv, Env: env, Dir: dir}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Init creates the repository.
func (r *Repo) Init(ctx context.Context) error {
	return r.Run(ctx, "", []string{"init"}, nil)
}

// Unlock removes the repository's stale locks: locks of processes that no
// longer exist on this machine, or older than restic's limit. Locks of a
// command still running are left alone.
func (r *Repo) Unlock(ctx context.Context) error {
	_, err := r.run(ctx, "", []string{"unlock"}, nil)
	return err
}

// BackupOptions say what one backup saves.
type BackupOptions struct {
	// Dir is where restic runs; Paths are relative to it, so that the
	// snapshot holds them under these relative names (etc/ruche/...,
	// var/lib/ruche/...) whatever the root was, and a restore with
	// --target ROOT puts them back under ROOT.
	Dir   string
	Paths []string
	// Excludes are restic patterns matched against absolute paths.
	Excludes []string
	Host     string   // the snapshot's host
	Tags     []string // the snapshot's tags
}

// Backup saves opts.Paths into a new snapshot. progress, when not nil, gets
// every status restic reports. On ExitPartial (some files unreadable) the
// summary is returned with an *Error of kind ErrPartial listing the files.
func (r *Repo) Backup(ctx context.Context, opts BackupOptions, progress func(Progress)) (*Summary, error) {
	if len(opts.Paths) == 0 {
		return nil, errors.New("backup: nothing to back up")
	}
	args := []string{"backup"}
	if opts.Host != "" {
		args = append(args, "--host", opts.Host)
	}
	for _, t := range opts.Tags {
		args = append(args, "--tag", t)
	}
	for _, e := range opts.Excludes {
		args = append(args, "--exclude", e)
	}
	args = append(args, "--")
	args = append(args, opts.Paths...)
	var (
		summary   *Summary
		problems  []FileError
		decodeErr error
	)
	err := r.Run(ctx, opts.Dir, args, func(m Message) {
		switch m.Type {
		case "status":
			if progress == nil {
				return
			}
			var s statusMessage
			if m.Decode(&s) == nil {
				progress(s.progress())
			}
		case "summary":
			var s Summary
			if err := m.Decode(&s); err != nil {
				decodeErr = err
				return
			}
			summary = &s
		case "error":
			var e errorMessage
			if m.Decode(&e) == nil && len(problems) < maxFileErrors {
				problems = append(problems, FileError{Path: e.Item, During: e.During, Message: e.Error.Message})
			}
		}
	})
	var re *Error
	if errors.As(err, &re) && re.Kind == ErrPartial {
		re.Files = problems
	}
	if err != nil {
		return summary, err
	}
	if summary == nil {
		if decodeErr == nil {
			decodeErr = errors.New("no summary message")
		}
		return nil, &Error{Command: "backup", Repository: r.Display(), Message: "restic: " + decodeErr.Error(), Err: decodeErr}
	}
	return summary, nil
}

// maxFileErrors bounds the unreadable files kept for a report.
const maxFileErrors = 20

// SnapshotFilter selects snapshots; the zero value selects all.
type SnapshotFilter struct {
	Host   string
	Tags   []string // every tag must be present
	Latest int      // only the latest N per host and paths, 0 for all
}

// Snapshots lists the repository's snapshots, oldest first.
func (r *Repo) Snapshots(ctx context.Context, f SnapshotFilter) ([]Snapshot, error) {
	args := []string{"snapshots"}
	if f.Host != "" {
		args = append(args, "--host", f.Host)
	}
	if len(f.Tags) > 0 {
		args = append(args, "--tag", strings.Join(f.Tags, ","))
	}
	if f.Latest > 0 {
		args = append(args, "--latest", fmt.Sprint(f.Latest))
	}
	var (
		buf   bytes.Buffer
		snaps []Snapshot
	)
	// `restic snapshots --json` prints one JSON array, not typed lines:
	// capture standard output whole.
	runner := r.Runner
	if runner == nil {
		runner = ExecRunner{}
	}
	capture := *r
	capture.Runner = captureRunner{Runner: runner, stdout: &buf}
	if err := capture.Run(ctx, "", args, nil); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &snaps); err != nil {
		return nil, &Error{Command: "snapshots", Repository: r.Display(), Message: "restic: unreadable snapshot list: " + err.Error(), Err: err}
	}
	return snaps, nil
}

// captureRunner also copies standard output into stdout, for the commands
// whose JSON is one document rather than typed lines.
type captureRunner struct {
	Runner
	stdout *bytes.Buffer
}

func (c captureRunner) Run(ctx context.Context, cmd Command, stdout, stderr io.Writer) (int, error) {
	c.stdout.Reset() // a retry after unlock starts over
	return c.Runner.Run(ctx, cmd, io.MultiWriter(stdout, c.stdout), stderr)
}

// Check verifies the repository's structure and, when readData is not
// empty, that much of its data ("10%", "1/7", "500M"; see restic check
// --read-data-subset). A repository with errors is an *Error of kind
// ErrCheckFailed; the summary comes back either way when restic gave one.
func (r *Repo) Check(ctx context.Context, readData string) (*CheckSummary, error) {
	args := []string{"check"}
	if readData != "" {
		args = append(args, "--read-data-subset", readData)
	}
	var (
		summary  *CheckSummary
		messages []string
	)
	err := r.Run(ctx, "", args, func(m Message) {
		switch m.Type {
		case "summary":
			var s CheckSummary
			if m.Decode(&s) == nil {
				summary = &s
			}
		case "error":
			var e errorMessage
			if m.Decode(&e) == nil && len(messages) < maxFileErrors {
				messages = append(messages, e.Error.Message)
			}
		}
	})
	var re *Error
	switch {
	case err == nil && summary != nil && summary.NumErrors > 0:
		err = &Error{Kind: ErrCheckFailed, Command: "check", Repository: r.Display(), Code: ExitFatal}
	case errors.As(err, &re) && re.Kind == nil && re.Code == ExitFatal && (summary != nil && summary.NumErrors > 0 || len(messages) > 0):
		// Code 1 with errors reported: the repository is damaged,
		// not unreachable.
		re.Kind = ErrCheckFailed
	}
	if errors.As(err, &re) && re.Kind == ErrCheckFailed && len(messages) > 0 {
		re.Message = oneLine(strings.Join(messages, "; "))
	}
	return summary, err
}

// lineWriter splits what is written into lines.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func([]byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	// A line longer than this is no status line: keep memory bounded.
	if len(w.buf) > 16<<20 {
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line(w.buf)
		w.buf = nil
	}
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// scanLines calls f for each line of s.
func scanLines(s string, f func(string)) {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), maxKept)
	for sc.Scan() {
		f(sc.Text())
	}
}
