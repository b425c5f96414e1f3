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

// pendingFile is one file of a batch write.
type pendingFile struct {
	path     string // absolute
	data     []byte
	mode     fs.FileMode
	uid, gid int
}

// writeBatch writes many files with the guarantee of writeAtomic but two
// filesystem syncs instead of two fsyncs per file: every temporary file is
// written, then one sync makes all of them durable, then each is renamed
// over its target (mustSync: sync even with no file, for trees staged by
// the caller). On ext4 each fsync forces a journal commit that the
// next file creation waits for; a 500-site apply spent 4 s there. The caller
// syncs again (syncFS) once the renames and removals are done.
func writeBatch(root string, files []pendingFile, step stepFunc, progress func(), mustSync bool) error {
	made := map[string]bool{}
	for _, f := range files {
		dir := filepath.Dir(f.path)
		if !made[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			made[dir] = true
		}
		if err := step("write:" + f.path); err != nil {
			return err
		}
		if err := writeTmp(tmpName(f.path), f.data, f.mode, f.uid, f.gid); err != nil {
			return err
		}
		if progress != nil {
			progress()
		}
	}
	if len(files) == 0 && !mustSync {
		return nil
	}
	if err := step("fsync:batch"); err != nil {
		return err
	}
	if err := syncFS(root); err != nil {
		return err
	}
	for _, f := range files {
		if err := step("rename:" + f.path); err != nil {
			return err
		}
		if err := os.Rename(tmpName(f.path), f.path); err != nil {
			return err
		}
	}
	return nil
}

// writeTmp writes a temporary file completely, without syncing it.
func writeTmp(tmp string, data []byte, mode fs.FileMode, uid, gid int) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode) // OpenFile's mode is filtered by the umask
	}
	if err == nil && (uid >= 0 || gid >= 0) {
		err = f.Chown(uid, gid)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
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
