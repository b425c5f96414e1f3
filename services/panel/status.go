package panel

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
	"github.com/ruche-box/ruche/services/health"
)

// Status is the box's state as GET /api/status answers it and the
// dashboard shows it. It names no member and holds no secret: technicians
// see it too.
type Status struct {
	Association string           `json:"association"`
	Version     string           `json:"version,omitempty"`
	Healthy     bool             `json:"healthy"`
	Checks      map[string]Check `json:"checks"`
	Apply       ApplyStatus      `json:"apply"`
	// Revision is the pack's newest revision, nil before the first.
	Revision *RevisionStatus `json:"revision,omitempty"`
	Services []ServiceStatus `json:"services"`
	Disks    []DiskStatus    `json:"disks"`
	// Backups has one entry per target of the pack, in its order.
	Backups []BackupStatus `json:"backups"`
	// BackupRunning is the backup in progress, if one runs.
	BackupRunning *backup.RunningBackup `json:"backup_running,omitempty"`
	// OpenTickets counts the tickets not resolved; OpenByStatus splits
	// them by status, for the dashboard's links.
	OpenTickets  int           `json:"open_tickets"`
	OpenByStatus []StatusCount `json:"-"`
	// Memory is the machine's memory and Ruche's own; nil when the
	// kernel cannot say.
	Memory *MemoryStatus `json:"memory,omitempty"`
	// Drill is the last restore drill: the last restore proven to work.
	// Nil when the pack has no backups.
	Drill *DrillStatus `json:"drill,omitempty"`
}

// MemoryStatus is the machine's memory.
type MemoryStatus struct {
	TotalBytes     uint64  `json:"total_bytes"`
	AvailableBytes uint64  `json:"available_bytes"`
	UsedPercent    float64 `json:"used_percent"`
	Level          string  `json:"level"` // ok | warning | problem
	// RucheBytes is the daemon's own memory (PSS), the services aside.
	RucheBytes uint64 `json:"ruche_bytes,omitempty"`
}

