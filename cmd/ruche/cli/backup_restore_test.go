package cli_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/backup"
	"github.com/ruche-box/ruche/backup/backuptest"
	"github.com/ruche-box/ruche/cmd/ruche/cli"
	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/store"
)

const localTarget = `    - {name: local, repository: /var/backups/ruche/restic}`

// boxFiles describes every path under root that a snapshot holds: its
// type, mode and, for a file, the SHA-256 of its bytes (a link: its
// target). Left out, as backups leave them out: the live database, the
// backup password, the backups' records, what is aside, DokuWiki's
// caches.
func boxFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	skip := func(rel string) bool {
		for _, prefix := range []string{
			"var/lib/ruche/ruche.db", "var/lib/ruche/backup", "var/lib/ruche/removed",
			"var/lib/ruche/wiki/cache", "var/lib/ruche/wiki/locks", "var/lib/ruche/wiki/tmp",
			"etc/ruche/secrets/restic",
		} {
			if rel == prefix || strings.HasPrefix(rel, prefix+"/") || strings.HasPrefix(rel, prefix+"-") {
				return true
			}
		}
		return false
	}
	out := map[string]string{}
	for _, top := range []string{provision.PackPath, provision.SecretsDir, provision.StateDir} {
		filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			if skip(rel) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			info, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				out[rel] = "link " + target
			case info.IsDir():
				out[rel] = fmt.Sprintf("dir %04o", info.Mode().Perm())
			default:
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(data)
				out[rel] = fmt.Sprintf("file %04o %s", info.Mode().Perm(), hex.EncodeToString(sum[:]))
			}
			return nil
		})
	}
	return out
}

// sameFiles reports every difference between two boxFiles.
func sameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			diffs = append(diffs, "missing "+p)
		} else if a != b {
			diffs = append(diffs, fmt.Sprintf("%s: %s, was %s", p, a, b))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "extra "+p)
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
}

// aliceHash reads alice's password hash from the box's database.
func aliceHash(t *testing.T, root string) string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(root, provision.DBPath))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hash string
	if err := db.QueryRow("SELECT password_hash FROM users WHERE login = 'alice'").Scan(&hash); err != nil {
		t.Fatalf("alice's password hash: %v", err)
	}
	return hash
}

// Ticket the tests open before a backup, through the store (the box is
// not running), with one comment.
const (
	ticketTitle   = "L'imprimante ne répond plus"
	ticketComment = "Le câble était débranché ; rebranché."
)

