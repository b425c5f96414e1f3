package panel

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/services/health"
)

// Diagnostic is the box's state saved with a ticket when it is opened,
// and again when a technician refreshes it: what a technician would ask
// on the phone ("is the wiki running? is the disk full? did last night's
// backup work?"), answered at the moment the member pressed "help".
//
// It is stored as JSON in the database and shown to staff only. Nothing
// in it may leak a secret: log lines holding a secret's value are masked
// whole, and "password=..." shapes have their value masked (redactor).
type Diagnostic struct {
	TakenAt  time.Time        `json:"taken_at"`
	Version  string           `json:"version,omitempty"`
	Healthy  bool             `json:"healthy"`
	Checks   map[string]Check `json:"checks"`
	Services []ServiceDiag    `json:"services"`
	Disks    []DiskStatus     `json:"disks"`
	Clock    *ClockDiag       `json:"clock,omitempty"`
	Backups  []BackupStatus   `json:"backups"`
	Revision *RevisionStatus  `json:"revision,omitempty"`
	Apply    ApplyStatus      `json:"apply"`
}

// ServiceDiag is a service's state and the tail of its log.
type ServiceDiag struct {
	ServiceStatus
	Log []string `json:"log,omitempty"`
}

// ClockDiag is whether the box's clock is synchronised: backups' schedules
// and tickets' dates read it, and HTTPS fails with a clock far off.
type ClockDiag struct {
	Synchronized bool   `json:"synchronized"`
	MaxError     string `json:"max_error,omitempty"`
	Error        string `json:"error,omitempty"`
}

// logTailLines is how many lines of each service's log a snapshot keeps:
// enough to see the last error and what led to it, little enough to read
// on a phone.
const logTailLines = 20

// logTailBytes bounds what is read of a log's end: a log of a crashing
// service can be large, and only its last lines matter.
const logTailBytes = 64 << 10

// masked replaces a log line that holds a secret.
const masked = "••• (ligne masquée : elle contient un secret / line masked: it holds a secret)"

// diagnose takes a snapshot of the box, its messages in lang.
func (p *Panel) diagnose(lang i18n.Lang) Diagnostic {
	st := p.status(lang)
	red := p.redactor()
	d := Diagnostic{
		TakenAt:  p.now().UTC(),
		Version:  st.Version,
		Healthy:  st.Healthy,
		Checks:   map[string]Check{},
		Services: []ServiceDiag{},
		Disks:    st.Disks,
		Backups:  st.Backups,
		Revision: st.Revision,
		Apply:    ApplyStatus{OK: st.Apply.OK, Error: red.line(st.Apply.Error)},
	}
	for name, c := range st.Checks {
		c.Message = red.line(c.Message)
		d.Checks[name] = c
	}
	for _, s := range st.Services {
		s.LastExit = red.line(s.LastExit)
		sd := ServiceDiag{ServiceStatus: s}
		if p.opts.Root != "" {
			for _, l := range tailLog(filepath.Join(p.opts.Root, provision.LogDir, filepath.Base(s.Name)+".log"), logTailLines) {
				sd.Log = append(sd.Log, red.line(l))
			}
		}
		d.Services = append(d.Services, sd)
	}
	for i := range d.Backups {
		d.Backups[i].Error = red.line(d.Backups[i].Error)
	}
	if c, err := health.Clock(); err != nil {
		d.Clock = &ClockDiag{Error: err.Error()}
	} else {
		d.Clock = &ClockDiag{Synchronized: c.Synchronized, MaxError: c.MaxError.String()}
	}
	return d
}

// tailLog returns the last n lines of a log file; none when it cannot be
// read (a service that never wrote one).
func tailLog(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	start := max(fi.Size()-logTailBytes, 0)
	buf, err := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	if err != nil {
		return nil
	}
	if start > 0 {
		// The first line read is cut: drop it.
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(buf))
	sc.Buffer(make([]byte, 0, 4096), logTailBytes)
	for sc.Scan() {
		lines = append(lines, strings.ToValidUTF8(sc.Text(), "?"))
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// redactor masks secrets in text that leaves the box's logs for a ticket.
type redactor struct {
	secrets []string
}

// secretShape is a value after a word that names a secret: password=x,
// "pass: x", token=..., the way programs log their configuration.
var secretShape = regexp.MustCompile(`(?i)\b((?:[a-z_]*pass(?:word|wd|phrase)?|secret|token|api[_-]?key|auth)["']?\s*[:=]\s*)("[^"]*"|'[^']*'|\S+)`)

// redactor reads the secrets the live pack names, and every other file
// under etc/ruche/secrets: a secret a previous pack named may still
// appear in an old log line.
func (p *Panel) redactor() redactor {
	var r redactor
	if p.opts.Root == "" {
		return r
	}
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] || name == "" || strings.ContainsAny(name, `/\`) {
			return
		}
		seen[name] = true
		v, err := provision.ReadSecret(p.opts.Root, name)
		if err != nil {
			return
		}
		for _, line := range strings.Split(strings.TrimSpace(string(v)), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				r.secrets = append(r.secrets, line)
			}
		}
	}
	if pk := p.pack(); pk != nil {
		for _, ref := range pk.Secrets() {
			add(ref.Name)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(p.opts.Root, provision.SecretsDir)); err == nil {
		for _, e := range entries {
			if e.Type().IsRegular() {
				add(e.Name())
			}
		}
	}
	return r
}

// line is s with its secrets masked: the whole line when it holds a
// secret's value (a value may be cut, quoted or escaped around it; the
// line is safer gone), else the values of secret-looking assignments.
func (r redactor) line(s string) string {
	if s == "" {
		return s
	}
	for _, v := range r.secrets {
		if strings.Contains(s, v) {
			return masked
		}
	}
	return secretShape.ReplaceAllString(s, "${1}***")
}
