package backup

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/backup/backuptest"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
)

// realRepo is a new local repository driven by the pinned restic.
func realRepo(t *testing.T) *Repo {
	t.Helper()
	bin := backuptest.Restic(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("restore test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &Repo{Binary: bin, Location: filepath.Join(dir, "repo"), PasswordFile: pw, CacheDir: filepath.Join(dir, "cache")}
	if err := r.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// writeTree writes files (path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshotAt backs up dir's paths as host, with tags, at the time when.
func snapshotAt(t *testing.T, r *Repo, dir, host string, when time.Time, tags ...string) {
	t.Helper()
	args := []string{"backup", "--host", host, "--time", when.Format(time.DateTime)}
	for _, tag := range tags {
		args = append(args, "--tag", tag)
	}
	args = append(args, "--", ".")
	if err := r.Run(context.Background(), dir, args, nil); err != nil {
		t.Fatalf("restic backup: %v", err)
	}
}

// newDatabase makes a real box database at path.
func newDatabase(t *testing.T, path string) {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
}

func TestRestoreVerifyAndFindSnapshot(t *testing.T) {
	ctx := context.Background()
	r := realRepo(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"etc/ruche/pack.yaml":                "apiVersion: ruche/v1\n",
		"var/lib/ruche/wiki/pages/start.txt": "Bienvenue\n",
	})
	os.Symlink("releases/1", filepath.Join(src, "var/lib/ruche/public"))
	newDatabase(t, filepath.Join(src, DBCopy))
	snapshotAt(t, r, src, "box-a", time.Date(2026, 3, 1, 2, 30, 0, 0, time.UTC), TagRuche)
	snapshotAt(t, r, src, "box-b", time.Date(2026, 3, 2, 2, 30, 0, 0, time.UTC), TagRuche)
	writeTree(t, src, map[string]string{"var/lib/ruche/wiki/pages/start.txt": "Bienvenue à tous\n"})
	snapshotAt(t, r, src, "box-a", time.Date(2026, 3, 3, 2, 30, 0, 0, time.UTC), TagRuche)

	// latest is per box: the repository holds two.
	if _, err := FindSnapshot(ctx, r, LatestSnapshot, ""); err == nil || !strings.Contains(i18n.Localize(err, i18n.EN), "several boxes (box-a, box-b): say which with --host") {
		t.Errorf("latest without a host in a shared repository: %v", err)
	}
	snap, err := FindSnapshot(ctx, r, LatestSnapshot, "box-a")
	if err != nil || snap.Hostname != "box-a" || snap.Time.Day() != 3 {
		t.Fatalf("latest of box-a: %+v, %v", snap, err)
	}
	if s, err := FindSnapshot(ctx, r, snap.ShortID[:6], ""); err != nil || s.ID != snap.ID {
		t.Errorf("by a prefix of its ID: %+v, %v", s, err)
	}
	if _, err := FindSnapshot(ctx, r, "deadbeef", ""); err == nil || !strings.Contains(i18n.Localize(err, i18n.EN), `has no snapshot "deadbeef"`) {
		t.Errorf("unknown snapshot: %v", err)
	}
	if _, err := FindSnapshot(ctx, r, LatestSnapshot, "box-c"); err == nil || !strings.Contains(i18n.Localize(err, i18n.FR), "aucun instantané de Ruche pour la box « box-c »") {
		t.Errorf("latest of a box with no snapshot: %v", err)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	var seen []Progress
	if err := r.Restore(ctx, snap.ID, dir, func(p Progress) { seen = append(seen, p) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "var/lib/ruche/wiki/pages/start.txt")); string(got) != "Bienvenue à tous\n" {
		t.Errorf("restored page %q", got)
	}
	v, err := VerifyTree(ctx, r, snap.ID, dir)
	if err != nil {
		t.Fatalf("verify: %v (%+v)", err, v)
	}
	if v.Files != 3 || v.Links != 1 || v.Database != "ok" || len(v.Problems) != 0 {
		t.Errorf("verification %+v: want 3 files, 1 link, database ok", v)
	}
	t.Logf("%d progress messages", len(seen))

	// What a restore would leave out is found.
	os.Remove(filepath.Join(dir, "var/lib/ruche/wiki/pages/start.txt"))
	os.WriteFile(filepath.Join(dir, "etc/ruche/pack.yaml"), []byte("x\n"), 0o644)
	v, err = VerifyTree(ctx, r, snap.ID, dir)
	if !errors.Is(err, ErrNotVerified) || len(v.Problems) != 2 {
		t.Fatalf("verify of a damaged tree: %v, %+v", err, v)
	}
	msg := i18n.Localize(err, i18n.EN)
	for _, want := range []string{"does not match snapshot " + snap.ShortID, "/etc/ruche/pack.yaml: 2 bytes, the snapshot has 21", "/var/lib/ruche/wiki/pages/start.txt: no such file or directory"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}

func TestVerifyFindsADamagedDatabase(t *testing.T) {
	ctx := context.Background()
	r := realRepo(t)
	src := t.TempDir()
	db := filepath.Join(src, DBCopy)
	newDatabase(t, db)
	// The database's pages overwritten in the middle: same size, damaged.
	data, _ := os.ReadFile(db)
	for i := 4096 + 8; i < len(data)-8; i += 97 {
		data[i] ^= 0x5a
	}
	os.WriteFile(db, data, 0o600)
	snapshotAt(t, r, src, "box-a", time.Now(), TagRuche)
	dir := t.TempDir()
	if err := r.Restore(ctx, "latest", dir, nil); err != nil {
		t.Fatal(err)
	}
	v, err := VerifyTree(ctx, r, "latest", dir)
	if !errors.Is(err, ErrNotVerified) || v == nil || v.Database == "ok" || v.Database == "" {
		t.Fatalf("a damaged database copy: %v, %+v", err, v)
	}
	if msg := i18n.Localize(err, i18n.EN); !strings.Contains(msg, "the database copy in snapshot latest is damaged (integrity_check: ") {
		t.Errorf("message %q", msg)
	}
}

func TestRestoreOfACorruptedRepositoryFails(t *testing.T) {
	ctx := context.Background()
	r := realRepo(t)
	src := t.TempDir()
	// Random bytes, which restic cannot compress away.
	big := make([]byte, 3<<20)
	rand.NewChaCha8([32]byte{6}).Read(big)
	os.WriteFile(filepath.Join(src, "data.bin"), big, 0o644)
	snapshotAt(t, r, src, "box-a", time.Now(), TagRuche)
	corruptLargestPack(t, r.Location)
	err := r.Restore(ctx, "latest", t.TempDir(), nil)
	if err == nil {
		t.Fatal("a restore from a repository with a corrupted pack file succeeded")
	}
	t.Logf("restore of a corrupted repository: %s", i18n.Localize(err, i18n.EN))
}

// corruptLargestPack flips bytes in the middle of the repository's largest
// pack file, where the data is.
func corruptLargestPack(t *testing.T, repo string) {
	t.Helper()
	var largest string
	var size int64
	filepath.Walk(filepath.Join(repo, "data"), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && info.Size() > size {
			largest, size = p, info.Size()
		}
		return nil
	})
	if largest == "" {
		t.Fatal("no pack file in the repository")
	}
	data, err := os.ReadFile(largest)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(data) / 4; i < min(len(data)/4+4096, len(data)); i++ {
		data[i] ^= 0xff
	}
	os.Chmod(largest, 0o600)
	if err := os.WriteFile(largest, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestForgetTouchesOnlyThisBox(t *testing.T) {
	ctx := context.Background()
	r := realRepo(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.txt": "a\n"})
	day := func(d int) time.Time { return time.Date(2026, 3, d, 2, 30, 0, 0, time.UTC) }
	// Three days of box-a across two pack revisions, two of box-b, and a
	// snapshot of box-a not made by Ruche.
	snapshotAt(t, r, src, "box-a", day(1), TagRuche, "revision:1")
	snapshotAt(t, r, src, "box-a", day(2), TagRuche, "revision:1")
	writeTree(t, src, map[string]string{"b.txt": "b\n"})
	snapshotAt(t, r, src, "box-a", day(3), TagRuche, "revision:2")
	snapshotAt(t, r, src, "box-b", day(1), TagRuche, "revision:1")
	snapshotAt(t, r, src, "box-b", day(2), TagRuche, "revision:1")
	snapshotAt(t, r, src, "box-a", day(1), "manual")

	if _, err := r.Forget(ctx, provision.Keep{Daily: 1}, "", []string{TagRuche}); err == nil {
		t.Fatal("forget without a host ran: it would touch other boxes' snapshots")
	}
	rep, err := r.Forget(ctx, provision.Keep{Daily: 1}, "box-a", []string{TagRuche})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kept() != 1 || rep.Removed() != 2 || len(rep.Groups) != 1 {
		t.Errorf("forget: %d groups, kept %d, removed %d; want 1 group (revisions together), 1 kept, 2 removed", len(rep.Groups), rep.Kept(), rep.Removed())
	}
	snaps, err := r.Snapshots(ctx, SnapshotFilter{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range snaps {
		key := s.Hostname
		if slices.Contains(s.Tags, "manual") {
			key += "/manual"
		}
		count[key]++
		if s.Hostname == "box-a" && slices.Contains(s.Tags, TagRuche) && s.Time.Day() != 3 {
			t.Errorf("box-a kept its snapshot of day %d, want day 3's", s.Time.Day())
		}
	}
	if count["box-a"] != 1 || count["box-b"] != 2 || count["box-a/manual"] != 1 {
		t.Errorf("snapshots left: %v; want box-a 1, box-b 2 (untouched), box-a/manual 1 (untouched)", count)
	}
	// A policy that keeps nothing forgets nothing.
	if rep, err := r.Forget(ctx, provision.Keep{}, "box-b", nil); err != nil || rep.Removed() != 0 {
		t.Errorf("empty policy: %+v, %v", rep, err)
	}
	if _, err := r.Check(ctx, CheckSubset(time.Now())); err != nil {
		t.Errorf("check after forget --prune: %v", err)
	}
}

func TestCheckSubsetCoversTheRepositoryInTurn(t *testing.T) {
	parts := map[string]bool{}
	start := time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC) // a Monday, ISO week 2
	for w := 0; w < CheckSubsetParts; w++ {
		parts[CheckSubset(start.AddDate(0, 0, 7*w))] = true
	}
	if len(parts) != CheckSubsetParts {
		t.Errorf("%d weeks read %d different parts (%v), want every part once", CheckSubsetParts, len(parts), parts)
	}
	if got := CheckSubset(start); got != "3/8" {
		t.Errorf("week 2: %q, want 3/8", got)
	}
}

func TestRemoveRestoreAside(t *testing.T) {
	root := t.TempDir()
	removed := filepath.Join(root, provision.RemovedDir)
	for _, name := range []string{"restore-20260301T100000.000Z", "restore-20260305T100000.000Z", "20260301T100000Z-vitrine"} {
		os.MkdirAll(filepath.Join(removed, name, "x"), 0o700)
	}
	p := &provision.Pack{Backup: provision.Backup{Targets: []provision.BackupTarget{{Name: "usb"}, {Name: "nas"}}}}
	st := &State{Targets: map[string]*TargetState{
		"usb": {LastSuccess: time.Date(2026, 3, 4, 2, 31, 0, 0, time.UTC), LastSuccessDurationSeconds: 60},
	}}
	if err := st.write(root); err != nil {
		t.Fatal(err)
	}
	// nas never succeeded: nothing is sure to be in its backups.
	if got, err := RemoveRestoreAside(root, p); err != nil || len(got) != 0 {
		t.Fatalf("with a target never backed up: removed %v, %v", got, err)
	}
	st.Targets["nas"] = &TargetState{LastSuccess: time.Date(2026, 3, 6, 2, 31, 0, 0, time.UTC), LastSuccessDurationSeconds: 60}
	st.write(root)
	got, err := RemoveRestoreAside(root, p)
	if err != nil || !slices.Equal(got, []string{provision.RemovedDir + "/restore-20260301T100000.000Z"}) {
		t.Fatalf("removed %v, %v; want only the restore older than both backups", got, err)
	}
	for name, want := range map[string]bool{"restore-20260301T100000.000Z": false, "restore-20260305T100000.000Z": true, "20260301T100000Z-vitrine": true} {
		if exists(filepath.Join(removed, name)) != want {
			t.Errorf("%s exists: %v, want %v", name, !want, want)
		}
	}
}

// TestPutBackKeepsWhatIsKept swaps a staged tree into a box by hand: what
// the snapshot has replaces the box's, which goes aside; the box's
// backups' records, what is already aside, local repositories and the
// secrets the snapshot lacks stay.
func TestPutBackKeepsWhatIsKept(t *testing.T) {
	root, staging := t.TempDir(), t.TempDir()
	writeTree(t, root, map[string]string{
		"etc/ruche/pack.yaml":                 "live pack\n",
		"etc/ruche/secrets/restic":            "password\n",
		"etc/ruche/secrets/relay":             "new relay password\n",
		"var/lib/ruche/wiki/pages/new.txt":    "written after the snapshot\n",
		"var/lib/ruche/ruche.db":              "live database\n",
		"var/lib/ruche/ruche.db-wal":          "live wal\n",
		"var/lib/ruche/backup/state.json":     "{}\n",
		"var/lib/ruche/removed/old/file":      "moved aside long ago\n",
		"var/lib/ruche/backups/restic/config": "a local repository inside\n",
	})
	writeTree(t, staging, map[string]string{
		"etc/ruche/pack.yaml":                 "snapshot pack\n",
		"etc/ruche/secrets/relay":             "old relay password\n",
		"var/lib/ruche/wiki/pages/start.txt":  "snapshot page\n",
		"var/lib/ruche/ruche.db":              "snapshot database\n",
		"var/lib/ruche/removed/older/file":    "aside in the snapshot\n",
		"var/lib/ruche/removed/old/file":      "the snapshot's copy\n",
		"var/lib/ruche/revisions/000001.yaml": "rev\n",
	})
	sw := &swapper{root: root, staging: staging, aside: filepath.Join(root, "var/lib/ruche/removed/restore-x"), kept: map[string]bool{
		provision.RemovedDir:           true,
		provision.BackupDir:            true,
		"var/lib/ruche/backups/restic": true,
	}}
	os.MkdirAll(sw.aside, 0o700)
	if err := sw.putBack(); err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(data)
	}
	for rel, want := range map[string]string{
		"etc/ruche/pack.yaml":                 "snapshot pack\n",
		"etc/ruche/secrets/restic":            "password\n",
		"etc/ruche/secrets/relay":             "old relay password\n",
		"var/lib/ruche/wiki/pages/start.txt":  "snapshot page\n",
		"var/lib/ruche/ruche.db":              "snapshot database\n",
		"var/lib/ruche/revisions/000001.yaml": "rev\n",
		"var/lib/ruche/backup/state.json":     "{}\n",
		"var/lib/ruche/removed/old/file":      "moved aside long ago\n",
		"var/lib/ruche/removed/older/file":    "aside in the snapshot\n",
		"var/lib/ruche/backups/restic/config": "a local repository inside\n",
		// aside, under their own paths
		"var/lib/ruche/removed/restore-x/etc/ruche/pack.yaml":              "live pack\n",
		"var/lib/ruche/removed/restore-x/etc/ruche/secrets/relay":          "new relay password\n",
		"var/lib/ruche/removed/restore-x/var/lib/ruche/wiki/pages/new.txt": "written after the snapshot\n",
		"var/lib/ruche/removed/restore-x/var/lib/ruche/ruche.db":           "live database\n",
		"var/lib/ruche/removed/restore-x/var/lib/ruche/ruche.db-wal":       "live wal\n",
	} {
		if got := read(rel); got != want {
			t.Errorf("%s: %q, want %q", rel, got, want)
		}
	}
	for _, gone := range []string{"var/lib/ruche/wiki/pages/new.txt", "var/lib/ruche/ruche.db-wal"} {
		if exists(filepath.Join(root, gone)) {
			t.Errorf("%s is still on the box", gone)
		}
	}
	wantMoved := []string{"etc/ruche/pack.yaml", "etc/ruche/secrets/relay", "var/lib/ruche/ruche.db", "var/lib/ruche/ruche.db-wal", "var/lib/ruche/wiki"}
	if !slices.Equal(sw.moved, wantMoved) {
		t.Errorf("moved aside %q, want %q", sw.moved, wantMoved)
	}
}
