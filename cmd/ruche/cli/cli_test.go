package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/ruche-box/ruche/cmd/ruche/cli"
	"github.com/ruche-box/ruche/provision"
)

// rucheBin is the ruche binary built for the tests that need a real process
// (kill -9, ruche up).
var rucheBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ruche-bin-")
	if err != nil {
		panic(err)
	}
	rucheBin = filepath.Join(dir, "ruche")
	build := exec.Command("go", "build", "-o", rucheBin, "github.com/ruche-box/ruche/cmd/ruche")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ruche:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const examples = "../../../docs/examples"

// run runs ruche in-process with args and stdin, and returns its outputs.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Main(args, cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

// writePack writes a pack into dir and returns its path.
func writePack(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// withSecrets creates the secret files the demo pack names.
func withSecrets(t *testing.T, root string) {
	t.Helper()
	dir := filepath.Join(root, provision.SecretsDir)
	os.MkdirAll(dir, 0o700)
	for _, s := range []string{"restic", "smtp-relay"} {
		if err := os.WriteFile(filepath.Join(dir, s), []byte("s3cret-"+s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

var changesLine = regexp.MustCompile(`(?m)^(\d+) changes$`)

func changes(t *testing.T, stdout string) int {
	t.Helper()
	m := changesLine.FindAllStringSubmatch(stdout, -1)
	if len(m) == 0 {
		t.Fatalf("no 'N changes' line in:\n%s", stdout)
	}
	var n int
	fmt.Sscan(m[len(m)-1][1], &n)
	return n
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := run(t, "", "validate", "--lang", "en", filepath.Join(examples, "demo.yaml")); code != 0 {
		t.Fatalf("demo pack: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	bad := writePack(t, dir, "bad.yaml", `apiVersion: ruche/v1
kind: Pack
association:
  name: Test
  slug: Bad_Slug
box:
  hostname: box
sites:
  - name: a
    domains: [fete..org]
    template: showcase
    title: A
`)
	code, out, errOut := run(t, "", "validate", "--lang", "en", bad)
	if code != cli.ExitFailed {
		t.Fatalf("bad pack: exit %d, want 1", code)
	}
	if out != "" {
		t.Errorf("bad pack: stdout %q, want nothing (errors go to stderr)", out)
	}
	for _, want := range []string{bad + ":5:9: association.slug:", bad + ":10:15: sites[0].domains[0]:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code, _, _ := run(t, "", "validate"); code != cli.ExitUsage {
		t.Errorf("validate without a pack: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "", "nosuchcommand"); code != cli.ExitUsage {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "", "validate", "--nosuchflag", bad); code != cli.ExitUsage {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

func TestInvalidPackTouchesNothing(t *testing.T) {
	root := t.TempDir()
	bad := writePack(t, t.TempDir(), "bad.yaml", "apiVersion: ruche/v2\nkind: Pack\n")
	for _, cmd := range []string{"plan", "apply"} {
		if code, _, _ := run(t, "", cmd, "--root", root, bad); code != cli.ExitFailed {
			t.Errorf("%s of an invalid pack: exit %d, want 1", cmd, code)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("an invalid pack wrote into the root: %v", entries)
	}
}

func TestMissingSecretIsReportedAtItsLine(t *testing.T) {
	root := t.TempDir()
	demo := filepath.Join(examples, "demo.yaml")
	code, _, errOut := run(t, "", "apply", "--lang", "en", "--root", root, demo)
	if code != cli.ExitFailed {
		t.Fatalf("apply without secrets: exit %d, want 1", code)
	}
	if !regexp.MustCompile(`demo.yaml:\d+:\d+: backup.password_secret: secret "restic" is missing`).MatchString(errOut) {
		t.Errorf("stderr does not name the restic secret at its line:\n%s", errOut)
	}
	if _, err := os.Stat(filepath.Join(root, provision.PackPath)); err == nil {
		t.Error("apply with a missing secret wrote the live pack")
	}
}

func TestPlanApplyRevisionsRollback(t *testing.T) {
	root := t.TempDir()
	withSecrets(t, root)
	demo := filepath.Join(examples, "demo.yaml")

	code, out, errOut := run(t, "", "plan", "--lang", "en", "--root", root, demo)
	if code != 0 || changes(t, out) == 0 {
		t.Fatalf("plan: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(root, provision.PackPath)); err == nil {
		t.Fatal("plan wrote the live pack")
	}
	code, out, errOut = run(t, "", "apply", "--lang", "en", "--root", root, demo)
	if code != 0 || changes(t, out) == 0 {
		t.Fatalf("apply: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = run(t, "", "apply", "--lang", "en", "--root", root, demo)
	if code != 0 || changes(t, out) != 0 {
		t.Fatalf("second apply: exit %d, want 0 changes:\n%s", code, out)
	}
	code, out, _ = run(t, "", "plan", "--lang", "en", "--root", root, demo)
	if code != 0 || changes(t, out) != 0 {
		t.Fatalf("plan after apply: exit %d, want 0 changes:\n%s", code, out)
	}

	// Remove the event site: a new revision, its files gone.
	raw, _ := os.ReadFile(demo)
	text := string(raw)
	start := strings.Index(text, "  - name: fete-2026")
	end := strings.Index(text, "mail:")
	smaller := writePack(t, t.TempDir(), "smaller.yaml", text[:start]+text[end:])
	code, out, _ = run(t, "", "plan", "--lang", "en", "--root", root, smaller)
	if code != 0 || !strings.Contains(out, "- var/lib/ruche/sites/fete-2026/") || !strings.Contains(out, "@@") {
		t.Fatalf("plan of a removed site: exit %d, want removals and a diff:\n%s", code, out)
	}
	if code, out, _ = run(t, "", "apply", "--root", root, "--author", "alice", smaller); code != 0 {
		t.Fatalf("apply smaller: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/ruche/sites/fete-2026/public/index.html")); err == nil {
		t.Error("the removed site's page is still there")
	}
	code, out, _ = run(t, "", "revisions", "--lang", "en", "--root", root)
	if code != 0 || !strings.Contains(out, "alice") || strings.Count(out, "\n") != 3 {
		t.Fatalf("revisions: exit %d, want a header and 2 revisions, the second by alice:\n%s", code, out)
	}
	if code, out, _ = run(t, "", "rollback", "--root", root, "1"); code != 0 {
		t.Fatalf("rollback 1: exit %d\n%s", code, out)
	}
	live, _ := os.ReadFile(filepath.Join(root, provision.PackPath))
	if !bytes.Equal(live, raw) {
		t.Error("after rollback 1 the live pack is not revision 1's")
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/ruche/sites/fete-2026/public/index.html")); err != nil {
		t.Error("rollback did not bring the site back")
	}
	revs, _ := provision.ListRevisions(root)
	if len(revs) != 3 || revs[2].Note != "rollback 1" {
		t.Errorf("got revisions %+v, want 3, the last a rollback", revs)
	}
	if code, _, _ := run(t, "", "rollback", "--root", root, "99"); code != cli.ExitFailed {
		t.Errorf("rollback to a missing revision: exit %d, want 1", code)
	}

	// Another apply holds the lock: exit 3.
	l, err := provision.TryLock(root)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, "", "apply", "--lang", "en", "--root", root, smaller)
	l.Unlock()
	if code != cli.ExitLocked || !strings.Contains(errOut, "another apply") {
		t.Errorf("apply while locked: exit %d (%q), want 3", code, errOut)
	}
}

func TestUserPasswd(t *testing.T) {
	root := t.TempDir()
	withSecrets(t, root)
	demo := filepath.Join(examples, "demo.yaml")
	if code, out, errOut := run(t, "", "apply", "--root", root, demo); code != 0 {
		t.Fatalf("apply: %d %s %s", code, out, errOut)
	}
	code, out, errOut := run(t, "correct horse battery\n", "user", "passwd", "--lang", "en", "--root", root, "alice")
	if code != 0 || !strings.Contains(out, "password of alice saved") {
		t.Fatalf("passwd: exit %d, %q %q", code, out, errOut)
	}
	db, err := sql.Open("sqlite", filepath.Join(root, provision.DBPath))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hash string
	if err := db.QueryRowContext(context.Background(), "SELECT password_hash FROM users WHERE login = 'alice'").Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2") {
		t.Errorf("alice's hash %q is not bcrypt", hash)
	}
	if strings.Contains(out+errOut, "correct horse") {
		t.Error("the password was printed")
	}
	if code, _, _ := run(t, "whatever123\n", "user", "passwd", "--root", root, "nobody"); code != cli.ExitFailed {
		t.Errorf("passwd of an unknown login: exit %d, want 1", code)
	}
	if code, _, _ := run(t, "", "user", "passwd", "--root", root, "alice"); code != cli.ExitFailed {
		t.Errorf("passwd with nothing on stdin: exit %d, want 1", code)
	}
	// The database is untouched by a no-op apply.
	info, _ := os.Stat(filepath.Join(root, provision.DBPath))
	if code, out, _ := run(t, "", "apply", "--lang", "en", "--root", root, demo); code != 0 || changes(t, out) != 0 {
		t.Fatalf("apply after passwd: exit %d\n%s", code, out)
	}
	after, _ := os.Stat(filepath.Join(root, provision.DBPath))
	if !after.ModTime().Equal(info.ModTime()) || after.Size() != info.Size() {
		t.Error("a no-op apply wrote to the database")
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "ruche ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}
