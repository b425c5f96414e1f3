package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ChangeKind says what apply does to one path.
type ChangeKind string

// Kinds of change, in the order apply carries them out.
const (
	ChangeRevision  ChangeKind = "revision"   // a new pack revision is recorded
	ChangeMoveAside ChangeKind = "move-aside" // users' files moved under RemovedDir
	ChangeBackup    ChangeKind = "backup"     // a file Ruche did not make is in the way: kept aside
	ChangeCreate    ChangeKind = "create"
	ChangeUpdate    ChangeKind = "update"
	ChangeMode      ChangeKind = "mode" // same content, other mode or owner
	ChangeRemove    ChangeKind = "remove"
	ChangeUsers     ChangeKind = "users" // panel accounts in the database
	// ChangeManifest: only Ruche's own list of files is out of date (an
	// apply was cut off after the disk was right, before it said so).
	ChangeManifest ChangeKind = "manifest"
	// ChangeTree: a tree (a site's pages) switched to a new release;
	// ChangeTreeFile lines follow it to say which of its files differ
	// (Detail create, update or remove). They are not counted on their own.
	ChangeTree ChangeKind = "tree"
	// ChangeMkdir: an empty folder for users' files (a site's uploads)
	// is made, so that a technician finds where to put them.
	ChangeMkdir    ChangeKind = "mkdir"
	ChangeTreeFile ChangeKind = "tree-file"
)

// Change is one thing apply does.
type Change struct {
	Kind ChangeKind
	Path string // root-relative
	// To is where a move-aside or backup goes; Detail a short explanation.
	To     string
	Detail string
	// Old and New are the contents of an update, for the diff.
	Old, New []byte
	Service  string
}

// Result is what Plan or Apply found and did.
type Result struct {
	Changes  []Change
	Desired  *Desired
	Revision int      // the revision the box is at after apply (0: none)
	Reloaded []string // services reloaded because their files changed

	manifest *manifest // as read by the plan, for apply to carry on from
}

// UserStore is the slice of the box's database the engine needs: the pack's
// users are kept in it, and password hashes are a render input.
type UserStore interface {
	SyncUsers(ctx context.Context, users []User) (changed int, err error)
	PasswordHashes(ctx context.Context) (map[string]string, error)
}

// Reloader makes running services pick up what apply wrote. The daemon
// implements it; a standalone apply has none (nothing runs to reload).
type Reloader interface {
	Reload(ctx context.Context, d *Desired, services []string) error
}

// Engine renders packs and converges the disk under Root to them.
type Engine struct {
	Root      string
	Renderers []Renderer
	// SMTP is where the box's Postfix listens (RenderInput.SMTP); empty
	// means DefaultSMTPAddr(Root).
	SMTP     string
	Store    UserStore // nil: no database (plan on a fresh root)
	Reloader Reloader  // nil: nothing to reload
	Logger   *slog.Logger
	Now      func() time.Time
	// Progress, when set, is told how far the file writes are.
	Progress func(done, total int)

	step stepFunc // crash injection for tests; nil in production
}

