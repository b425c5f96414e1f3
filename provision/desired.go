package provision

import (
	"io/fs"
	"sort"
)

// File is one file Ruche wants on disk. Path is relative to the root
// ("var/lib/ruche/sites/vitrine/index.html"), slash-separated.
type File struct {
	Path    string
	Content []byte
	Mode    fs.FileMode // permission bits; 0 means 0644
	Owner   string      // "user:group" to chown to when running as root; "" leaves root
	// Service names the service this file feeds: when the file changes,
	// that service is reloaded. "" for files no service reads.
	Service string
	// Owned groups files for removal: when a site goes, the group "site:NAME"
	// goes with it and its uploads are moved aside (see MoveAside).
	Group string
}

// ServiceSpec is a long-running process Ruche supervises, described the same
// way for every supervisor backend (exec children or systemd units).
type ServiceSpec struct {
	Name    string   // "php-fpm", "postfix": unique, [a-z0-9-]
	Command []string // argv; Command[0] is an absolute path
	Env     []string // KEY=VALUE added to a minimal environment
	Dir     string   // working directory, relative to the root ("" = root)
	// Reload says how to make the service reread its files: a signal sent to
	// the main process ("HUP", "USR2"), or a command run beside it. When both
	// are empty, a change of the service's files restarts it.
	ReloadSignal  string
	ReloadCommand []string
	// StopSignal is sent first on stop ("TERM" when empty); after StopTimeout
	// seconds the process is killed.
	StopSignal  string
	StopTimeout int
	// MemoryMax is a memory ceiling in bytes (systemd MemoryMax=); 0 = none.
	MemoryMax int64
}

// Tree is a folder Ruche renders as a whole and switches atomically, such
// as a website: readers (Caddy) see the old version or the new one, never a
// mix. Its files are written into a new release folder beside Link, named by
// a hash of their content, then the symlink Link is switched to it with one
// rename. The release before is kept until the next switch, so requests in
// flight finish on the files they started with; older ones are removed.
type Tree struct {
	Link    string // root-relative path of the symlink readers use
	Files   []File // Path relative to the tree; Group and Service are the tree's
	Group   string
	Service string
}

// Desired is the state a pack renders to: files, trees and services. It is built by
// Render and compared with the disk by Plan.
type Desired struct {
	Files    []File
	Trees    []Tree
	Services []ServiceSpec
	// MoveAside lists folders (relative to the root) that hold what users
	// made (uploads) for a group: when the group disappears from the desired
	// state, the folder is moved under var/lib/ruche/removed/, never deleted.
	MoveAside map[string]string // group -> folder
}

// sortFiles orders files by path so renders compare and print stably.
func (d *Desired) sortFiles() {
	sort.Slice(d.Files, func(i, j int) bool { return d.Files[i].Path < d.Files[j].Path })
	sort.Slice(d.Trees, func(i, j int) bool { return d.Trees[i].Link < d.Trees[j].Link })
	sort.Slice(d.Services, func(i, j int) bool { return d.Services[i].Name < d.Services[j].Name })
}