// addTicket opens a ticket by alice in root's database, with a comment,
// and returns its ID.
func addTicket(t *testing.T, root string) int64 {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(root, provision.DBPath))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tk, err := db.CreateTicket(ctx, store.NewTicket{Title: ticketTitle, Body: "Depuis lundi.", Author: "alice"}, time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddComment(ctx, store.Comment{TicketID: tk.ID, Author: "alice", Body: ticketComment}, time.Now(), true); err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

func TestBackupRestoreInPlace(t *testing.T) {
	start := time.Now()
	b := newBackupBox(t, localTarget, 3<<20, nil)
	if code, out, errOut := b.backup(t, "now"); code != 0 {
		t.Fatalf("backup now: exit %d\n%s\n%s", code, out, errOut)
	}
	before := boxFiles(t, b.root)
	hash := aliceHash(t, b.root)

	// Damage: pages deleted, an upload corrupted, a secret gone, the
	// database overwritten, the live pack edited, a file added since.
	photo := filepath.Join(b.root, "var/lib/ruche/sites/vitrine/uploads/photo-00.jpg")
	data, _ := os.ReadFile(photo)
	for i := 1000; i < 2000; i++ {
		data[i] ^= 0xff
	}
	os.WriteFile(photo, data, 0o644)
	os.Remove(filepath.Join(b.root, "var/lib/ruche/wiki/pages/start.txt"))
	os.RemoveAll(filepath.Join(b.root, "var/lib/ruche/wiki/media"))
	os.Remove(filepath.Join(b.root, provision.SecretsDir, "spare-key"))
	os.WriteFile(filepath.Join(b.root, provision.DBPath), []byte("not a database\n"), 0o600)
	os.WriteFile(filepath.Join(b.root, "var/lib/ruche/sites/vitrine/uploads/new.txt"), []byte("added after the backup\n"), 0o644)
	live := filepath.Join(b.root, provision.PackPath)
	packBytes, _ := os.ReadFile(live)
	// The live pack broken by hand: the targets come from its newest
	// revision.
	os.WriteFile(live, append(packBytes, "nonsense: [\n"...), 0o640)

	code, out, errOut := b.backup(t, "restore", "latest")
	t.Logf("restore:\n%s%s", out, errOut)
	if code != 0 {
		t.Fatalf("restore latest: exit %d", code)
	}
	if !strings.Contains(errOut, "the live pack is not valid; the backup targets are taken from its newest revision") {
		t.Errorf("stderr does not say the targets came from the revision")
	}
	for _, want := range []string{"snapshot ", "verified: ", " identical to the snapshot, database: ok", "the replaced data is kept in " + filepath.Join(b.root, "var/lib/ruche/removed/restore-"), "applying the restored pack:", "box restored. Start it: ruche up --root " + b.root} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	// Byte for byte what was backed up, the database's content too.
	sameFiles(t, before, boxFiles(t, b.root))
	if got := aliceHash(t, b.root); got != hash {
		t.Errorf("alice's hash after restore %q, want %q", got, hash)
	}
	if got := backup.IntegrityCheck(context.Background(), filepath.Join(b.root, provision.DBPath)); got != "ok" {
		t.Errorf("integrity_check of the restored database: %s", got)
	}
	if _, err := os.Stat(filepath.Join(b.root, provision.SecretsDir, "restic")); err != nil {
		t.Errorf("the backup password is gone after restore: %v", err)
	}
	if _, err := os.Stat(filepath.Join(b.root, backup.RestoreStagingDir)); err == nil {
		t.Error("the restore's staging folder is left")
	}

	// What was replaced is aside, with a note.
	asides, _ := filepath.Glob(filepath.Join(b.root, provision.RemovedDir, backup.RestoreAsidePrefix+"*"))
	if len(asides) != 1 {
		t.Fatalf("aside folders %v, want one", asides)
	}
	aside := asides[0]
	for rel, want := range map[string]string{
		"var/lib/ruche/sites/vitrine/uploads/new.txt": "added after the backup\n",
		"var/lib/ruche/ruche.db":                      "not a database\n",
		"etc/ruche/pack.yaml":                         string(packBytes) + "nonsense: [\n",
	} {
		if got, err := os.ReadFile(filepath.Join(aside, rel)); err != nil || string(got) != want {
			t.Errorf("aside %s: %q, %v; want %q", rel, got, err, want)
		}
	}
	if note, err := os.ReadFile(filepath.Join(aside, "LISEZMOI-README.txt")); err != nil || !strings.Contains(string(note), "Ruche removes it once every backup target has a successful backup made after that") {
		t.Errorf("aside note: %v\n%s", err, note)
	}

	// The restored box is converged: a second apply changes nothing.
	if code, out, errOut := run(t, "", "apply", "--root", b.root, "--lang", "en", live); code != 0 || changes(t, out) != 0 {
		t.Errorf("apply after restore: exit %d, want 0 changes\n%s\n%s", code, out, errOut)
	}

	// Before a backup made after the restore, what was aside stays.
	raw, _ := os.ReadFile(live)
	p, err := provision.Load(live, raw)
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := backup.RemoveRestoreAside(b.root, p); err != nil || len(removed) != 0 {
		t.Errorf("before the next backup: removed %v, %v; want nothing", removed, err)
	}
	// The next successful backup holds what was aside: `ruche backup
	// now` removes it.
	if code, out, errOut := b.backup(t, "now"); code != 0 {
		t.Fatalf("backup after restore: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(aside); err == nil {
		t.Error("the aside folder is still there after the next successful backup")
	}
	t.Logf("in-place restore test: %v", time.Since(start).Round(time.Millisecond))
}

func TestBackupRestoreTo(t *testing.T) {
	b := newBackupBox(t, localTarget, 0, nil)
	if code, out, errOut := b.backup(t, "now"); code != 0 {
		t.Fatalf("backup now: exit %d\n%s\n%s", code, out, errOut)
	}
	before := boxFiles(t, b.root)
	dir := filepath.Join(t.TempDir(), "extract")
	code, out, errOut := b.backup(t, "restore", "latest", "--to", dir)
	if code != 0 || !strings.Contains(out, "extracted into "+dir) {
		t.Fatalf("restore --to: exit %d\n%s\n%s", code, out, errOut)
	}
	sameFiles(t, before, boxFiles(t, dir))
	if got := aliceHash(t, dir); got == "" {
		t.Error("the extract has no database where a box reads it")
	}
	sameFiles(t, before, boxFiles(t, b.root)) // the box untouched

	code, _, errOut = b.backup(t, "restore", "latest", "--to", dir)
	if code != cli.ExitFailed || !strings.Contains(errOut, "is not empty") {
		t.Errorf("restore --to a folder not empty: exit %d\n%s", code, errOut)
	}
	code, _, errOut = b.backup(t, "restore", "0123abcd", "--to", t.TempDir())
	if code != cli.ExitFailed || !strings.Contains(errOut, `has no snapshot "0123abcd"`) {
		t.Errorf("restore of an unknown snapshot: exit %d\n%s", code, errOut)
	}
}

// upBox runs `ruche up` on root's live pack until the test ends, and
// returns its HTTP address once /healthz answers.
func upBox(t *testing.T, root string) string {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(rucheBin, "up", "--lang", "en", "--root", root, "--http", addr, "--https", freePort(t), "--smtp", freePort(t), filepath.Join(root, provision.PackPath))
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("ruche up did not stop within 30 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("ruche up stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})
	eventually(t, 60*time.Second, "/healthz of the restored box never answered 200", func() bool {
		code, _, err := get(addr, "panel.localhost", "/healthz")
		return err == nil && code == http.StatusOK
	})
	return addr
}

func TestBackupBareMetalRestore(t *testing.T) {
	needWiki(t)
	start := time.Now()
	b := newBackupBox(t, localTarget, 1<<20, nil)
	ticketID := addTicket(t, b.root)
	if code, out, errOut := b.backup(t, "now"); code != 0 {
		t.Fatalf("backup now: exit %d\n%s\n%s", code, out, errOut)
	}
	repo := filepath.Join(b.root, "var/backups/ruche/restic")
	password := filepath.Join(b.root, provision.SecretsDir, "restic")

	// New hardware: an empty root, the repository and the password.
	root := boxRoot(t)
	code, _, errOut := run(t, "", "backup", "restore", "latest", "--root", root, "--restic", b.restic, "--lang", "en")
	if code != cli.ExitUsage || !strings.Contains(errOut, "no pack under "+root+": to restore a box on new hardware, give the repository and its password") {
		t.Errorf("bare metal without --repo: exit %d\n%s", code, errOut)
	}
	code, out, errOut := run(t, "", "backup", "restore", "latest", "--root", root, "--repo", repo, "--password-file", password, "--restic", b.restic, "--lang", "en")
	t.Logf("bare-metal restore:\n%s%s", out, errOut)
	if code != 0 || !strings.Contains(out, `the backup password is installed as secret "restic"`) {
		t.Fatalf("bare-metal restore: exit %d", code)
	}
	if entries, _ := filepath.Glob(filepath.Join(root, provision.RemovedDir, "restore-*")); len(entries) != 0 {
		t.Errorf("a restore onto an empty root put something aside: %v", entries)
	}
	// Files Ruche renders hold the root's path: the apply after the
	// restore rendered them for the new one.
	want, got := boxFiles(t, b.root), boxFiles(t, root)
	for _, rendered := range []string{"var/lib/ruche/caddy/caddy.json", "var/lib/ruche/manifest.json"} {
		delete(want, rendered)
		delete(got, rendered)
	}
	sameFiles(t, want, got)
	if info, err := os.Stat(filepath.Join(root, provision.SecretsDir)); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("secrets folder: %v, %v; want mode 0700", info.Mode(), err)
	}

	// ruche up on the new root serves the same wiki pages (to alice,
	// whose password came back with the database: the wiki is not public)
	// and sites, and the panel knows alice's password.
	addr := upBox(t, root)
	wc := wikiClient(t, addr)
	eventually(t, 30*time.Second, "the wiki never answered", func() bool {
		code, _ := wikiFetch(t, wc, http.MethodGet, "/doku.php", nil)
		return code == http.StatusOK
	})
	login(t, wc, "alice", "s3cret-alice")
	for id, file := range map[string]string{"start": "start.txt", "asso:bureau": "asso/bureau.txt"} {
		want, _ := os.ReadFile(filepath.Join(b.root, "var/lib/ruche/wiki/pages", file))
		code, body := wikiFetch(t, wc, http.MethodGet, "/doku.php?id="+id+"&do=export_raw", nil)
		if code != 200 || body != string(want) {
			t.Errorf("wiki page %s: %d %.200q; want %q", id, code, body, want)
		}
	}
	if code, body := wikiFetch(t, wc, http.MethodGet, "/start", nil); code != 200 || !strings.Contains(body, "Bienvenue au café.") {
		t.Errorf("the wiki's start page, rendered: %d", code)
	}
	site, _ := os.ReadFile(filepath.Join(b.root, "var/lib/ruche/sites/vitrine/public/index.html"))
	if code, body, _ := get(addr, "vitrine.localhost", "/"); code != 200 || body != string(site) {
		t.Errorf("site vitrine: %d, %d bytes; want the old box's %d bytes", code, len(body), len(site))
	}
	if code, body, _ := get(addr, "vitrine.localhost", "/uploads/programme.txt"); code != 200 || body != "Programme de la fête\n" {
		t.Errorf("site vitrine's upload: %d %q", code, body)
	}
	// The panel knows alice's password, and her ticket with its thread.
	_, port, _ := net.SplitHostPort(addr)
	panel := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/session", strings.NewReader(`{"login":"alice","password":"s3cret-alice"}`))
	req.Host = "panel.localhost:" + port
	req.Header.Set("Content-Type", "application/json")
	resp, err := panel.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("alice's login on the restored panel: %v %v", resp, err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ruche_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("no session cookie after alice's login: %v", resp.Header["Set-Cookie"])
	}
	req, _ = http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/api/tickets/%d", addr, ticketID), nil)
	req.Host = "panel.localhost:" + port
	req.AddCookie(cookie)
	var tk struct {
		Title    string `json:"title"`
		Comments []struct {
			Author string `json:"author"`
			Body   string `json:"body"`
		} `json:"comments"`
	}
	resp, err = panel.Do(req)
	if err != nil {
		t.Fatalf("GET /api/tickets/%d: %v", ticketID, err)
	}
	err = json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || tk.Title != ticketTitle || len(tk.Comments) != 1 || tk.Comments[0].Body != ticketComment || tk.Comments[0].Author != "alice" {
		t.Errorf("alice's ticket on the restored panel: %d %v %+v; want %q with the comment %q", resp.StatusCode, err, tk, ticketTitle, ticketComment)
	}
	t.Logf("bare-metal restore test: %v", time.Since(start).Round(time.Millisecond))
}

