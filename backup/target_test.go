package backup

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

func TestTargetLocationAndDisplay(t *testing.T) {
	cases := []struct{ repo, location, display string }{
		{"/media/usb/restic", "/r/media/usb/restic", "/r/media/usb/restic"},
		{"local:/srv/restic", "/r/srv/restic", "/r/srv/restic"},
		{"sftp:ruche@nas:/srv/restic", "sftp:ruche@nas:/srv/restic", "sftp:ruche@nas:/srv/restic"},
		{"rest:https://box:s3cret@backup.example.org/cafe", "rest:https://box:s3cret@backup.example.org/cafe", "rest:https://box:xxxxx@backup.example.org/cafe"},
		{"rest:http://127.0.0.1:8000/", "rest:http://127.0.0.1:8000/", "rest:http://127.0.0.1:8000/"},
	}
	for _, c := range cases {
		if got := TargetLocation("/r", c.repo); got != c.location {
			t.Errorf("TargetLocation(%q) = %q, want %q", c.repo, got, c.location)
		}
		if got := DisplayLocation(c.location); got != c.display {
			t.Errorf("DisplayLocation(%q) = %q, want %q", c.location, got, c.display)
		}
	}
}

func TestParseSFTP(t *testing.T) {
	cases := []struct {
		repo string
		want sftpAddr
	}{
		{"sftp:ruche@backup.example.org:/srv/restic", sftpAddr{"ruche", "backup.example.org", "22"}},
		{"sftp:nas:restic", sftpAddr{"", "nas", "22"}},
		{"sftp://root@127.0.0.1:2222//tmp/repo", sftpAddr{"root", "127.0.0.1", "2222"}},
		{"sftp://[::1]:2222//tmp/repo", sftpAddr{"", "::1", "2222"}},
	}
	for _, c := range cases {
		got, err := parseSFTP(c.repo)
		if err != nil || got != c.want {
			t.Errorf("parseSFTP(%q) = %+v, %v; want %+v", c.repo, got, err, c.want)
		}
	}
}

// testPack is a pack with one target, its secrets written under root.
func testPack(t *testing.T, root string, target provision.BackupTarget) *provision.Pack {
	t.Helper()
	p := &provision.Pack{Box: provision.Box{Hostname: "cafe"}}
	p.Backup.PasswordSecret = "restic"
	p.Backup.Targets = []provision.BackupTarget{target}
	secrets := filepath.Join(root, provision.SecretsDir)
	os.MkdirAll(secrets, 0o700)
	for _, name := range []string{"restic", "nas-key"} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestSFTPCommand(t *testing.T) {
	root := t.TempDir()
	// A listener stands in for the server: OpenTarget only probes it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	hostKey := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIk4mDbpM2oSB5rn2GfU1Qme08mXnQ0BpT5yBIIxHM1D nas"
	target := provision.BackupTarget{Name: "nas", Repository: "sftp://ruche@127.0.0.1:" + strconv.Itoa(port) + "//srv/restic", KeySecret: "nas-key", HostKey: hostKey}
	p := testPack(t, root, target)
	o := Options{Root: root, SSH: "/usr/bin/ssh"}
	repo, err := o.OpenTarget(context.Background(), p, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Options) != 1 || !strings.HasPrefix(repo.Options[0], "sftp.command=") {
		t.Fatalf("options %q", repo.Options)
	}
	cmd := strings.TrimPrefix(repo.Options[0], "sftp.command=")
	known := filepath.Join(root, KnownHostsDir, "nas.known_hosts")
	for _, want := range []string{
		"/usr/bin/ssh -F /dev/null", "-o BatchMode=yes", "-o StrictHostKeyChecking=yes",
		"-o UserKnownHostsFile=" + known, "-i " + filepath.Join(root, provision.SecretsDir, "nas-key"),
		"-p " + strconv.Itoa(port), "-l ruche 127.0.0.1 -s sftp",
	} {
		if !strings.Contains(cmd, want) {
			t.Errorf("ssh command %q lacks %q", cmd, want)
		}
	}
	data, err := os.ReadFile(known)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[127.0.0.1]:" + strconv.Itoa(port) + " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIk4mDbpM2oSB5rn2GfU1Qme08mXnQ0BpT5yBIIxHM1D\n"; string(data) != want {
		t.Errorf("known_hosts %q, want %q", data, want)
	}

	// Without a pinned host key, or with its key secret missing, the
	// target is refused before ssh runs.
	noPin := target
	noPin.HostKey = ""
	_, err = o.OpenTarget(context.Background(), p, noPin)
	if !errors.Is(err, ErrConfig) || !strings.Contains(i18n.Localize(err, i18n.EN), "host_key") {
		t.Errorf("no host key: got %v", err)
	}
	noKey := target
	noKey.KeySecret = "absent"
	_, err = o.OpenTarget(context.Background(), p, noKey)
	if !errors.Is(err, ErrConfig) || !strings.Contains(i18n.Localize(err, i18n.FR), `le secret "absent" est introuvable`) {
		t.Errorf("no key: got %v", err)
	}
}

func TestUnreachableIsReportedQuickly(t *testing.T) {
	root := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	target := provision.BackupTarget{Name: "support", Repository: "rest:http://" + addr + "/cafe"}
	p := testPack(t, root, target)
	o := Options{Root: root, DialTimeout: 2 * time.Second}
	start := time.Now()
	_, err = o.OpenTarget(context.Background(), p, target)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("got %v, want ErrUnreachable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if msg := i18n.Localize(err, i18n.FR); !strings.Contains(msg, "injoignable") || !strings.Contains(msg, addr) {
		t.Errorf("message %q", msg)
	}
}