// ApplyOptions describe who applies and why, for the revision log.
type ApplyOptions struct {
	Author string
	Note   string
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// stepFn is the crash-injection hook, told root-relative paths so that a
// test can name the same step in two roots.
func (e *Engine) stepFn() stepFunc {
	if e.step == nil {
		return noSteps
	}
	prefix := strings.TrimSuffix(e.Root, "/") + "/"
	return func(step string) error {
		return e.step(strings.Replace(step, prefix, "", 1))
	}
}

func (e *Engine) abs(rel string) string { return filepath.Join(e.Root, filepath.FromSlash(rel)) }

// Render renders the pack with the database's password hashes.
func (e *Engine) Render(ctx context.Context, p *Pack, raw []byte) (*Desired, error) {
	in := &RenderInput{Pack: p, Root: e.Root, SMTP: e.SMTP}
	if in.SMTP == "" {
		in.SMTP = DefaultSMTPAddr(e.Root)
	}
	if e.Store != nil {
		hashes, err := e.Store.PasswordHashes(ctx)
		if err != nil {
			return nil, err
		}
		in.PasswordHashes = hashes
	}
	d, err := Render(in, e.Renderers)
	if err != nil {
		return nil, err
	}
	// The live pack is itself a file the engine owns, byte for byte as given.
	d.Files = append(d.Files, File{Path: PackPath, Content: raw, Mode: 0o640})
	d.sortFiles()
	return d, nil
}

// Plan computes what Apply would do, changing nothing.
func (e *Engine) Plan(ctx context.Context, p *Pack, raw []byte) (*Result, error) {
	if err := CheckSockets(e.Root, p); err != nil {
		return nil, err
	}
	m, err := readManifest(e.Root)
	if err != nil {
		return nil, err
	}
	return e.plan(ctx, p, raw, m)
}

// plan is Plan against a manifest already read: apply reads it once.
func (e *Engine) plan(ctx context.Context, p *Pack, raw []byte, m *manifest) (*Result, error) {
	if err := CheckSecrets(e.Root, p); err != nil {
		return nil, err
	}
	d, err := e.Render(ctx, p, raw)
	if err != nil {
		return nil, err
	}
	changes, err := e.diff(d, m)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 && !bytes.Equal(m.raw, finalManifest(d).encode()) {
		changes = append(changes, Change{Kind: ChangeManifest, Path: ManifestPath})
	}
	rev, needed, err := needsRevision(e.Root, raw)
	if err != nil {
		return nil, err
	}
	if needed {
		changes = append([]Change{{Kind: ChangeRevision, Path: relRevision(rev)}}, changes...)
	}
	return &Result{Changes: changes, Desired: d, Revision: rev, manifest: m}, nil
}

func relRevision(n int) string { return fmt.Sprintf("%s/%06d.yaml", RevisionsDir, n) }

// diff compares the desired state with the disk and the manifest.
func (e *Engine) diff(d *Desired, m *manifest) ([]Change, error) {
	var changes []Change
	wanted := make(map[string]bool, len(d.Files))
	groups := map[string]bool{}
	asRoot := os.Geteuid() == 0
	for i := range d.Files {
		f := &d.Files[i]
		wanted[f.Path] = true
		if f.Group != "" {
			groups[f.Group] = true
		}
		path := e.abs(f.Path)
		info, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			changes = append(changes, Change{Kind: ChangeCreate, Path: f.Path, New: f.Content, Service: f.Service})
			continue
		case err != nil:
			return nil, err
		}
		if _, ours := m.Files[f.Path]; !ours || !info.Mode().IsRegular() {
			// Something Ruche did not write stands where it wants a file:
			// keep it aside rather than overwrite what a person made.
			changes = append(changes, Change{Kind: ChangeBackup, Path: f.Path, To: e.asidePath("conflicts", f.Path)})
			changes = append(changes, Change{Kind: ChangeCreate, Path: f.Path, New: f.Content, Service: f.Service})
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(old, f.Content) {
			changes = append(changes, Change{Kind: ChangeUpdate, Path: f.Path, Old: old, New: f.Content, Service: f.Service})
			continue
		}
		if info.Mode().Perm() != f.Mode.Perm() {
			changes = append(changes, Change{Kind: ChangeMode, Path: f.Path, Service: f.Service,
				Detail: fmt.Sprintf("%04o → %04o", info.Mode().Perm(), f.Mode.Perm())})
			continue
		}
		if asRoot && f.Owner != "" {
			uid, gid, err := lookupOwner(f.Owner)
			if err != nil {
				return nil, err
			}
			if st, ok := info.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != uid || int(st.Gid) != gid) {
				changes = append(changes, Change{Kind: ChangeMode, Path: f.Path, Service: f.Service, Detail: "owner → " + f.Owner})
			}
		}
	}
	treeLinks := make([]string, 0, len(d.Trees))
	for i := range d.Trees {
		t := &d.Trees[i]
		treeLinks = append(treeLinks, t.Link)
		if t.Group != "" {
			groups[t.Group] = true
		}
		tc, err := e.diffTree(t)
		if err != nil {
			return nil, err
		}
		changes = append(changes, tc...)
	}
	for _, group := range sortedKeys(d.MoveAside) {
		folder := d.MoveAside[group]
		if _, err := os.Lstat(e.abs(folder)); errors.Is(err, fs.ErrNotExist) {
			changes = append(changes, Change{Kind: ChangeMkdir, Path: folder})
		}
	}
	// Folders of users' files whose group is gone are moved aside first,
	// before the rendered files around them are removed.
	for _, group := range sortedKeys(m.MoveAside) {
		folder := m.MoveAside[group]
		if _, still := d.MoveAside[group]; still || groups[group] {
			continue
		}
		if _, err := os.Stat(e.abs(folder)); err == nil {
			changes = append(changes, Change{Kind: ChangeMoveAside, Path: folder, To: e.asidePath(group, folder), Detail: group})
		}
	}
	for _, path := range sortedKeys(m.Files) {
		// A file now under a tree's link was superseded by the tree (an
		// older layout): the path resolves into the new release, never
		// remove through it.
		if wanted[path] || underAny(path, treeLinks) {
			continue
		}
		if _, err := os.Lstat(e.abs(path)); err == nil {
			changes = append(changes, Change{Kind: ChangeRemove, Path: path, Service: m.Files[path].Service})
		}
	}
	for _, link := range sortedKeys(m.Trees) {
		if !slices.Contains(treeLinks, link) {
			changes = append(changes, Change{Kind: ChangeRemove, Path: link, Detail: "tree", Service: m.Trees[link].Service})
		}
	}
	return changes, nil
}