func TestBackupDrill(t *testing.T) {
	needWiki(t)
	start := time.Now()
	b := newBackupBox(t, localTarget, 2<<20, nil)
	// The restored box's php-fpm workers (www-data) traverse the folders
	// above its scratch root, as on a box.
	traversable(b.root)
	ticketID := addTicket(t, b.root)
	if code, out, errOut := b.backup(t, "now"); code != 0 {
		t.Fatalf("backup now: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := b.backup(t, "drill", "--ruche", rucheBin)
	t.Logf("drill:\n%s%s", out, errOut)
	if code != 0 {
		t.Fatalf("drill on a good repository: exit %d", code)
	}
	for _, want := range []string{
		"target       OK ", "restore      OK ", "files        OK ", "database     OK               integrity_check: ok",
		"start        OK ", `wiki         OK               page "asso:bureau": the text served is the snapshot's (31 bytes), read as alice, the same as on the live box`, "site:vitrine OK ",
		fmt.Sprintf(`tickets      OK               1 ticket(s); the newest, #%d %q (new, 1 comment(s)), is served by the panel as in the snapshot, read as alice`, ticketID, ticketTitle),
		"drill passed: snapshot ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("drill output lacks %q", want)
		}
	}
	st, err := backup.ReadDrillState(b.root)
	if err != nil || !st.LastOK || st.LastSuccess.IsZero() || st.Target != "local" {
		t.Fatalf("drill state %+v, %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(b.root, backup.DrillScratchDir)); err == nil {
		t.Error("the drill left its scratch folder")
	}
	success := st.LastSuccess

	// A pack file of the repository corrupted: the drill fails, says
	// why, and the last success stays the earlier one.
	corruptLargestPack(t, filepath.Join(b.root, "var/backups/ruche/restic"))
	code, out, errOut = b.backup(t, "drill", "--ruche", rucheBin)
	t.Logf("drill on a corrupted repository:\n%s%s", out, errOut)
	if code != cli.ExitFailed {
		t.Fatalf("drill on a corrupted repository: exit %d, want 1", code)
	}
	if !strings.Contains(out, "restore      FAILED") || !strings.Contains(errOut, "ruche: the restore drill failed: the repository "+filepath.Join(b.root, "var/backups/ruche/restic")+" is damaged") {
		t.Errorf("the failure is not said plainly")
	}
	if strings.Contains(out, "drill passed") {
		t.Error("a failed drill says it passed")
	}
	st, err = backup.ReadDrillState(b.root)
	if err != nil || st.LastOK || !st.LastSuccess.Equal(success) || st.Error["en"] == "" || st.Error["fr"] == "" {
		t.Errorf("drill state after a failure %+v, %v", st, err)
	}
	t.Logf("drill test: %v", time.Since(start).Round(time.Millisecond))
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

func TestBackupSheet(t *testing.T) {
	b := newBackupBox(t, `    - {name: usb, repository: /media/ruche-backup/restic, removable: true}
    - {name: support, repository: "rest:https://backup.example.org/cafe"}
    - {name: local, repository: /var/backups/ruche/restic}`, 0, nil)
	code, out, errOut := run(t, "", "backup", "sheet", "--root", b.root)
	if code != 0 {
		t.Fatalf("sheet: exit %d\n%s", code, errOut)
	}
	fr, en, ok := strings.Cut(out, "\f")
	if !ok {
		t.Fatalf("no page break between the languages:\n%s", out)
	}
	for _, want := range []string{
		"FICHE DE RÉCUPÉRATION — Café test",
		"CETTE FICHE CONTIENT LE MOT DE PASSE DES SAUVEGARDES.",
		"      correct horse battery staple\n",
		"  - usb: /media/ruche-backup/restic",
		"disque USB : le brancher et le monter sur /media/ruche-backup",
		"dossier sur le disque de la box : perdu avec elle",
		"ruche backup restore latest --repo '/media/ruche-backup/restic' --password-file /root/restic-password --host cafe-test",
		"ruche backup restore latest --repo 'rest:https://backup.example.org/cafe' --password-file /root/restic-password --host cafe-test",
		"ruche up /etc/ruche/pack.yaml",
	} {
		if !strings.Contains(fr, want) {
			t.Errorf("French page lacks %q", want)
		}
	}
	if strings.Contains(fr, "--repo '/var/backups/ruche/restic'") {
		t.Error("the sheet tells to restore from the box's own disk")
	}
	for _, want := range []string{"RECOVERY SHEET — Café test", "THIS SHEET HOLDS THE PASSWORD OF THE BACKUPS.", "      correct horse battery staple\n", "Restore on new hardware:"} {
		if !strings.Contains(en, want) {
			t.Errorf("English page lacks %q", want)
		}
	}
	code, out, _ = run(t, "", "backup", "sheet", "--root", b.root, "--lang", "en")
	if code != 0 || strings.Contains(out, "FICHE") || !strings.Contains(out, "RECOVERY SHEET") {
		t.Errorf("sheet --lang en: exit %d, want English only", code)
	}
	os.Remove(filepath.Join(b.root, provision.SecretsDir, "restic"))
	code, _, errOut = run(t, "", "backup", "sheet", "--root", b.root, "--lang", "en")
	if code != cli.ExitFailed || !strings.Contains(errOut, `the backups' secret "restic" cannot be read`) {
		t.Errorf("sheet without the password: exit %d\n%s", code, errOut)
	}
}

func TestBackupRestoreFromAnSFTPRepository(t *testing.T) {
	sshd := backuptest.StartSSHD(t)
	repoDir := t.TempDir()
	repo := fmt.Sprintf("sftp://root@127.0.0.1:%d/%s", sshd.Port, repoDir)
	b := newBackupBox(t, fmt.Sprintf(`    - {name: nas, repository: %q, key_secret: nas-key, host_key: %q}`, repo, sshd.HostKey), 0,
		map[string]string{"nas-key": string(sshd.ClientKey)})
	if code, out, errOut := b.backup(t, "now"); code != 0 {
		t.Fatalf("backup now over sftp: exit %d\n%s\n%s", code, out, errOut)
	}
	// On new hardware: the key and the password copied from the sheet,
	// the host key as the sheet shows it.
	keys := t.TempDir()
	key, password := filepath.Join(keys, "ruche-key"), filepath.Join(keys, "restic-password")
	os.WriteFile(key, sshd.ClientKey, 0o600)
	os.WriteFile(password, []byte("correct horse battery staple\n"), 0o600)
	root, dir := t.TempDir(), filepath.Join(t.TempDir(), "x")
	args := []string{"backup", "restore", "latest", "--root", root, "--restic", b.restic, "--lang", "en", "--to", dir,
		"--repo", repo, "--password-file", password}
	if code, _, errOut := run(t, "", args...); code != cli.ExitUsage || !strings.Contains(errOut, "needs --ssh-key") {
		t.Errorf("sftp --repo without keys: exit %d\n%s", code, errOut)
	}
	_, otherKey := backuptest.NewKey(t)
	code, out, errOut := run(t, "", append(args, "--ssh-key", key, "--host-key", otherKey)...)
	if code != cli.ExitFailed || !strings.Contains(errOut, "does not show the host key pinned") {
		t.Errorf("sftp --repo with the wrong host key: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = run(t, "", append(args, "--ssh-key", key, "--host-key", sshd.HostKey)...)
	if code != 0 {
		t.Fatalf("restore --to from sftp: exit %d\n%s\n%s\nsshd:\n%s", code, out, errOut, sshd.Log())
	}
	sameFiles(t, boxFiles(t, b.root), boxFiles(t, dir))
}

// A restore in place while ruche up runs: the daemon stops its services,
// the data comes back, and it starts again (same process, re-executed)
// from the restored pack.
func TestBackupRestoreWhileUp(t *testing.T) {
	needWiki(t)
	b := newBackupBox(t, localTarget, 0, nil)
	traversable(b.root)
	if code, out, errOut := b.backup(t, "now"); code != 0 {
		t.Fatalf("backup now: exit %d\n%s\n%s", code, out, errOut)
	}
	page := filepath.Join(b.root, "var/lib/ruche/wiki/pages/asso/bureau.txt")
	want, _ := os.ReadFile(page)

	addr := freePort(t)
	cmd := exec.Command(rucheBin, "up", "--lang", "en", "--root", b.root, "--http", addr, "--https", freePort(t), "--smtp", freePort(t), filepath.Join(b.root, provision.PackPath))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("ruche up:\n%s", out.String())
		}
	}()
	healthy := func() bool {
		code, _, err := get(addr, "panel.localhost", "/healthz")
		return err == nil && code == http.StatusOK
	}
	eventually(t, 60*time.Second, "ruche up never became healthy", healthy)

	// Damage under the running box.
	if err := os.WriteFile(page, []byte("abîmé\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errOut := b.backup(t, "restore", "latest")
	if code != 0 {
		t.Fatalf("restore while up: exit %d\n%s\n%s", code, stdout, errOut)
	}
	for _, w := range []string{"its services are stopped during the restore", "started again with the restored pack"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("restore's output lacks %q:\n%s", w, stdout)
		}
	}
	if got, _ := os.ReadFile(page); string(got) != string(want) {
		t.Errorf("wiki page after the restore: %q, want %q", got, want)
	}
	if cmd.ProcessState != nil {
		t.Fatal("ruche up exited instead of starting again")
	}
	eventually(t, 60*time.Second, "ruche up was not healthy again after the restore", healthy)
	if !strings.Contains(out.String(), "starting again") {
		t.Error("ruche up did not log its restart")
	}
}
