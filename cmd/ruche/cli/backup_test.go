package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/backup/backuptest"
	"github.com/ruche-box/ruche/cmd/ruche/cli"
	"github.com/ruche-box/ruche/provision"
)

// backupPack is a box with the wiki, one site and a panel user; targets is
// the YAML of backup.targets, one "    - {...}" line each.
const backupPack = `apiVersion: ruche/v1
kind: Pack
association: {name: "Café test", slug: cafe-test, locale: fr}
box: {hostname: cafe-test, tls: "off"}
wiki: {enabled: true, title: Wiki}
sites:
  - name: vitrine
    domains: [cafe-test.org]
    template: showcase
    title: Vitrine
    pages: [{path: /, title: Accueil, body: Bonjour}]
backup:
  keep: {daily: 7}
  password_secret: restic
  targets:
%s
panel:
  users: [{login: alice, role: admin}]
`

// backupBox is a box applied under a temporary root, with data in it.
type backupBox struct {
	root, restic string
}

// newBackupBox applies backupPack with targets under a fresh root, then
// adds what a box in use holds: wiki pages and media, DokuWiki's cache, a
// site's upload (uploadBytes of random data, in files of at most 10 MB),
// a password in the database, a spare secret. secrets are written before
// the pack is applied (the key of an sftp target).
func newBackupBox(t *testing.T, targets string, uploadBytes int, secrets map[string]string) *backupBox {
	t.Helper()
	b := &backupBox{root: t.TempDir(), restic: backuptest.Restic(t)}
	os.MkdirAll(filepath.Join(b.root, provision.SecretsDir), 0o700)
	b.secret(t, "restic", "correct horse battery staple\n")
	b.secret(t, "spare-key", "not a real key\n")
	for name, content := range secrets {
		b.secret(t, name, content)
	}
	b.apply(t, targets)
	if code, _, errOut := run(t, "s3cret-alice\n", "user", "passwd", "--root", b.root, "alice"); code != 0 {
		t.Fatalf("user passwd: exit %d: %s", code, errOut)
	}
	files := map[string]string{
		"var/lib/ruche/wiki/pages/start.txt":                "====== Accueil ======\nBienvenue au café.\n",
		"var/lib/ruche/wiki/pages/asso/bureau.txt":          "Le bureau se réunit le mardi.\n",
		"var/lib/ruche/wiki/media/logo.svg":                 "<svg/>\n",
		"var/lib/ruche/wiki/cache/a/cached.xhtml":           "cache\n",
		"var/lib/ruche/sites/vitrine/uploads/programme.txt": "Programme de la fête\n",
	}
	for rel, content := range files {
		path := filepath.Join(b.root, rel)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	for i := 0; uploadBytes > 0; i++ {
		n := min(uploadBytes, 10<<20)
		data := make([]byte, n)
		for j := 0; j+8 <= n; j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		name := filepath.Join(b.root, fmt.Sprintf("var/lib/ruche/sites/vitrine/uploads/photo-%02d.jpg", i))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		uploadBytes -= n
	}
	return b
}

func (b *backupBox) secret(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(b.root, provision.SecretsDir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// apply applies backupPack with targets.
func (b *backupBox) apply(t *testing.T, targets string) {
	t.Helper()
	pack := writePack(t, t.TempDir(), "pack.yaml", fmt.Sprintf(backupPack, targets))
	if code, out, errOut := run(t, "", "apply", "--root", b.root, pack); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
}

// backup runs `ruche backup ARGS --root ROOT --restic RESTIC --lang en`
// in-process.
func (b *backupBox) backup(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return run(t, "", append(append([]string{"backup"}, args...), "--root", b.root, "--restic", b.restic, "--lang", "en")...)
}

// repo opens a local repository of the box with the box's password.
func (b *backupBox) repo(t *testing.T, rel string) *backup.Repo {
	return &backup.Repo{
		Binary:       b.restic,
		Location:     filepath.Join(b.root, rel),
		PasswordFile: filepath.Join(b.root, provision.SecretsDir, "restic"),
		CacheDir:     t.TempDir(),
	}
}

// snapshotPaths lists the paths in a snapshot ("/etc/ruche/pack.yaml").
func snapshotPaths(t *testing.T, repo *backup.Repo, id string) []string {
	t.Helper()
	var paths []string
	err := repo.Run(context.Background(), "", []string{"ls", id}, func(m backup.Message) {
		var n struct {
			Path string `json:"path"`
		}
		if m.Type == "node" && m.Decode(&n) == nil {
			paths = append(paths, n.Path)
		}
	})
	if err != nil {
		t.Fatalf("restic ls %s: %v", id, err)
	}
	return paths
}

func readBackupState(t *testing.T, root string) *backup.State {
	t.Helper()
	s, err := backup.ReadState(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBackupNowLocalRepository(t *testing.T) {
	b := newBackupBox(t, `    - {name: local, repository: /var/backups/ruche/restic}`, 2<<20, nil)
	code, out, errOut := b.backup(t, "now")
	if code != 0 {
		t.Fatalf("backup now: exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`^local: backed up — snapshot [0-9a-f]{8}, \d+ new file\(s\), 0 changed, .* added, in .* \(repository created\)\n$`).MatchString(out) {
		t.Errorf("stdout %q: want one line for the target", out)
	}
	if _, err := os.Stat(filepath.Join(b.root, backup.DBCopy)); err == nil {
		t.Error("the database copy is left on the box after the backup")
	}

	repo := b.repo(t, "var/backups/ruche/restic")
	snaps, err := repo.Snapshots(context.Background(), backup.SnapshotFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 {
		t.Fatalf("got %d snapshots, want 1", len(snaps))
	}
	s := snaps[0]
	if s.Hostname != "cafe-test" || !slices.Contains(s.Tags, "ruche") || s.Revision() != 1 {
		t.Errorf("snapshot host %q tags %q: want cafe-test, ruche, revision:1", s.Hostname, s.Tags)
	}
	paths := snapshotPaths(t, repo, "latest")
	for _, want := range []string{
		"/etc/ruche/pack.yaml",
		"/etc/ruche/secrets/spare-key",
		"/var/lib/ruche/revisions/000001.yaml",
		"/var/lib/ruche/backup/ruche.db",
		"/var/lib/ruche/wiki/pages/start.txt",
		"/var/lib/ruche/wiki/pages/asso/bureau.txt",
		"/var/lib/ruche/wiki/media/logo.svg",
		"/var/lib/ruche/sites/vitrine/uploads/programme.txt",
		"/var/lib/ruche/sites/vitrine/uploads/photo-00.jpg",
		"/var/lib/ruche/sites/vitrine/public",
	} {
		if !slices.Contains(paths, want) {
			t.Errorf("the snapshot lacks %s", want)
		}
	}
	for _, never := range []string{
		"/etc/ruche/secrets/restic",   // the password of the backups themselves
		"/var/lib/ruche/ruche.db",     // the live database: its copy is saved
		"/var/lib/ruche/ruche.db-wal", //
		"/var/lib/ruche/wiki/cache/a/cached.xhtml",
		"/var/lib/ruche/backup/state.json",
		"/var/backups/ruche/restic", // not under var/lib/ruche, never listed
	} {
		if slices.Contains(paths, never) {
			t.Errorf("the snapshot holds %s", never)
		}
	}

	// The database in the snapshot is a consistent copy holding alice's
	// password hash.
	scratch := t.TempDir()
	if err := repo.Run(context.Background(), "", []string{"restore", "latest", "--target", scratch, "--include", "/var/lib/ruche/backup/ruche.db"}, nil); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(scratch, "var/lib/ruche/backup/ruche.db"))
	if err != nil {
		t.Fatal(err)
	}
	var check, hash string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the copy: %q, %v", check, err)
	}
	if err := db.QueryRow("SELECT password_hash FROM users WHERE login = 'alice'").Scan(&hash); err != nil || !strings.HasPrefix(hash, "$2") {
		t.Errorf("alice's hash in the copy: %q, %v", hash, err)
	}
	db.Close()

	first := readBackupState(t, b.root).Targets["local"]
	if first == nil || first.LastStatus != backup.StatusOK || first.LastSuccess.IsZero() || first.LastBytesAdded < 2<<20 {
		t.Fatalf("state after the first backup: %+v", first)
	}

	// A second backup of the same data adds little.
	code, out, errOut = b.backup(t, "now")
	if code != 0 || strings.Contains(out, "repository created") {
		t.Fatalf("second backup now: exit %d\n%s\n%s", code, out, errOut)
	}
	second := readBackupState(t, b.root).Targets["local"]
	if second.LastBytesAdded > 256<<10 {
		t.Errorf("the second backup added %d bytes, want little (the first added %d)", second.LastBytesAdded, first.LastBytesAdded)
	}
	if !second.LastSuccess.After(first.LastSuccess) || second.LastSnapshot == first.LastSnapshot {
		t.Errorf("state after the second backup: %+v", second)
	}

	// snapshots: a table, and JSON.
	code, out, errOut = b.backup(t, "snapshots")
	if code != 0 || strings.Count(out, "\nlocal ") != 2 || !strings.HasPrefix(out, "TARGET") {
		t.Errorf("snapshots: exit %d, want a header and 2 rows:\n%s\n%s", code, out, errOut)
	}
	code, out, _ = b.backup(t, "snapshots", "--json")
	var listed []struct {
		Target    string            `json:"target"`
		Snapshots []backup.Snapshot `json:"snapshots"`
	}
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed) != 1 || len(listed[0].Snapshots) != 2 {
		t.Errorf("snapshots --json: exit %d, %v:\n%s", code, err, out)
	}
}

func TestBackupWrongPassword(t *testing.T) {
	b := newBackupBox(t, `    - {name: local, repository: /var/backups/ruche/restic}`, 0, nil)
	if code, out, errOut := b.backup(t, "now"); code != 0 {
		t.Fatalf("backup now: exit %d\n%s\n%s", code, out, errOut)
	}
	b.secret(t, "restic", "another password\n")
	code, out, errOut := b.backup(t, "now")
	if code != cli.ExitFailed {
		t.Fatalf("backup with the wrong password: exit %d, want 1", code)
	}
	if !strings.Contains(out, "local: FAILED — the password does not open the repository "+filepath.Join(b.root, "var/backups/ruche/restic")) {
		t.Errorf("stdout does not say the password is wrong:\n%s", out)
	}
	if !strings.Contains(errOut, "the backup did not succeed for: local") {
		t.Errorf("stderr does not name the target:\n%s", errOut)
	}
	// French by default.
	_, out, _ = run(t, "", "backup", "now", "--root", b.root, "--restic", b.restic)
	if !strings.Contains(out, "local : ÉCHEC — le mot de passe n'ouvre pas le dépôt") {
		t.Errorf("French stdout:\n%s", out)
	}
	if s := readBackupState(t, b.root).Targets["local"]; s.LastStatus != backup.StatusFailed || s.LastSuccess.IsZero() {
		t.Errorf("state: %+v, want failed with the earlier success kept", s)
	}
}

func TestBackupOneTargetUnreachable(t *testing.T) {
	port := backuptest.ClosedPort(t)
	b := newBackupBox(t, fmt.Sprintf(`    - {name: support, repository: "rest:http://127.0.0.1:%d/cafe"}
    - {name: local, repository: /var/backups/ruche/restic}`, port), 0, nil)
	start := time.Now()
	code, out, errOut := b.backup(t, "now")
	if code != cli.ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	t.Logf("one target unreachable:\n%s%s", out, errOut)
	if d := time.Since(start); d > 2*time.Minute {
		t.Errorf("an unreachable target held the backup for %v", d)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], fmt.Sprintf("support: FAILED — the target rest:http://127.0.0.1:%d/cafe cannot be reached", port)) ||
		!strings.HasPrefix(lines[1], "local: backed up — snapshot ") {
		t.Errorf("stdout, want support failed then local backed up:\n%s", out)
	}
	if !strings.Contains(errOut, "did not succeed for: support\n") {
		t.Errorf("stderr does not name only the failed target:\n%s", errOut)
	}
	snaps, err := b.repo(t, "var/backups/ruche/restic").Snapshots(context.Background(), backup.SnapshotFilter{})
	if err != nil || len(snaps) != 1 {
		t.Errorf("local repository: %d snapshots, %v; want 1", len(snaps), err)
	}
	state := readBackupState(t, b.root)
	if state.Targets["support"].LastStatus != backup.StatusFailed || state.Targets["local"].LastStatus != backup.StatusOK {
		t.Errorf("state: support %+v, local %+v", state.Targets["support"], state.Targets["local"])
	}
}

func TestBackupRemovableDiskMissing(t *testing.T) {
	b := newBackupBox(t, `    - {name: usb, repository: /media/ruche-backup/restic, removable: true}
    - {name: local, repository: /var/backups/ruche/restic}`, 0, nil)
	// The mount point exists, as it does on a box, but no disk is
	// mounted there: it is a folder of the disk the root is on.
	mountPoint := filepath.Join(b.root, "media/ruche-backup")
	os.MkdirAll(mountPoint, 0o755)
	code, out, errOut := b.backup(t, "now")
	if code != cli.ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "usb: DISK MISSING — "+filepath.Join(mountPoint, "restic")+" is not on a plugged-in, mounted disk; nothing was written there\n") ||
		!strings.Contains(out, "local: backed up") {
		t.Errorf("stdout:\n%s", out)
	}
	if entries, _ := os.ReadDir(mountPoint); len(entries) != 0 {
		t.Errorf("the backup wrote onto the internal disk in place of the missing one: %v", entries)
	}
	if s := readBackupState(t, b.root).Targets["usb"]; s.LastStatus != backup.StatusMissing {
		t.Errorf("state: %+v", s)
	}
}

// childNamed finds a child process of pid whose command is name.
func childNamed(pid int, name string) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			child, _ := strconv.Atoi(field)
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child))
			if strings.TrimSpace(string(comm)) == name {
				return child
			}
		}
	}
	return 0
}

