package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// State is what the box remembers of its backups, per target, in
// StateFile: what metrics (ruche_backup_last_success_timestamp_seconds,
// duration, bytes added) and the panel show. Run writes it after each
// target.
type State struct {
	Targets map[string]*TargetState `json:"targets"`
}

// TargetState is one target's last attempt and last success.
type TargetState struct {
	Repository string `json:"repository"`

	LastAttempt         time.Time `json:"last_attempt"`
	LastStatus          Status    `json:"last_status"`
	LastDurationSeconds float64   `json:"last_duration_seconds"`
	// LastError is the last failure in both languages ("fr", "en");
	// empty after a success.
	LastError map[string]string `json:"last_error,omitempty"`

	LastSuccess                time.Time `json:"last_success,omitzero"`
	LastSuccessDurationSeconds float64   `json:"last_success_duration_seconds,omitempty"`
	LastSnapshot               string    `json:"last_snapshot,omitempty"`
	// Bytes of new data in the last successful backup, before and after
	// compression (restic's data_added and data_added_packed).
	LastBytesAdded   uint64 `json:"last_bytes_added"`
	LastBytesStored  uint64 `json:"last_bytes_stored"`
	LastFilesNew     uint64 `json:"last_files_new"`
	LastFilesChanged uint64 `json:"last_files_changed"`
}

// ReadState reads the state of the box at root; an empty State when no
// backup ever ran.
func ReadState(root string) (*State, error) {
	s := &State{Targets: map[string]*TargetState{}}
	data, err := os.ReadFile(filepath.Join(root, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s: %w", StateFile, err)
	}
	if s.Targets == nil {
		s.Targets = map[string]*TargetState{}
	}
	return s, nil
}

// write replaces the state file atomically.
func (s *State) write(root string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(root, StateFile), append(data, '\n'), 0o600)
}

// writeFileAtomic writes data to path through a temporary file beside it,
// synced, then renamed over path, and syncs the folder: a crash leaves the
// old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
