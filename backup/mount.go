package backup

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultMountInfo is the kernel's mount table of this process.
const DefaultMountInfo = "/proc/self/mountinfo"

// mount is one line of mountinfo.
type mount struct {
	point  string // where it is mounted
	fstype string
	source string
}

// memoryFS are filesystems in memory: a removable disk is never one, and a
// backup written there would be gone at the next boot.
var memoryFS = map[string]bool{"tmpfs": true, "ramfs": true, "devtmpfs": true}

// diskPresent says whether repository (an absolute path) is on a disk of
// its own: the mount holding it must not be the one holding the box's
// root, nor "/", nor a filesystem in memory. A removable disk that is not
// plugged in leaves its mount point an empty folder of the internal disk,
// which a backup would fill without anyone noticing.
func diskPresent(mountInfo, root, repository string) error {
	if mountInfo == "" {
		mountInfo = DefaultMountInfo
	}
	mounts, err := readMountInfo(mountInfo)
	if err != nil {
		return err
	}
	repoPath, err := resolveExisting(repository)
	if err != nil {
		return err
	}
	rootPath, err := resolveExisting(root)
	if err != nil {
		return err
	}
	m, ok := mountOf(mounts, repoPath)
	if !ok {
		return fmt.Errorf("%s: no mount holds it", repository)
	}
	rm, _ := mountOf(mounts, rootPath)
	switch {
	case m.point == "/":
		return fmt.Errorf("%s is on the system's disk (/)", repository)
	case m.point == rm.point:
		return fmt.Errorf("%s is on the same disk as %s (%s)", repository, root, m.point)
	case memoryFS[m.fstype]:
		return fmt.Errorf("%s is on %s, in memory (%s)", repository, m.fstype, m.point)
	}
	return nil
}

// mountOf is the mount that holds path: the last mount (mounts stack) with
// the longest mount point that is path or one of its parents.
func mountOf(mounts []mount, path string) (mount, bool) {
	var best mount
	found := false
	for _, m := range mounts {
		if !within(path, m.point) {
			continue
		}
		if !found || len(m.point) >= len(best.point) {
			best, found = m, true
		}
	}
	return best, found
}

// within reports whether path is dir or lies under it.
func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// resolveExisting resolves the symbolic links of the longest part of path
// that exists, and appends the rest: a repository not created yet lies
// where its nearest existing parent does.
func resolveExisting(path string) (string, error) {
	path = filepath.Clean(path)
	rest := ""
	for {
		resolved, err := filepath.EvalSymlinks(path)
		if err == nil {
			return filepath.Join(resolved, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(path)
		if parent == path {
			return filepath.Join(path, rest), nil
		}
		rest = filepath.Join(filepath.Base(path), rest)
		path = parent
	}
}

// readMountInfo parses a mountinfo file (proc(5)).
func readMountInfo(name string) ([]mount, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mounts []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+2 >= len(fields) {
			continue
		}
		mounts = append(mounts, mount{
			point:  unescapeMount(fields[4]),
			fstype: fields[sep+1],
			source: unescapeMount(fields[sep+2]),
		})
	}
	return mounts, sc.Err()
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