// underAny reports whether p lies inside one of the folders dirs.
func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// asidePath is where users' files of a removed group (or a file in Ruche's
// way) are kept: var/lib/ruche/removed/<time>-<label>/<original path>.
func (e *Engine) asidePath(label, rel string) string {
	label = strings.NewReplacer(":", "-", "/", "-").Replace(label)
	return fmt.Sprintf("%s/%s-%s/%s", RemovedDir, e.now().UTC().Format("20060102T150405Z"), label, rel)
}

// Apply converges the disk to the pack: records a revision when the pack
// differs from the newest one, writes what changed atomically, removes what
// Ruche made and no longer wants, moves users' files aside, syncs the
// database's users and reloads the services whose files changed. A second
// apply of the same pack writes nothing.
func (e *Engine) Apply(ctx context.Context, p *Pack, raw []byte, opts ApplyOptions) (*Result, error) {
	// Before the lock, whose file is the first thing apply writes.
	if err := CheckSockets(e.Root, p); err != nil {
		return nil, err
	}
	lock, err := TryLock(e.Root)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	return e.applyLocked(ctx, p, raw, opts)
}

func (e *Engine) applyLocked(ctx context.Context, p *Pack, raw []byte, opts ApplyOptions) (*Result, error) {
	step := e.stepFn()
	log := e.logger()
	m, err := readManifest(e.Root)
	if err != nil {
		return nil, err
	}
	if err := e.cleanStaleTmp(m); err != nil {
		return nil, err
	}
	usersChanged := 0
	if e.Store != nil {
		// Users first: a new user's row must exist before render reads hashes.
		n, err := e.Store.SyncUsers(ctx, p.Panel.Users)
		if err != nil {
			return nil, err
		}
		usersChanged = n
	}
	res, err := e.plan(ctx, p, raw, m)
	if err != nil {
		return nil, err
	}
	if usersChanged > 0 {
		log.Info("panel users synced", "changed", usersChanged)
		res.Changes = append(res.Changes, Change{Kind: ChangeUsers, Path: DBPath, Detail: strconv.Itoa(usersChanged)})
	}
	return res, e.carryOut(ctx, res, raw, opts, step)
}

