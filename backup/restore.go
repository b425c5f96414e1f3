package backup

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Where a restore works, relative to the root.
const (
	// RestoreStagingDir is where a restore into the box first extracts
	// the snapshot, to verify it before anything of the box is touched.
	// It is beside var/lib/ruche, not inside it: never backed up, and on
	// the same filesystem in nearly every layout, so that putting the data
	// back is a rename.
	RestoreStagingDir = "var/lib/ruche-restore"
	// RestoreAsidePrefix names the folders under provision.RemovedDir that
	// keep what a restore replaced ("restore-20260621T023000.000Z"), until
	// every target has a successful backup made after it
	// (RemoveRestoreAside).
	RestoreAsidePrefix = "restore-"
	// restoreNote is the file in such a folder that says what it is.
	restoreNote = "LISEZMOI-README.txt"
	// asideTimeLayout is the time in the aside folder's name.
	asideTimeLayout = "20060102T150405.000Z"
)

// LatestSnapshot is the snapshot argument that means the newest Ruche
// snapshot of the box.
const LatestSnapshot = "latest"

// restoreStatus is restic's message_type "status" of restore.
type restoreStatus struct {
	SecondsElapsed float64 `json:"seconds_elapsed"`
	PercentDone    float64 `json:"percent_done"` // 0 to 1
	TotalFiles     uint64  `json:"total_files"`
	FilesRestored  uint64  `json:"files_restored"`
	FilesSkipped   uint64  `json:"files_skipped"`
	TotalBytes     uint64  `json:"total_bytes"`
	BytesRestored  uint64  `json:"bytes_restored"`
	BytesSkipped   uint64  `json:"bytes_skipped"`
}

// progress turns restore's status into a Progress. restic gives no time
// left for a restore: it is estimated from the share done so far.
func (s restoreStatus) progress() Progress {
	st := statusMessage{
		SecondsElapsed: s.SecondsElapsed,
		PercentDone:    s.PercentDone,
		TotalFiles:     s.TotalFiles,
		FilesDone:      s.FilesRestored + s.FilesSkipped,
		TotalBytes:     s.TotalBytes,
		BytesDone:      s.BytesRestored + s.BytesSkipped,
	}
	if s.PercentDone > 0.01 && s.PercentDone < 1 {
		st.SecondsRemaining = s.SecondsElapsed * (1 - s.PercentDone) / s.PercentDone
	}
	return st.progress()
}

// Restore extracts snapshot snapshotID (an ID, a prefix of one, or
// restic's "latest") of the repository into target, then has restic read
// every restored file back and compare it, chunk by chunk, with the
// snapshot's content hashes (restore --verify): a nil error means every
// file's bytes are the snapshot's. progress, when not nil, gets restic's
// status as it goes.
func (r *Repo) Restore(ctx context.Context, snapshotID, target string, progress func(Progress)) error {
	if snapshotID == "" || strings.HasPrefix(snapshotID, "-") {
		return fmt.Errorf("restore: bad snapshot %q", snapshotID)
	}
	if err := os.MkdirAll(target, 0o700); err != nil {
		return err
	}
	var problems []FileError
	tapped := *r
	runner := r.Runner
	if runner == nil {
		runner = ExecRunner{}
	}
	// restore reports each file it could not write or verify as an
	// "error" line on standard error, which Run does not parse.
	tapped.Runner = stderrTap{Runner: runner, line: func(line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '{' || len(problems) >= maxFileErrors {
			return
		}
		m := Message{Raw: line}
		var e errorMessage
		var head struct {
			Type string `json:"message_type"`
		}
		if m.Decode(&head) == nil && head.Type == "error" && m.Decode(&e) == nil {
			problems = append(problems, FileError{Path: e.Item, During: e.During, Message: e.Error.Message})
		}
	}}
	args := []string{"restore", snapshotID, "--target", target, "--verify"}
	err := tapped.Run(ctx, "", args, func(m Message) {
		if m.Type != "status" || progress == nil {
			return
		}
		var s restoreStatus
		if m.Decode(&s) == nil {
			progress(s.progress())
		}
	})
	var re *Error
	if errors.As(err, &re) && len(problems) > 0 {
		var words []string
		damaged := false
		for _, p := range problems {
			if len(words) < 3 {
				words = append(words, p.Path+": "+p.Message)
			}
			damaged = damaged || isDamage(p.Message)
		}
		re.Files = problems
		re.Message = oneLine(strings.TrimSpace(re.Message + "; " + strings.Join(words, "; ")))
		if damaged {
			return i18n.Wrap(err, msgRepoDamaged, r.Display())
		}
	}
	return err
}

