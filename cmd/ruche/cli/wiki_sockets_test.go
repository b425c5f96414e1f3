package cli_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ruche-box/ruche/cmd/ruche/cli"
	"github.com/ruche-box/ruche/provision"
)

// wikiPack is a small pack with the wiki on, no secret, no TLS.
const wikiPack = `apiVersion: ruche/v1
kind: Pack
association: {name: "Les Amis", slug: amis, locale: fr, contact: bureau@amis.example}
box: {hostname: amis, tls: "off"}
wiki: {enabled: %s, title: "Wiki des Amis", public_read: true, editors: [admin, member]}
panel:
  users:
    - {login: alice, name: Alice, role: admin, email: alice@example.org}
`

// TestLongRoot: under a root so long that the box's Unix sockets (the
// control socket, php-fpm's) cannot be bound, plan, apply and up refuse at
// once, in French unless told otherwise, naming the socket and the limit,
// and write nothing.
func TestLongRoot(t *testing.T) {
	base := t.TempDir()
	pack := writePack(t, t.TempDir(), "pack.yaml", strings.Replace(wikiPack, "%s", "true", 1))
	// One byte too many: <root>/run/ruche/control.sock is 108 bytes.
	root := filepath.Join(base, strings.Repeat("r", provision.MaxSocketPath-len(base)-len("/run/ruche/control.sock")))
	sock := filepath.Join(root, provision.ControlSocket)
	if len(sock) != provision.MaxSocketPath+1 {
		t.Fatalf("test setup: socket path of %d bytes", len(sock))
	}
	fr := "le chemin de socket " + sock + " fait 108 octets ; Linux n'en accepte que 107 au plus"
	en := "the socket path " + sock + " is 108 bytes long; Linux accepts at most 107"

	for _, args := range [][]string{
		{"plan", "--root", root, pack},
		{"apply", "--root", root, pack},
		{"plan", "--lang", "en", "--root", root, pack},
		{"apply", "--lang", "en", "--root", root, pack},
	} {
		code, stdout, stderr := run(t, "", args...)
		want := fr
		if args[1] == "--lang" {
			want = en
		}
		if code != cli.ExitFailed || !strings.Contains(stderr, want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", args, code, stdout, stderr, want)
		}
	}
	// up, as the real binary (bounded: it must refuse, not serve).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	up := exec.CommandContext(ctx, rucheBin, "up", "--root", root, "--http", freePort(t), "--smtp", freePort(t), pack)
	out, err := up.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != cli.ExitFailed || !strings.Contains(string(out), fr) {
		t.Errorf("up: %v, output %q; want exit 1 and %q", err, out, fr)
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		var files []string
		filepath.WalkDir(root, func(p string, _ fs.DirEntry, _ error) error {
			files = append(files, strings.TrimPrefix(p, root))
			return nil
		})
		t.Errorf("the long root was written: %v", files)
	}

	// One byte shorter, both sockets fit (they are as long as each other;
	// provision's TestCheckSockets checks which ones a pack binds).
	short := root[:len(root)-1]
	code, stdout, stderr := run(t, "", "plan", "--lang", "en", "--root", short, pack)
	if code != cli.ExitOK || changes(t, stdout) == 0 {
		t.Errorf("plan under a root of the longest length: exit %d, stderr %q", code, stderr)
	}
}
