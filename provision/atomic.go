package provision

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Every write of the engine goes through writeAtomic: a temporary file beside
// the target, fsync, rename over the target, fsync of the folder. A crash at
// any point leaves either the old file or the new one, never half of one.
//
// The temporary name is fixed (".NAME.ruche-tmp") rather than random: only
// one apply runs at a time (the lock), and a fixed name lets the next apply
// find and remove what a crash left behind.

// tmpName is the temporary file used while writing path.
func tmpName(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".ruche-tmp")
}

// stepFunc is called before each step of an apply that touches the disk.
// Tests return an error from it to simulate a crash at exactly that step.
type stepFunc func(step string) error

func noSteps(string) error { return nil }

// writeAtomic writes data to path with mode, creating parent folders.
// uid/gid < 0 leave the owner alone.
func writeAtomic(path string, data []byte, mode fs.FileMode, uid, gid int, step stepFunc) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := tmpName(path)
	if err := step("write:" + path); err != nil {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	// OpenFile's mode is filtered by the umask; set it exactly.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if uid >= 0 || gid >= 0 {
		if err := f.Chown(uid, gid); err != nil {
			f.Close()
			return err
		}
	}
	if err := step("fsync:" + path); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := step("rename:" + path); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// removeStaleTmp removes the temporary file a crashed apply may have left
// beside path.
func removeStaleTmp(path string) error {
	err := os.Remove(tmpName(path))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// pruneEmptyDirs removes dir and its parents while they are empty, stopping
// at stop (never removed). Folders that hold anything are left alone.
func pruneEmptyDirs(dir, stop string) {
	for dir != stop && len(dir) > len(stop) {
		if err := os.Remove(dir); err != nil {
			return // not empty, or gone: either way stop here
		}
		dir = filepath.Dir(dir)
	}
}