// carryOut does the changes of a plan, in an order that any crash leaves
// recoverable by the next apply.
func (e *Engine) carryOut(ctx context.Context, res *Result, raw []byte, opts ApplyOptions, step stepFunc) error {
	if !slices.ContainsFunc(res.Changes, func(c Change) bool { return c.Kind != ChangeUsers }) {
		return nil // only the database changed (SyncUsers did it)
	}
	log := e.logger()
	d, m := res.Desired, res.manifest

	// 1. The revision, so that what is about to be on disk is on record.
	if res.Changes[0].Kind == ChangeRevision {
		r := Revision{Number: res.Revision, Time: e.now().UTC(), Author: opts.Author, Note: opts.Note}
		if err := writeRevision(e.Root, r, raw, step); err != nil {
			return err
		}
		log.Info("pack revision recorded", "revision", r.Number, "author", r.Author)
	}

	// 2. The intent: old and new files together, so that nothing Ruche
	// writes from here on can be forgotten by a crash.
	intent := &manifest{Version: manifestVersion, Files: map[string]manifestEntry{}, MoveAside: map[string]string{}}
	for k, v := range m.Files {
		intent.Files[k] = v
	}
	for k, v := range m.MoveAside {
		intent.MoveAside[k] = v
	}
	for i := range d.Files {
		intent.Files[d.Files[i].Path] = entryOf(&d.Files[i])
	}
	for k, v := range d.MoveAside {
		intent.MoveAside[k] = v
	}
	intent.Trees = map[string]treeEntry{}
	for k, v := range m.Trees {
		intent.Trees[k] = v
	}
	for i := range d.Trees {
		t := &d.Trees[i]
		if _, had := intent.Trees[t.Link]; !had {
			// A tree the apply may leave half made: recorded so that a
			// crash leaves nothing Ruche made unaccounted for.
			intent.Trees[t.Link] = treeEntry{Hash: treeHash(t), Group: t.Group, Service: t.Service}
		}
	}
	if err := step("manifest:intent"); err != nil {
		return err
	}
	if err := writeManifest(e.Root, intent, step); err != nil {
		return err
	}

	// 3. Users' files out of the way, then the files themselves (written
	// as one batch), then what Ruche made and no longer wants.
	byPath := make(map[string]*File, len(d.Files))
	for i := range d.Files {
		byPath[d.Files[i].Path] = &d.Files[i]
	}
	reload := map[string]bool{}
	var batch []pendingFile
	var removals []Change
	var trees []string // links of the trees to switch
	treeByLink := make(map[string]*Tree, len(d.Trees))
	for i := range d.Trees {
		treeByLink[d.Trees[i].Link] = &d.Trees[i]
	}
	for _, c := range res.Changes {
		if c.Service != "" {
			reload[c.Service] = true
		}
		switch c.Kind {
		case ChangeMoveAside, ChangeBackup:
			if err := e.moveAside(c.Path, c.To, step); err != nil {
				return err
			}
		case ChangeCreate, ChangeUpdate, ChangeMode:
			f := byPath[c.Path]
			uid, gid := -1, -1
			if f.Owner != "" && os.Geteuid() == 0 {
				var err error
				if uid, gid, err = lookupOwner(f.Owner); err != nil {
					return err
				}
			}
			batch = append(batch, pendingFile{path: e.abs(f.Path), data: f.Content, mode: f.Mode, uid: uid, gid: gid})
		case ChangeTree:
			trees = append(trees, c.Path)
		case ChangeMkdir:
			if err := step("mkdir:" + c.Path); err != nil {
				return err
			}
			if err := os.MkdirAll(e.abs(c.Path), 0o755); err != nil {
				return err
			}
		case ChangeRemove:
			removals = append(removals, c)
		}
	}
	total, done := len(batch)+len(removals), 0
	for _, link := range trees {
		total += len(treeByLink[link].Files)
	}
	progress := func() {
		done++
		if e.Progress != nil {
			e.Progress(done, total)
		}
	}
	// Stage everything (trees' release folders, files' temporary copies),
	// make it durable with one sync, then rename it all into place.
	for _, link := range trees {
		t := treeByLink[link]
		if err := e.stageTree(t, treeHash(t), step, progress); err != nil {
			return err
		}
	}
	if err := writeBatch(e.Root, batch, step, progress, len(trees) > 0); err != nil {
		return err
	}
	for _, link := range trees {
		t := treeByLink[link]
		if err := e.commitTree(t, treeHash(t), step); err != nil {
			return err
		}
	}
	for _, c := range removals {
		if c.Detail == "tree" {
			if err := e.removeTree(c.Path, step); err != nil {
				return err
			}
			progress()
			continue
		}
		if err := step("remove:" + c.Path); err != nil {
			return err
		}
		path := e.abs(c.Path)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		pruneEmptyDirs(filepath.Dir(path), e.Root)
		progress()
	}
	// Renames and removals durable before the manifest says they are done.
	if err := step("fsync:final"); err != nil {
		return err
	}
	if err := syncFS(e.Root); err != nil {
		return err
	}

	// 4. The manifest as it now is.
	if err := step("manifest:final"); err != nil {
		return err
	}
	if err := writeManifest(e.Root, finalManifest(d), step); err != nil {
		return err
	}

	// 5. Services whose inputs changed pick them up.
	res.Reloaded = sortedKeys(reload)
	if e.Reloader != nil && len(res.Reloaded) > 0 {
		if err := e.Reloader.Reload(ctx, d, res.Reloaded); err != nil {
			return err
		}
	}
	log.Info("applied", "changes", len(res.Changes), "revision", res.Revision, "reloaded", res.Reloaded)
	return nil
}