// DrillStatus is the last restore drill (backup/drill.go's record).
type DrillStatus struct {
	LastRun     time.Time `json:"last_run,omitzero"`
	LastOK      bool      `json:"last_ok"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	Target      string    `json:"target,omitempty"`
	Snapshot    string    `json:"snapshot,omitempty"`
	Error       string    `json:"error,omitempty"`
}

// StatusCount is the number of tickets in a status.
type StatusCount struct {
	Status string
	Count  int
}

// ApplyStatus is the outcome of the daemon's last apply.
type ApplyStatus struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// RevisionStatus is a pack revision.
type RevisionStatus struct {
	Number int       `json:"number"`
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Note   string    `json:"note,omitempty"`
}

// ServiceStatus is a supervised service.
type ServiceStatus struct {
	Name     string                 `json:"name"`
	State    provision.ServiceState `json:"state"`
	PID      int                    `json:"pid,omitempty"`
	Restarts int                    `json:"restarts"`
	Since    time.Time              `json:"since,omitzero"`
	LastExit string                 `json:"last_exit,omitempty"`
	// MemoryBytes is the service's processes' memory (PSS, children
	// included); 0 when not running or unknown.
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
}

// DiskStatus is the space of a filesystem the box writes to.
type DiskStatus struct {
	Path              string  `json:"path"`
	TotalBytes        uint64  `json:"total_bytes"`
	FreeBytes         uint64  `json:"free_bytes"`
	UsedPercent       float64 `json:"used_percent"`
	InodesUsedPercent float64 `json:"inodes_used_percent"`
	Level             string  `json:"level"` // ok | warning | problem
}

// BackupStatus is a backup target's last attempt and last success.
type BackupStatus struct {
	Target       string    `json:"target"`
	Removable    bool      `json:"removable,omitempty"`
	LastAttempt  time.Time `json:"last_attempt,omitzero"`
	LastStatus   string    `json:"last_status,omitempty"` // ok | partial | missing | failed
	LastSuccess  time.Time `json:"last_success,omitzero"`
	LastSnapshot string    `json:"last_snapshot,omitempty"`
	Error        string    `json:"error,omitempty"`
}

// status gathers the box's state, in lang for its messages. What cannot be
// read is left out and logged: a dashboard with one part missing beats no
// dashboard.
func (p *Panel) status(lang i18n.Lang) Status {
	h := p.health()
	st := Status{
		Association: p.associationName(),
		Version:     p.opts.Version,
		Healthy:     h.Healthy(),
		Checks:      h.Checks,
		Apply:       ApplyStatus{OK: true},
		Services:    []ServiceStatus{},
		Disks:       []DiskStatus{},
		Backups:     []BackupStatus{},
	}
	if c, ok := h.Checks["apply"]; ok && !c.OK {
		st.Apply = ApplyStatus{OK: false, Error: c.Message}
	}
	if p.opts.Services != nil {
		for _, s := range p.opts.Services() {
			st.Services = append(st.Services, ServiceStatus{
				Name: s.Name, State: s.State, PID: s.PID, Restarts: s.Restarts, Since: s.Since, LastExit: s.LastExit,
			})
		}
		slices.SortFunc(st.Services, func(a, b ServiceStatus) int { return strings.Compare(a.Name, b.Name) })
	}
	p.addMemory(&st)
	if p.opts.Root == "" {
		return st
	}
	root := p.opts.Root
	if revs, err := provision.ListRevisions(root); err != nil {
		p.log.Warn("status: revisions", "err", err)
	} else if len(revs) > 0 {
		r := revs[len(revs)-1]
		st.Revision = &RevisionStatus{Number: r.Number, Time: r.Time, Author: r.Author, Note: r.Note}
	}
	for _, path := range diskPaths(root) {
		u, err := health.Disk(path)
		if err != nil {
			p.log.Warn("status: disk", "path", path, "err", err)
			continue
		}
		st.Disks = append(st.Disks, DiskStatus{
			Path: path, TotalBytes: u.Total, FreeBytes: u.Free,
			UsedPercent: u.UsedPercent, InodesUsedPercent: u.InodesUsedPercent, Level: u.Level().String(),
		})
	}
	if pk := p.pack(); pk != nil && len(pk.Backup.Targets) > 0 {
		state, err := backup.ReadState(root)
		if err != nil {
			p.log.Warn("status: backups", "err", err)
			state = &backup.State{}
		}
		for _, t := range pk.Backup.Targets {
			b := BackupStatus{Target: t.Name, Removable: t.Removable}
			if ts := state.Targets[t.Name]; ts != nil {
				b.LastAttempt, b.LastStatus = ts.LastAttempt, string(ts.LastStatus)
				b.LastSuccess, b.LastSnapshot = ts.LastSuccess, ts.LastSnapshot
				b.Error = ts.LastError[string(lang)]
			}
			st.Backups = append(st.Backups, b)
		}
		if r, ok := backup.ReadProgress(root, time.Now()); ok {
			st.BackupRunning = r
		}
		if d, err := backup.ReadDrillState(root); err != nil {
			p.log.Warn("status: drill", "err", err)
		} else {
			st.Drill = &DrillStatus{
				LastRun: d.LastRun, LastOK: d.LastOK, LastSuccess: d.LastSuccess,
				Target: d.Target, Snapshot: d.Snapshot, Error: d.Error[string(lang)],
			}
		}
	}
	return st
}

// memoryFor is how long a reading of the processes' memory is shown.
const memoryFor = 5 * time.Second

// memoryCache is the last reading of the memory of the daemon and of its
// services' processes.
type memoryCache struct {
	mu     sync.Mutex
	at     time.Time
	pids   []int // the reading's processes: a restart makes it stale
	sizes  map[int]uint64
	system health.Memory
}

// addMemory fills st's memory: the machine's, the daemon's and each
// running service's. What the kernel does not say stays empty.
func (p *Panel) addMemory(st *Status) {
	self := os.Getpid()
	pids := []int{self}
	for _, s := range st.Services {
		if s.PID > 0 {
			pids = append(pids, s.PID)
		}
	}
	c := &p.memory
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := p.now(); now.Sub(c.at) > memoryFor || !slices.Equal(c.pids, pids) {
		m, err := health.ReadMemory()
		if err != nil {
			p.log.Warn("status: memory", "err", err)
			return
		}
		sizes, err := health.TreeMemory(pids)
		if err != nil {
			p.log.Warn("status: processes' memory", "err", err)
		}
		c.at, c.pids, c.sizes, c.system = now, pids, sizes, m
	}
	st.Memory = &MemoryStatus{
		TotalBytes: c.system.Total, AvailableBytes: c.system.Available,
		UsedPercent: c.system.UsedPercent(), Level: c.system.Level().String(),
		RucheBytes: c.sizes[self],
	}
	for i := range st.Services {
		st.Services[i].MemoryBytes = c.sizes[st.Services[i].PID]
	}
}

// diskPaths are the filesystems to show: the root's, and the box's state
// folder's when it is another disk (as the daemon's disk alerts do).
func diskPaths(root string) []string {
	paths := []string{root}
	state := filepath.Join(root, provision.StateDir)
	if a, b := deviceOf(root), deviceOf(state); a != b && b != 0 {
		paths = append(paths, state)
	}
	return paths
}

func deviceOf(path string) uint64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev)
	}
	return 0
}

// staffStatus is the box's state as staff see it: status with the open
// tickets.
func (p *Panel) staffStatus(c *call) Status {
	st := p.status(c.lang)
	p.countOpenTickets(c.r.Context(), &st)
	return st
}

// countOpenTickets fills st's open tickets: every status but resolved, in
// the statuses' order. Left at zero (and logged) when the database cannot
// say.
func (p *Panel) countOpenTickets(ctx context.Context, st *Status) {
	if p.opts.DB == nil {
		return
	}
	by, err := p.opts.DB.TicketCounts(ctx)
	if err != nil {
		p.log.Warn("status: tickets", "err", err)
		return
	}
	for status, n := range by {
		if status != store.StatusResolved {
			st.OpenTickets += n
		}
	}
	for _, s := range store.TicketStatuses {
		if s != store.StatusResolved && by[s] > 0 {
			st.OpenByStatus = append(st.OpenByStatus, StatusCount{Status: s, Count: by[s]})
		}
	}
}

// apiStatus is GET /api/status.
func (p *Panel) apiStatus(c *call) {
	writeJSON(c.w, http.StatusOK, p.staffStatus(c))
}
