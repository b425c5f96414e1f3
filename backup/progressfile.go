package backup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// ProgressFile is where a running backup writes how far it is, about once
// a second, for the panel: a backup may run from the scheduler inside the
// daemon or from `ruche backup now` in a terminal, and the panel shows it
// either way. It is removed when the backup ends.
const ProgressFile = "run/ruche/backup-progress.json"

// progressStale is how old a progress file may be before it is taken for
// the leftover of a killed backup rather than one that runs.
const progressStale = 30 * time.Second

// RunningBackup is a backup in progress, as the panel shows it.
type RunningBackup struct {
	Target     string    `json:"target"`
	Percent    float64   `json:"percent"`
	FilesDone  uint64    `json:"files_done"`
	FilesTotal uint64    `json:"files_total"`
	BytesDone  uint64    `json:"bytes_done"`
	BytesTotal uint64    `json:"bytes_total"`
	ETASeconds float64   `json:"eta_seconds"`
	Updated    time.Time `json:"updated"`
}

// ReadProgress returns the backup running on the box at root, if any.
func ReadProgress(root string, now time.Time) (*RunningBackup, bool) {
	data, err := os.ReadFile(filepath.Join(root, ProgressFile))
	if err != nil {
		return nil, false
	}
	var r RunningBackup
	if json.Unmarshal(data, &r) != nil || now.Sub(r.Updated) > progressStale {
		return nil, false
	}
	return &r, true
}

// progressWriter returns a progress callback that also records the
// progress in ProgressFile (at most once a second), and a func that
// removes the file.
func progressWriter(root string, now func() time.Time, next func(Progress)) (func(Progress), func()) {
	path := filepath.Join(root, ProgressFile)
	var last time.Time
	write := func(p Progress) {
		if next != nil {
			next(p)
		}
		t := now()
		if t.Sub(last) < time.Second {
			return
		}
		last = t
		data, err := json.Marshal(RunningBackup{
			Target: p.Target, Percent: p.Percent, FilesDone: p.FilesDone, FilesTotal: p.FilesTotal,
			BytesDone: p.BytesDone, BytesTotal: p.BytesTotal, ETASeconds: p.ETA.Seconds(), Updated: t,
		})
		if err == nil {
			// A lost update is harmless (the next one comes within a
			// second): no fsync, but still a rename, so the panel never
			// reads half a file.
			os.MkdirAll(filepath.Dir(path), 0o755)
			tmp := path + ".tmp"
			if os.WriteFile(tmp, data, 0o644) == nil {
				os.Rename(tmp, path)
			}
		}
	}
	return write, func() { os.Remove(path) }
}