// finalManifest is the manifest once the disk matches d.
func finalManifest(d *Desired) *manifest {
	m := &manifest{Version: manifestVersion, Files: make(map[string]manifestEntry, len(d.Files)), MoveAside: d.MoveAside}
	for i := range d.Files {
		m.Files[d.Files[i].Path] = entryOf(&d.Files[i])
	}
	if len(d.Trees) > 0 {
		m.Trees = make(map[string]treeEntry, len(d.Trees))
		for i := range d.Trees {
			t := &d.Trees[i]
			m.Trees[t.Link] = treeEntry{Hash: treeHash(t), Group: t.Group, Service: t.Service}
		}
	}
	return m
}

// moveAside renames a folder or file under RemovedDir: what users made is
// never deleted.
func (e *Engine) moveAside(from, to string, step stepFunc) error {
	if err := step("move-aside:" + from); err != nil {
		return err
	}
	src, dst := e.abs(from), e.abs(to)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return nil // already moved by an apply that crashed after it
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	e.logger().Warn("moved aside", "from", from, "to", to)
	return syncDir(filepath.Dir(dst))
}

// cleanStaleTmp removes temporary files a crashed apply left beside the
// files Ruche owns.
func (e *Engine) cleanStaleTmp(m *manifest) error {
	dirs := map[string]bool{e.abs(StateDir): true, e.abs(RevisionsDir): true, filepath.Dir(e.abs(PackPath)): true}
	for path := range m.Files {
		dirs[filepath.Dir(e.abs(path))] = true
	}
	for link := range m.Trees {
		dirs[filepath.Dir(e.abs(link))] = true
	}
	for dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, ent := range entries {
			if name := ent.Name(); strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".ruche-tmp") {
				if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
	}
	return nil
}

func lookupOwner(owner string) (uid, gid int, err error) {
	name, group, _ := strings.Cut(owner, ":")
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return 0, 0, err
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