func TestPasswordSecretMissing(t *testing.T) {
	root := t.TempDir()
	target := provision.BackupTarget{Name: "local", Repository: "/var/backups/restic"}
	p := testPack(t, root, target)
	p.Backup.PasswordSecret = "other"
	_, err := (&Options{Root: root}).OpenTarget(context.Background(), p, target)
	if !errors.Is(err, ErrConfig) || !strings.Contains(i18n.Localize(err, i18n.EN), `secret "other" is missing`) {
		t.Errorf("got %v", err)
	}
}

// mountInfo writes a mount table for the tests.
func mountInfo(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDiskPresent(t *testing.T) {
	mi := mountInfo(t,
		`22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw`,
		`30 22 0:25 / /run rw,nosuid shared:5 - tmpfs tmpfs rw`,
		`40 22 8:17 / /media/ruche-backup rw,relatime shared:9 - ext4 /dev/sdb1 rw`,
		`41 22 8:33 / /media/clé\040usb rw,relatime - vfat /dev/sdc1 rw`,
		`42 22 8:2 / /srv rw,relatime - ext4 /dev/sda2 rw`,
	)
	cases := []struct {
		root, repo string
		present    bool
	}{
		{"/", "/media/ruche-backup/restic", true},
		{"/", "/media/ruche-backup", true},
		{"/", "/media/clé usb/restic", true},
		{"/", "/media/other/restic", false}, // an empty mount point on the system's disk
		{"/", "/run/media/usb/restic", false},
		{"/srv/box", "/srv/box/media/usb/restic", false}, // under a root, on the root's disk
		{"/srv/box", "/media/ruche-backup/restic", true},
	}
	for _, c := range cases {
		err := diskPresent(mi, c.root, c.repo)
		if (err == nil) != c.present {
			t.Errorf("root %s, repository %s: got %v, want present=%v", c.root, c.repo, err, c.present)
		}
	}
}

func TestRemovableNotMountedUnderRoot(t *testing.T) {
	root := t.TempDir()
	target := provision.BackupTarget{Name: "usb", Repository: "/media/usb/restic", Removable: true}
	p := testPack(t, root, target)
	os.MkdirAll(filepath.Join(root, "media/usb"), 0o755)
	_, err := (&Options{Root: root}).OpenTarget(context.Background(), p, target)
	if !errors.Is(err, ErrDiskMissing) {
		t.Fatalf("got %v, want ErrDiskMissing", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "media/usb")); len(entries) != 0 {
		t.Errorf("something was written on the missing disk: %v", entries)
	}
}

func TestContents(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a[1]")
	for _, d := range []string{"etc/ruche/secrets", "var/lib/ruche/wiki/pages"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	p := testPack(t, root, provision.BackupTarget{Name: "local", Repository: "/var/lib/ruche/restic"})
	if _, err := ContentsOf(root, p); err == nil {
		t.Fatal("contents of a box with no live pack")
	}
	os.WriteFile(filepath.Join(root, provision.PackPath), []byte("x"), 0o644)
	c, err := ContentsOf(root, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"etc/ruche/pack.yaml", "etc/ruche/secrets", "var/lib/ruche"}; !slices.Equal(c.Paths, want) || c.Dir != root {
		t.Errorf("paths %q in %s, want %q", c.Paths, c.Dir, want)
	}
	esc := strings.ReplaceAll(strings.ReplaceAll(root, "[", `\[`), "]", `\]`)
	for _, want := range []string{
		esc + "/var/lib/ruche/ruche.db", esc + "/var/lib/ruche/ruche.db-wal", esc + "/var/lib/ruche/backup/state.json",
		esc + "/var/lib/ruche/backup/.*", esc + "/var/lib/ruche/wiki/cache", esc + "/etc/ruche/secrets/restic",
		esc + "/var/lib/ruche/restic", // the local repository inside the box's data
	} {
		if !slices.Contains(c.Excludes, want) {
			t.Errorf("excludes lack %q: %q", want, c.Excludes)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	root := t.TempDir()
	s, err := ReadState(root)
	if err != nil || len(s.Targets) != 0 {
		t.Fatalf("empty state: %+v, %v", s, err)
	}
	now := time.Date(2026, 6, 21, 2, 30, 0, 0, time.UTC)
	s.record(TargetResult{Target: "usb", Status: StatusOK, Start: now, Duration: 3 * time.Second, Snapshot: "abc",
		Summary: &Summary{DataAdded: 100, DataAddedPacked: 40, FilesNew: 2}}, now.Add(3*time.Second))
	s.record(TargetResult{Target: "nas", Status: StatusFailed, Start: now, Err: &Error{Kind: ErrUnreachable, Repository: "sftp:nas:/r"}}, now)
	if err := s.write(root); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(root)
	if err != nil {
		t.Fatal(err)
	}
	usb, nas := got.Targets["usb"], got.Targets["nas"]
	if !usb.LastSuccess.Equal(now.Add(3*time.Second)) || usb.LastBytesAdded != 100 || usb.LastBytesStored != 40 || usb.LastSnapshot != "abc" || usb.LastError != nil {
		t.Errorf("usb %+v", usb)
	}
	if !nas.LastSuccess.IsZero() || nas.LastStatus != StatusFailed || !strings.Contains(nas.LastError["fr"], "injoignable") || !strings.Contains(nas.LastError["en"], "cannot be reached") {
		t.Errorf("nas %+v", nas)
	}
	entries, _ := os.ReadDir(filepath.Join(root, provision.BackupDir))
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the state: %v", entries)
	}
	if info, _ := os.Stat(filepath.Join(root, StateFile)); info.Mode().Perm() != 0o600 {
		t.Errorf("state mode %v", info.Mode())
	}
}