var msgRepoDamaged = i18n.M{
	FR: "le dépôt %s est abîmé : une partie de ses données ne se relit pas (ruche backup drill le redira, restic check --read-data dit où) ; faites une sauvegarde neuve vers une autre cible",
	EN: "the repository %s is damaged: part of its data cannot be read back (ruche backup drill will say it again, restic check --read-data says where); make a fresh backup to another target",
}

// isDamage recognises restic's words for data that does not read back as
// it was written.
func isDamage(msg string) bool {
	for _, w := range []string{"ciphertext verification failed", "hash mismatch", "Unable to fetch blob", "invalid data returned", "wrong data returned", "failed to decrypt"} {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}

// stderrTap also hands every line of standard error to line.
type stderrTap struct {
	Runner
	line func([]byte)
}

func (t stderrTap) Run(ctx context.Context, c Command, stdout, stderr io.Writer) (int, error) {
	lw := &lineWriter{line: t.line}
	code, err := t.Runner.Run(ctx, c, stdout, io.MultiWriter(stderr, lw))
	lw.flush()
	return code, err
}

var (
	msgNoSnapshot = i18n.M{
		FR: "le dépôt %s n'a aucun instantané de Ruche",
		EN: "the repository %s holds no Ruche snapshot",
	}
	msgNoSnapshotHost = i18n.M{
		FR: "le dépôt %s n'a aucun instantané de Ruche pour la box « %s »",
		EN: "the repository %s holds no Ruche snapshot for the box %q",
	}
	msgSnapshotAbsent = i18n.M{
		FR: "le dépôt %s n'a pas d'instantané %q (ruche backup snapshots les liste)",
		EN: "the repository %s has no snapshot %q (ruche backup snapshots lists them)",
	}
	msgSnapshotAmbiguous = i18n.M{
		FR: "%q désigne plusieurs instantanés du dépôt %s : donnez plus de caractères de son identifiant",
		EN: "%q matches several snapshots of the repository %s: give more characters of its ID",
	}
	msgManyHosts = i18n.M{
		FR: "le dépôt %s tient les sauvegardes de plusieurs box (%s) : dites laquelle avec --host",
		EN: "the repository %s holds the backups of several boxes (%s): say which with --host",
	}
)

// FindSnapshot resolves the snapshot a restore names: LatestSnapshot is the
// newest snapshot tagged TagRuche of host (a repository may be shared by
// several boxes: restic's own "latest" would be any box's), and with host
// empty the newest of the only box the repository holds; anything else is
// a snapshot ID or a unique prefix of one.
func FindSnapshot(ctx context.Context, r *Repo, id, host string) (Snapshot, error) {
	if id == LatestSnapshot {
		snaps, err := r.Snapshots(ctx, SnapshotFilter{Host: host, Tags: []string{TagRuche}})
		if err != nil {
			return Snapshot{}, err
		}
		if len(snaps) == 0 && host != "" {
			return Snapshot{}, i18n.Errorf(msgNoSnapshotHost, r.Display(), host)
		}
		if len(snaps) == 0 {
			return Snapshot{}, i18n.Errorf(msgNoSnapshot, r.Display())
		}
		hosts := map[string]bool{}
		for _, s := range snaps {
			hosts[s.Hostname] = true
		}
		if len(hosts) > 1 {
			names := make([]string, 0, len(hosts))
			for h := range hosts {
				names = append(names, h)
			}
			sort.Strings(names)
			return Snapshot{}, i18n.Errorf(msgManyHosts, r.Display(), strings.Join(names, ", "))
		}
		sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
		return snaps[len(snaps)-1], nil
	}
	snaps, err := r.Snapshots(ctx, SnapshotFilter{})
	if err != nil {
		return Snapshot{}, err
	}
	var found []Snapshot
	for _, s := range snaps {
		if strings.HasPrefix(s.ID, strings.ToLower(id)) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return Snapshot{}, i18n.Errorf(msgSnapshotAbsent, r.Display(), id)
	case 1:
		return found[0], nil
	default:
		return Snapshot{}, i18n.Errorf(msgSnapshotAmbiguous, id, r.Display())
	}
}

// ErrNotVerified means restored files are not what the snapshot holds.
var ErrNotVerified = errors.New("backup: the restored files do not match the snapshot")

// Verification is what VerifyTree found.
type Verification struct {
	Snapshot string
	Files    int    // regular files, each present with the snapshot's size
	Dirs     int    //
	Links    int    // symbolic links
	Bytes    uint64 // of the regular files
	// Database is integrity_check's answer for the database copy
	// (DBCopy): "ok", its complaint, or "" when the snapshot has none.
	Database string
	// Problems are the differences found, at most maxProblems.
	Problems []string
}

// maxProblems bounds the differences a verification keeps.
const maxProblems = 20

var (
	msgNotVerified = i18n.M{
		FR: "la restauration ne correspond pas à l'instantané %s (%d différence(s)) : %s",
		EN: "the restore does not match snapshot %s (%d difference(s)): %s",
	}
	msgBadDatabase = i18n.M{
		FR: "la copie de la base de données de l'instantané %s est abîmée (integrity_check : %s)",
		EN: "the database copy in snapshot %s is damaged (integrity_check: %s)",
	}
)

// lsNode is a node of `restic ls --json`.
type lsNode struct {
	Type string  `json:"type"`
	Path string  `json:"path"`
	Size *uint64 `json:"size"`
}

// VerifyTree checks dir, where snapshotID was restored, against the
// snapshot as restic lists it: every file, folder and link present with
// its type, every file with its size; and that the database copy (DBCopy)
// passes SQLite's integrity_check. The bytes themselves are proven by
// Restore (restore --verify compares each file with the snapshot's content
// hashes); this catches what a restore would leave out. A difference is an
// error wrapping ErrNotVerified, with the Verification saying what.
func VerifyTree(ctx context.Context, r *Repo, snapshotID, dir string) (*Verification, error) {
	v := &Verification{Snapshot: snapshotID}
	problem := func(format string, args ...any) {
		if len(v.Problems) < maxProblems {
			v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
		}
	}
	count := 0
	var walkErr error
	err := r.Run(ctx, "", []string{"ls", snapshotID}, func(m Message) {
		if m.Type != "node" {
			return
		}
		var n lsNode
		if err := m.Decode(&n); err != nil {
			walkErr = err
			return
		}
		count++
		local := filepath.Join(dir, filepath.FromSlash(n.Path))
		info, err := os.Lstat(local)
		if err != nil {
			problem("%s: %v", n.Path, errors.Unwrap(err))
			return
		}
		switch n.Type {
		case "file":
			v.Files++
			if !info.Mode().IsRegular() {
				problem("%s: not a regular file (%s)", n.Path, info.Mode().Type())
				return
			}
			if n.Size != nil {
				v.Bytes += *n.Size
				if uint64(info.Size()) != *n.Size {
					problem("%s: %d bytes, the snapshot has %d", n.Path, info.Size(), *n.Size)
				}
			}
		case "dir":
			v.Dirs++
			if !info.IsDir() {
				problem("%s: not a folder", n.Path)
			}
		case "symlink":
			v.Links++
			if info.Mode()&fs.ModeSymlink == 0 {
				problem("%s: not a symbolic link", n.Path)
			}
		}
	})
	if err == nil {
		err = walkErr
	}
	if err != nil {
		return nil, err
	}
	if count == 0 {
		problem("restic ls listed nothing")
	}
	if len(v.Problems) > 0 {
		return v, i18n.Wrap(ErrNotVerified, msgNotVerified, shortSnapshot(snapshotID), len(v.Problems), strings.Join(v.Problems[:min(3, len(v.Problems))], "; "))
	}
	copyPath := filepath.Join(dir, DBCopy)
	if _, err := os.Stat(copyPath); err == nil {
		v.Database = IntegrityCheck(ctx, copyPath)
		if v.Database != "ok" {
			v.Problems = append(v.Problems, "database: "+v.Database)
			return v, i18n.Wrap(ErrNotVerified, msgBadDatabase, shortSnapshot(snapshotID), v.Database)
		}
	}
	return v, nil
}

// IntegrityCheck runs SQLite's PRAGMA integrity_check on the database file
// at path, read-only and without writing anything beside it (immutable):
// "ok", or what SQLite found wrong.
func IntegrityCheck(ctx context.Context, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err.Error()
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro&immutable=1"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err.Error()
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return err.Error()
	}
	if len(out) == 0 {
		return "no answer"
	}
	return oneLine(strings.Join(out, "; "))
}