// comm is a program's name as /proc/PID/comm shows it.
func comm(path string) string {
	name := filepath.Base(path)
	if len(name) > 15 {
		name = name[:15]
	}
	return name
}

// hasFiles reports whether dir holds a regular file, at any depth.
func hasFiles(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

func TestBackupKilledResticLeavesARepositoryThatWorks(t *testing.T) {
	b := newBackupBox(t, `    - {name: local, repository: /var/backups/ruche/restic}`, 200<<20, nil)
	repoDir := filepath.Join(b.root, "var/backups/ruche/restic")

	// ruche as its own process, so that its restic can be killed -9 in
	// the middle of writing the repository.
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(rucheBin, "backup", "now", "--root", b.root, "--restic", b.restic, "--lang", "en")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	killed := 0
	deadline := time.Now().Add(2 * time.Minute)
	for killed == 0 && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the backup ended (%v) before restic could be killed; stdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		// restic is writing: it holds a lock and has written a pack.
		if hasFiles(filepath.Join(repoDir, "locks")) && hasFiles(filepath.Join(repoDir, "data")) {
			if pid := childNamed(cmd.Process.Pid, comm(b.restic)); pid != 0 {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = pid
			}
		}
	}
	if killed == 0 {
		cmd.Process.Kill()
		<-done
		t.Fatal("restic never started writing the repository")
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("ruche did not end after its restic was killed")
	}
	if code := cmd.ProcessState.ExitCode(); code != cli.ExitFailed || !strings.Contains(stdout.String(), "local: FAILED") {
		t.Fatalf("after kill -9 of restic: exit %d, want 1 and the target failed\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !hasFiles(filepath.Join(repoDir, "locks")) {
		t.Fatal("the killed restic left no lock: the test proves nothing")
	}

	// check needs an exclusive lock: the stale one is removed (restic
	// unlock), then the repository is found clean.
	repo := b.repo(t, "var/backups/ruche/restic")
	sum, err := repo.Check(context.Background(), "")
	if err != nil || sum == nil || sum.NumErrors != 0 {
		t.Fatalf("restic check after kill -9: %+v, %v", sum, err)
	}
	if hasFiles(filepath.Join(repoDir, "locks")) {
		t.Error("the stale lock is still there after check")
	}

	code, out, errOut := b.backup(t, "now")
	if code != 0 || !strings.Contains(out, "local: backed up") {
		t.Fatalf("backup now after kill -9: exit %d\n%s\n%s", code, out, errOut)
	}
	snaps, err := repo.Snapshots(context.Background(), backup.SnapshotFilter{})
	if err != nil || len(snaps) != 1 {
		t.Fatalf("got %d snapshots, %v; want the one of the second run", len(snaps), err)
	}
	if _, err := repo.Check(context.Background(), "100%"); err != nil {
		t.Errorf("restic check --read-data after the second backup: %v", err)
	}
}

func TestBackupSFTPTarget(t *testing.T) {
	sshd := backuptest.StartSSHD(t)
	repoDir := t.TempDir()
	target := func(hostKey string) string {
		return fmt.Sprintf(`    - {name: nas, repository: "sftp://root@127.0.0.1:%d/%s", key_secret: nas-key, host_key: %q}`, sshd.Port, repoDir, hostKey)
	}
	b := newBackupBox(t, target(sshd.HostKey), 0, map[string]string{"nas-key": string(sshd.ClientKey)})

	code, out, errOut := b.backup(t, "now")
	if code != 0 || !strings.Contains(out, "nas: backed up") || !strings.Contains(out, "(repository created)") {
		t.Fatalf("backup now over sftp: exit %d\n%s\n%s\nsshd:\n%s", code, out, errOut, sshd.Log())
	}
	code, out, errOut = b.backup(t, "snapshots")
	if code != 0 || strings.Count(out, "\nnas ") != 1 {
		t.Errorf("snapshots over sftp: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(repoDir, "config")); err != nil {
		t.Errorf("no repository in the server's folder: %v", err)
	}

	// The server's key is no longer the pinned one: nothing is sent.
	_, otherKey := backuptest.NewKey(t)
	b.apply(t, target(otherKey))
	code, out, errOut = b.backup(t, "now")
	t.Logf("host key mismatch:\n%s%s", out, errOut)
	if code != cli.ExitFailed || !strings.Contains(out, "nas: FAILED — the server of sftp://root@127.0.0.1:") || !strings.Contains(out, "does not show the host key pinned in the pack") {
		t.Errorf("host key mismatch: exit %d\n%s\n%s", code, out, errOut)
	}
	if snaps, _ := os.ReadDir(filepath.Join(repoDir, "snapshots")); len(snaps) != 1 {
		t.Errorf("the repository holds %d snapshots, want 1", len(snaps))
	}
}

func TestBackupRESTTarget(t *testing.T) {
	url := backuptest.StartRESTServer(t)
	b := newBackupBox(t, fmt.Sprintf(`    - {name: support, repository: "rest:%scafe-test"}`, url), 0, nil)
	code, out, errOut := b.backup(t, "now")
	if code != 0 || !strings.Contains(out, "support: backed up") || !strings.Contains(out, "(repository created)") {
		t.Fatalf("backup now to rest-server: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut = b.backup(t, "now"); code != 0 {
		t.Fatalf("second backup to rest-server: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = b.backup(t, "snapshots", "--json")
	var listed []struct {
		Target     string            `json:"target"`
		Repository string            `json:"repository"`
		Snapshots  []backup.Snapshot `json:"snapshots"`
	}
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed) != 1 || len(listed[0].Snapshots) != 2 || listed[0].Snapshots[1].Hostname != "cafe-test" {
		t.Errorf("snapshots --json: exit %d, %v:\n%s", code, err, out)
	}
}
