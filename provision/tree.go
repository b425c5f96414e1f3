package provision

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// A Tree is written as a release folder, <dir of Link>/releases/<hash>,
// named by a hash of its files, then Link (a symlink) is switched to it by
// one rename. The hash makes an unchanged tree cost one readlink on a no-op
// apply, and makes a release folder that exists complete by construction:
// it is staged under a temporary name and renamed only once durable.

// releasesDir is the folder holding a tree's releases.
func releasesDir(link string) string { return path.Join(path.Dir(link), "releases") }

// treeHash identifies a tree's content: every path, mode and content.
func treeHash(t *Tree) string {
	files := append([]File(nil), t.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	h := sha256.New()
	for _, f := range files {
		h.Write([]byte(f.Path))
		h.Write([]byte{0})
		h.Write([]byte(f.Mode.String()))
		h.Write([]byte{0})
		h.Write(f.Content)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// releaseTarget is what Link points to: a path relative to Link's folder.
func releaseTarget(hash string) string { return "releases/" + hash }

// diffTree compares a desired tree with what Link points to. A tree that
// changed is one ChangeTree, followed by its files' changes for the reader
// of the plan (ChangeTreeFile, not counted on their own).
func (e *Engine) diffTree(t *Tree) ([]Change, error) {
	hash := treeHash(t)
	link := e.abs(t.Link)
	current, err := os.Readlink(link)
	switch {
	case err == nil && current == releaseTarget(hash):
		if _, err := os.Stat(filepath.Join(filepath.Dir(link), current)); err == nil {
			return nil, nil
		}
	case err == nil, errors.Is(err, fs.ErrNotExist):
	default:
		var changes []Change
		// Link is something else than a symlink: a folder from an older
		// layout, or something a person put there. Keep it aside.
		if _, serr := os.Lstat(link); serr == nil {
			changes = append(changes, Change{Kind: ChangeBackup, Path: t.Link, To: e.asidePath("conflicts", t.Link)})
		}
		current = ""
		changes = append(changes, e.treeChanges(t, hash, "")...)
		return changes, nil
	}
	return e.treeChanges(t, hash, current), nil
}

// treeChanges lists a tree switch and, for the plan's reader, how its files
// differ from the release in place (current, relative to Link's folder).
func (e *Engine) treeChanges(t *Tree, hash, current string) []Change {
	changes := []Change{{Kind: ChangeTree, Path: t.Link, Detail: hash, Service: t.Service}}
	old := map[string][]byte{}
	if current != "" {
		base := filepath.Join(filepath.Dir(e.abs(t.Link)), current)
		filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				rel, _ := filepath.Rel(base, p)
				if data, err := os.ReadFile(p); err == nil {
					old[filepath.ToSlash(rel)] = data
				}
			}
			return nil
		})
	}
	for _, f := range t.Files {
		p := t.Link + "/" + f.Path
		prev, had := old[f.Path]
		switch {
		case !had:
			changes = append(changes, Change{Kind: ChangeTreeFile, Path: p, Detail: "create", New: f.Content})
		case !bytes.Equal(prev, f.Content):
			changes = append(changes, Change{Kind: ChangeTreeFile, Path: p, Detail: "update", Old: prev, New: f.Content})
		}
		delete(old, f.Path)
	}
	for _, rel := range sortedKeys(old) {
		changes = append(changes, Change{Kind: ChangeTreeFile, Path: t.Link + "/" + rel, Detail: "remove"})
	}
	return changes
}

// stageTree writes a tree's release folder under a temporary name, unless
// the release already exists (an apply cut off after staging it). The
// caller syncs the filesystem, then commitTree renames and switches.
func (e *Engine) stageTree(t *Tree, hash string, step stepFunc, progress func()) error {
	rel := e.abs(releasesDir(t.Link))
	final := filepath.Join(rel, hash)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	tmp := filepath.Join(rel, "."+hash+".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	made := map[string]bool{}
	for _, f := range t.Files {
		p := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if dir := filepath.Dir(p); !made[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			made[dir] = true
		}
		if err := step("write:" + t.Link + "/" + f.Path); err != nil {
			return err
		}
		// The folder is private until renamed: its files need no
		// temporary names of their own.
		if err := writeTmp(p, f.Content, f.Mode, -1, -1); err != nil {
			return err
		}
		if progress != nil {
			progress()
		}
	}
	if len(t.Files) == 0 {
		return os.MkdirAll(tmp, 0o755)
	}
	return nil
}

// commitTree makes a staged release visible: the folder is renamed to its
// final name, Link switched to it, and releases older than the one it
// replaced removed (that one stays for requests still reading it).
func (e *Engine) commitTree(t *Tree, hash string, step stepFunc) error {
	link := e.abs(t.Link)
	rel := e.abs(releasesDir(t.Link))
	final := filepath.Join(rel, hash)
	if _, err := os.Stat(final); errors.Is(err, fs.ErrNotExist) {
		if err := step("rename:" + releasesDir(t.Link) + "/" + hash); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(rel, "."+hash+".tmp"), final); err != nil {
			return err
		}
	}
	previous, _ := os.Readlink(link)
	if err := step("rename:" + t.Link); err != nil {
		return err
	}
	tmpLink := tmpName(link)
	os.Remove(tmpLink)
	if err := os.Symlink(releaseTarget(hash), tmpLink); err != nil {
		return err
	}
	if err := os.Rename(tmpLink, link); err != nil {
		return err
	}
	keep := map[string]bool{hash: true, strings.TrimPrefix(previous, "releases/"): true}
	entries, err := os.ReadDir(rel)
	if err != nil {
		return err
	}
	for _, ent := range entries {
		if keep[ent.Name()] {
			continue
		}
		if err := step("remove:" + releasesDir(t.Link) + "/" + ent.Name()); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(rel, ent.Name())); err != nil {
			return err
		}
	}
	return nil
}

// removeTree removes a tree Ruche made and no longer wants: its link and
// every release. (Users' files of the same group were moved aside first.)
func (e *Engine) removeTree(link string, step stepFunc) error {
	if err := step("remove:" + link); err != nil {
		return err
	}
	abs := e.abs(link)
	if err := os.Remove(abs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(e.abs(releasesDir(link))); err != nil {
		return err
	}
	pruneEmptyDirs(filepath.Dir(abs), e.Root)
	return nil
}