func shortSnapshot(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// RestoreOptions say what to restore and from where.
type RestoreOptions struct {
	Options
	// Repo is the repository to restore from.
	Repo *Repo
	// Snapshot is a snapshot ID (or a unique prefix) or LatestSnapshot.
	Snapshot string
	// Host chooses the box whose newest snapshot LatestSnapshot means;
	// empty means the repository's only box.
	Host string
	// PasswordFile is installed as the restored pack's backup password
	// secret when the box has none yet (a bare-metal restore: the
	// snapshots never hold that password).
	PasswordFile string
	// Found is the snapshot FindSnapshot already resolved for Snapshot
	// and Host, when the caller looked for it (to choose among targets):
	// asking restic again costs its key opening, most of a second. nil
	// means look it up.
	Found *Snapshot
}

// snapshot is the snapshot to restore: Found, else FindSnapshot's answer.
func (o RestoreOptions) snapshot(ctx context.Context) (Snapshot, error) {
	if o.Found != nil {
		return *o.Found, nil
	}
	return FindSnapshot(ctx, o.Repo, o.Snapshot, o.Host)
}

// RestoreReport is what a restore did.
type RestoreReport struct {
	Snapshot     Snapshot
	Verification *Verification
	// Aside is the folder, root-relative, holding what the restore
	// replaced; empty when it replaced nothing.
	Aside string
	// Pack is the restored live pack, and PackRaw its bytes.
	Pack    *provision.Pack
	PackRaw []byte
	// PasswordInstalled says the password file was installed as the
	// pack's backup password secret.
	PasswordInstalled bool
}

var (
	msgNoPackInSnapshot = i18n.M{
		FR: "l'instantané %s ne contient pas de pack (%s) : ce n'est pas une sauvegarde de box Ruche",
		EN: "snapshot %s holds no pack (%s): it is not a backup of a Ruche box",
	}
	msgBadPackInSnapshot = i18n.M{
		FR: "le pack de l'instantané %s est invalide pour cette version de Ruche",
		EN: "the pack in snapshot %s is not valid for this version of Ruche",
	}
	msgNotEmpty = i18n.M{
		FR: "%s n'est pas vide : choisissez un dossier vide ou qui n'existe pas",
		EN: "%s is not empty: choose a folder that is empty or does not exist",
	}
)

// Extract restores the snapshot into dir (empty or missing) and verifies
// it, for `ruche backup restore --to DIR` and drills: dir then holds
// etc/ruche/... and var/lib/ruche/... as the snapshot has them, with the
// database copy put where a box reads its database, so that `ruche up
// --root DIR` can run it once the backup password secret is there.
func Extract(ctx context.Context, o RestoreOptions, dir string) (*RestoreReport, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, i18n.Errorf(msgNotEmpty, dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	snap, err := o.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := restoreVerified(ctx, o, snap, dir)
	if err != nil {
		return rep, err
	}
	if err := stageDatabase(dir); err != nil {
		return rep, err
	}
	return rep, nil
}

// restoreVerified restores snap into dir, verifies it and reads its pack.
func restoreVerified(ctx context.Context, o RestoreOptions, snap Snapshot, dir string) (*RestoreReport, error) {
	rep := &RestoreReport{Snapshot: snap}
	var progress func(Progress)
	if o.Progress != nil {
		progress = func(p Progress) { p.Target = "restore"; o.Progress(p) }
	}
	log := o.log().With("snapshot", snap.ShortID, "repository", o.Repo.Display())
	start := o.now()
	if err := o.Repo.Restore(ctx, snap.ID, dir, progress); err != nil {
		return rep, err
	}
	v, err := VerifyTree(ctx, o.Repo, snap.ID, dir)
	rep.Verification = v
	if err != nil {
		return rep, err
	}
	log.Info("restored and verified", "files", v.Files, "bytes", v.Bytes, "database", v.Database, "duration", o.now().Sub(start).Round(time.Millisecond))
	raw, err := os.ReadFile(filepath.Join(dir, provision.PackPath))
	if errors.Is(err, fs.ErrNotExist) {
		return rep, i18n.Errorf(msgNoPackInSnapshot, snap.ShortID, provision.PackPath)
	}
	if err != nil {
		return rep, err
	}
	p, err := provision.Load(filepath.Join(dir, provision.PackPath), raw)
	if err != nil {
		return rep, i18n.Wrap(err, msgBadPackInSnapshot, snap.ShortID)
	}
	rep.Pack, rep.PackRaw = p, raw
	return rep, nil
}

// backupHistory are the backups' own records in a snapshot: they describe
// the repositories as they were then, not as they are, and are dropped
// from what a restore puts back.
var backupHistory = []string{StateFile, DrillStateFile, ScheduleStateFile}

// stageDatabase moves the database copy of a restored tree where a box
// reads its database, and drops the backups' records it holds.
func stageDatabase(dir string) error {
	for _, rel := range backupHistory {
		if err := os.Remove(filepath.Join(dir, rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	src := filepath.Join(dir, DBCopy)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.Rename(src, filepath.Join(dir, provision.DBPath)); err != nil {
		return err
	}
	// An emptied backup folder would only be an empty folder to move.
	_ = os.Remove(filepath.Join(dir, provision.BackupDir))
	return nil
}

var (
	msgRestoreBusy = i18n.M{
		FR: "une autre restauration, application du pack ou sauvegarde est en cours ; réessayez quand elle aura fini",
		EN: "another restore, apply or backup is running; try again when it has finished",
	}
)

// RestoreBox puts the box at o.Root back as it was in the snapshot: the
// live pack, the secrets the snapshot holds (never the backup password,
// which it does not hold), and var/lib/ruche — pack revisions, the
// database (from its copy), the wiki's data, the sites, Caddy's
// certificates. Nothing may run on the box meanwhile: the caller stops
// `ruche up` first, and RestoreBox holds the apply and backup locks.
//
// The snapshot is first extracted into RestoreStagingDir and verified
// (Restore, VerifyTree); only then is the box touched, by renames. What a
// restore replaces is moved, never deleted, under
// var/lib/ruche/removed/restore-<time>/ (with a note saying so), where it
// stays until every target has a backup made after it (RemoveRestoreAside).
// Kept as they are: the backups' records (var/lib/ruche/backup), what
// earlier applies and restores put aside (var/lib/ruche/removed, to which
// the snapshot's are added), local repositories, and secrets the snapshot
// does not hold.
//
// On an empty root (bare metal) the same steps bring the whole box back,
// and o.PasswordFile becomes the pack's backup password secret. The caller
// then applies the restored pack.
func RestoreBox(ctx context.Context, o RestoreOptions) (*RestoreReport, error) {
	root, err := o.root()
	if err != nil {
		return nil, err
	}
	applyLock, err := provision.TryLock(root)
	if errors.Is(err, provision.ErrLocked) {
		return nil, i18n.Errorf(msgRestoreBusy)
	}
	if err != nil {
		return nil, err
	}
	defer applyLock.Unlock()
	unlock, err := lockBackup(root)
	if errors.Is(err, ErrBusy) {
		return nil, i18n.Errorf(msgRestoreBusy)
	}
	if err != nil {
		return nil, err
	}
	defer unlock()

	snap, err := o.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	staging := filepath.Join(root, RestoreStagingDir)
	// On an empty root, var and var/lib are made as a box has them
	// (0755), not as a private staging folder would (0700).
	if err := os.MkdirAll(filepath.Dir(staging), 0o755); err != nil {
		return nil, err
	}
	// A restore cut off earlier left its staging: nothing of the box is
	// in it (what was put back is in place, what was replaced is aside).
	if err := os.RemoveAll(staging); err != nil {
		return nil, err
	}
	defer os.RemoveAll(staging)
	rep, err := restoreVerified(ctx, o, snap, staging)
	if err != nil {
		return rep, err
	}
	if err := stageDatabase(staging); err != nil {
		return rep, err
	}

	when := o.now().UTC()
	asideRel := path.Join(provision.RemovedDir, RestoreAsidePrefix+when.Format(asideTimeLayout))
	sw := &swapper{root: root, staging: staging, aside: filepath.Join(root, filepath.FromSlash(asideRel)), kept: map[string]bool{
		provision.RemovedDir: true,
		provision.BackupDir:  true,
	}}
	// Local repositories of the pack before and after: never moved.
	packs := []*provision.Pack{rep.Pack}
	if raw, err := os.ReadFile(filepath.Join(root, provision.PackPath)); err == nil {
		if live, err := provision.Load(provision.PackPath, raw); err == nil {
			packs = append(packs, live)
		}
	}
	for _, p := range packs {
		for _, t := range p.Backup.Targets {
			if isLocal(t.Repository) {
				if rel, err := filepath.Rel(root, TargetLocation(root, t.Repository)); err == nil && !strings.HasPrefix(rel, "..") {
					sw.kept[filepath.ToSlash(rel)] = true
				}
			}
		}
	}
	// removed/ as the snapshot has it, then the aside folder, private.
	if err := sw.ensureDir(provision.RemovedDir); err != nil {
		return rep, err
	}
	if err := os.Mkdir(sw.aside, 0o700); err != nil {
		return rep, err
	}
	if err := sw.putBack(); err != nil {
		return rep, err
	}
	if p := rep.Pack; p.Backup.PasswordSecret != "" && o.PasswordFile != "" {
		dest := provision.SecretPath(root, p.Backup.PasswordSecret)
		if _, err := os.Stat(dest); errors.Is(err, fs.ErrNotExist) {
			data, err := os.ReadFile(o.PasswordFile)
			if err != nil {
				return rep, err
			}
			if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
				return rep, err
			}
			if err := writeFileAtomic(dest, data, 0o600); err != nil {
				return rep, err
			}
			rep.PasswordInstalled = true
		}
	}
	if len(sw.moved) > 0 {
		rep.Aside = asideRel
		note := restoreNoteText(snap, when, sw.moved)
		if err := writeFileAtomic(filepath.Join(sw.aside, restoreNote), []byte(note), 0o600); err != nil {
			return rep, err
		}
	} else if err := os.Remove(sw.aside); err != nil {
		return rep, err
	}
	if err := syncFS(root); err != nil {
		return rep, err
	}
	o.log().Info("box restored", "snapshot", snap.ShortID, "aside", rep.Aside, "replaced", len(sw.moved))
	return rep, nil
}

// restoreNoteText explains an aside folder to whoever finds it.
func restoreNoteText(snap Snapshot, when time.Time, moved []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Ce dossier garde ce que la restauration de l'instantané %s (du %s) a remplacé le %s.\n",
		snap.ShortID, snap.Time.UTC().Format(time.DateTime+" UTC"), when.Format(time.DateTime+" UTC"))
	b.WriteString("Ruche le supprime quand chaque cible de sauvegarde a une sauvegarde réussie faite après ;\n" +
		"d'ici là, copiez ce qu'il vous faut d'ici.\n\n")
	fmt.Fprintf(&b, "This folder keeps what the restore of snapshot %s (of %s) replaced on %s.\n",
		snap.ShortID, snap.Time.UTC().Format(time.DateTime+" UTC"), when.Format(time.DateTime+" UTC"))
	b.WriteString("Ruche removes it once every backup target has a successful backup made after that;\n" +
		"until then, copy what you need from here.\n\n")
	for _, m := range moved {
		b.WriteString(m + "\n")
	}
	return b.String()
}

// swapper puts a staged tree in place of the box's, moving what it
// replaces aside.
type swapper struct {
	root, staging, aside string
	// kept are root-relative paths left as they are on the box.
	kept  map[string]bool
	moved []string // root-relative paths moved aside
}

// putBack puts the pack, the snapshot's secrets and var/lib/ruche in place.
func (s *swapper) putBack() error {
	if err := s.replace(provision.PackPath); err != nil {
		return err
	}
	// Secrets one by one: a secret the snapshot lacks (the backup
	// password, always) stays.
	secrets, err := os.ReadDir(filepath.Join(s.staging, provision.SecretsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if exists(s.stage(provision.SecretsDir)) {
		if err := s.ensureDir(provision.SecretsDir); err != nil {
			return err
		}
	}
	for _, e := range secrets {
		if err := s.replace(path.Join(provision.SecretsDir, e.Name())); err != nil {
			return err
		}
	}
	if err := s.replace(provision.StateDir); err != nil {
		return err
	}
	// What the snapshot had put aside comes back beside what is aside now.
	removed, err := os.ReadDir(filepath.Join(s.staging, provision.RemovedDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range removed {
		rel := path.Join(provision.RemovedDir, e.Name())
		if _, err := os.Lstat(s.live(rel)); errors.Is(err, fs.ErrNotExist) {
			if err := moveTree(s.stage(rel), s.live(rel)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *swapper) live(rel string) string  { return filepath.Join(s.root, filepath.FromSlash(rel)) }
func (s *swapper) stage(rel string) string { return filepath.Join(s.staging, filepath.FromSlash(rel)) }

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// keptLive says rel is kept and on the box.
func (s *swapper) keptLive(rel string) bool { return s.kept[rel] && exists(s.live(rel)) }

// holdsKept says a kept path on the box lies inside rel.
func (s *swapper) holdsKept(rel string) bool {
	for k := range s.kept {
		if strings.HasPrefix(k, rel+"/") && exists(s.live(k)) {
			return true
		}
	}
	return false
}

// replace puts the staged rel in place of the box's, the box's going
// aside; a folder holding a kept path is merged entry by entry instead.
func (s *swapper) replace(rel string) error {
	if s.keptLive(rel) {
		return nil
	}
	if s.holdsKept(rel) {
		if err := s.ensureDir(rel); err != nil {
			return err
		}
		names := map[string]bool{}
		for _, dir := range []string{s.live(rel), s.stage(rel)} {
			entries, err := os.ReadDir(dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			for _, e := range entries {
				names[e.Name()] = true
			}
		}
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		slices.Sort(sorted)
		for _, n := range sorted {
			if err := s.replace(path.Join(rel, n)); err != nil {
				return err
			}
		}
		return nil
	}
	if exists(s.live(rel)) {
		if err := moveTree(s.live(rel), filepath.Join(s.aside, filepath.FromSlash(rel))); err != nil {
			return err
		}
		s.moved = append(s.moved, rel)
	}
	if exists(s.stage(rel)) {
		if err := s.ensureDir(path.Dir(rel)); err != nil {
			return err
		}
		return moveTree(s.stage(rel), s.live(rel))
	}
	return nil
}

// ensureDir makes the box's folder rel and its parents, each with the
// staged folder's mode when there is one (0755 otherwise).
func (s *swapper) ensureDir(rel string) error {
	if rel == "." || rel == "" || exists(s.live(rel)) {
		return nil
	}
	if err := s.ensureDir(path.Dir(rel)); err != nil {
		return err
	}
	mode := fs.FileMode(0o755)
	if info, err := os.Stat(s.stage(rel)); err == nil && info.IsDir() {
		mode = info.Mode().Perm()
	}
	if err := os.Mkdir(s.live(rel), mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return os.Chmod(s.live(rel), mode) // Mkdir's mode went through the umask
}

// moveTree moves src to dst (a file, link or folder), making dst's parent
// folders (0700: an aside folder may hold secrets). A rename when both are
// on one filesystem; else a copy, synced, then the source removed.
func moveTree(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".ruche-tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := copyTree(src, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := syncFS(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return os.RemoveAll(src)
}

// copyTree copies src to dst with modes, owners (when allowed) and
// modification times.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			if err := copyFile(p, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return nil // sockets, fifos: nothing a box keeps
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if err := os.Chmod(target, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncFS makes everything written on dir's filesystem durable.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// CheckSFTPHostKey connects to the server of an sftp: repository and
// compares the host key it shows with hostKey (authorized_keys form),
// before restic runs: restic relays ssh's own words only when it has time
// to (a quick command may exit first), and a mismatch would then read as
// "unable to start the sftp session". A mismatch is an *Error of kind
// ErrHostKey; a server that cannot be reached, of kind ErrUnreachable.
// Nothing is authenticated: the check stops after the key exchange.
func CheckSFTPHostKey(ctx context.Context, repository, hostKey string, timeout time.Duration) error {
	display := DisplayLocation(repository)
	a, err := parseSFTP(repository)
	if err != nil {
		return configError(display, err)
	}
	pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return configError(display, i18n.Errorf(msgBadHostKey))
	}
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	addr := net.JoinHostPort(a.host, a.port)
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return &Error{Kind: ErrUnreachable, Repository: display, Code: -1, Message: err.Error(), Err: err}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	var shown ssh.PublicKey
	user := a.user
	if user == "" {
		user = "ruche"
	}
	cfg := &ssh.ClientConfig{
		User: user,
		// Ask for the pinned key's type: a server has one key per type.
		HostKeyAlgorithms: []string{pinned.Type()},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if bytes.Equal(key.Marshal(), pinned.Marshal()) {
				return nil
			}
			shown = key
			return errors.New("host key mismatch")
		},
		Timeout: timeout,
	}
	c, _, _, err := ssh.NewClientConn(conn, addr, cfg)
	if c != nil {
		c.Close()
	}
	if shown != nil {
		return &Error{Kind: ErrHostKey, Repository: display, Code: -1, Message: "ssh: the server shows " + ssh.FingerprintSHA256(shown)}
	}
	return nil // refused for want of a key: the host key was the pinned one
}

// RemoveRestoreAside removes what restores put aside
// (var/lib/ruche/removed/restore-<time>) once every target of p has a
// successful backup that started after it: that backup holds it, under
// var/lib/ruche/removed, so nothing is lost. It returns the folders
// removed, root-relative. Whoever finishes a backup calls it: the
// Scheduler after each scheduled backup.
func RemoveRestoreAside(root string, p *provision.Pack) ([]string, error) {
	if len(p.Backup.Targets) == 0 {
		return nil, nil
	}
	state, err := ReadState(root)
	if err != nil {
		return nil, err
	}
	// Only what was aside before a backup started is sure to be in it.
	// The start of a target's last success is its last attempt when that
	// succeeded; else it is estimated from its end and duration, with a
	// second to spare. The cutoff is the earliest such start.
	var cutoff time.Time
	for i, t := range p.Backup.Targets {
		ts := state.Targets[t.Name]
		if ts == nil || ts.LastSuccess.IsZero() {
			return nil, nil
		}
		start := ts.LastAttempt
		if ts.LastStatus != StatusOK || start.IsZero() {
			start = ts.LastSuccess.Add(-time.Duration(ts.LastSuccessDurationSeconds*float64(time.Second)) - time.Second)
		}
		if i == 0 || start.Before(cutoff) {
			cutoff = start
		}
	}
	dir := filepath.Join(root, provision.RemovedDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), RestoreAsidePrefix)
		if !ok || !e.IsDir() {
			continue
		}
		when, err := time.Parse(asideTimeLayout, stamp)
		// The name keeps milliseconds: the restore ended within one
		// after it.
		if err != nil || !when.Add(time.Millisecond).Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return removed, err
		}
		removed = append(removed, path.Join(provision.RemovedDir, e.Name()))
	}
	return removed, nil
}
