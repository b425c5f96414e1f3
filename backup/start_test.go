package backup

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/ruche-box/ruche/provision"
)

// Start and StartDrill answer at once when the lock is held (by another
// process as much as by this one: the lock is an flock), and Running and
// DrillRunning say what runs without taking the lock for long.
func TestStartWhileLocked(t *testing.T) {
	root := t.TempDir()
	p := &provision.Pack{Backup: provision.Backup{Targets: []provision.BackupTarget{{Name: "usb"}}}}
	if Running(root) || DrillRunning(root) {
		t.Fatal("a fresh box says a backup or a drill runs")
	}
	unlock, err := lockBackup(root)
	if err != nil {
		t.Fatal(err)
	}
	if !Running(root) {
		t.Error("Running: false while the backup lock is held")
	}
	if err := Start(t.Context(), Options{Root: root}, p, nil); !errors.Is(err, ErrBusy) {
		t.Errorf("Start while a backup runs: %v, want ErrBusy", err)
	}
	unlock()
	if Running(root) {
		t.Error("Running: true once the lock is dropped")
	}

	unlock, err = flockFile(filepath.Join(root, DrillLock))
	if err != nil {
		t.Fatal(err)
	}
	if !DrillRunning(root) {
		t.Error("DrillRunning: false while the drill lock is held")
	}
	if err := StartDrill(t.Context(), DrillOptions{Options: Options{Root: root}}, p, nil); !errors.Is(err, ErrDrillBusy) {
		t.Errorf("StartDrill while a drill runs: %v, want ErrDrillBusy", err)
	}
	unlock()
	if DrillRunning(root) {
		t.Error("DrillRunning: true once the lock is dropped")
	}
	// No target: refused before any lock.
	if err := Start(t.Context(), Options{Root: root}, &provision.Pack{}, nil); err == nil || Running(root) {
		t.Errorf("Start without targets: %v", err)
	}
}
