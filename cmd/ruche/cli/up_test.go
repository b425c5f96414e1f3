package cli_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ruche-box/ruche/provision"
)

// freePort returns a loopback address nobody listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// get fetches path on addr with the Host header host.
func get(addr, host, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// eventually polls check until it is true or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// boxRoot is a temporary root whose folders the services' own users
// (postfix, www-data) can traverse, as on a box: t.TempDir's are 0700.
func boxRoot(t *testing.T) string {
	root := t.TempDir()
	traversable(root)
	return root
}

// traversable opens root and the test's temporary folders above it to
// traversal (0755), as a box's folders are.
func traversable(root string) {
	for d := root; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
}

func TestUp(t *testing.T) {
	root := boxRoot(t)
	withSecrets(t, root)
	raw, err := os.ReadFile(filepath.Join(examples, "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pack := writePack(t, t.TempDir(), "pack.yaml", string(raw))
	addr := freePort(t)
	cmd := exec.Command(rucheBin, "up", "--lang", "en", "--root", root, "--http", addr, "--https", freePort(t), "--smtp", freePort(t), pack)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("ruche up stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	}()

	eventually(t, 60*time.Second, "/healthz never answered 200", func() bool {
		code, _, err := get(addr, "panel.localhost", "/healthz")
		return err == nil && code == http.StatusOK
	})
	// The URLs are printed once everything listens, a moment after
	// /healthz first answers.
	eventually(t, 10*time.Second, "ruche up did not print the URLs", func() bool {
		return strings.Contains(stdout.String(), "Ctrl+C")
	})
	if !strings.Contains(stdout.String(), "http://panel.localhost:") || !strings.Contains(stdout.String(), "http://vitrine.localhost:") {
		t.Errorf("ruche up did not print the URLs:\n%s", stdout.String())
	}
	code, body, _ := get(addr, "panel.localhost", "/metrics")
	if code != 200 || !strings.Contains(body, "ruche_apply_last_success_timestamp_seconds") || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "ruche_process_resident_memory_bytes") {
		t.Errorf("/metrics: %d, lacks the apply timestamp or the Go/process collectors", code)
	}
	if code, body, _ := get(addr, "panel.localhost", "/"); code != 200 || !strings.Contains(body, "Café d&#39;ANAIS") && !strings.Contains(body, "Café d'ANAIS") {
		t.Errorf("panel page: %d %q", code, body)
	}
	if code, body, _ := get(addr, "vitrine.localhost", "/"); code != 200 || !strings.Contains(body, "Accueil") {
		t.Errorf("site vitrine: %d", code)
	}
	if code, _, _ := get(addr, "cafe-anais.org", "/contact/"); code != 200 {
		t.Errorf("site vitrine by its domain: %d", code)
	}
	if code, _, _ := get(addr, "nobody.example", "/"); code != 404 {
		t.Errorf("unknown host: %d, want 404", code)
	}

	// `ruche apply` goes through the daemon while it runs.
	out, err := exec.Command(rucheBin, "apply", "--lang", "en", "--root", root, pack).CombinedOutput()
	if err != nil || !strings.HasSuffix(string(out), "0 changes\n") {
		t.Fatalf("apply while up: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, provision.ControlSocket)); err != nil {
		t.Fatalf("no control socket: %v", err)
	}

	// Editing the live pack re-applies it: a new site appears.
	live := filepath.Join(root, provision.PackPath)
	edited := strings.Replace(string(raw), "mail:", `  - name: atelier
    domains: [atelier.cafe-anais.org]
    template: news
    title: "Atelier vélo"
    pages:
      - {path: /, title: "L'atelier", body: "Réparations le samedi."}
mail:`, 1)
	if err := os.WriteFile(live, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the site added to the live pack never answered", func() bool {
		code, body, err := get(addr, "atelier.localhost", "/")
		return err == nil && code == 200 && strings.Contains(body, "samedi")
	})
	revs, _ := provision.ListRevisions(root)
	if len(revs) != 2 {
		t.Errorf("after editing the live pack: %d revisions, want 2", len(revs))
	}

	// An invalid edit is refused; the box keeps serving.
	os.WriteFile(live, []byte(edited+"\nnonsense: [\n"), 0o640)
	time.Sleep(time.Second)
	if code, _, err := get(addr, "atelier.localhost", "/"); err != nil || code != 200 {
		t.Errorf("after an invalid edit the box stopped serving: %d %v", code, err)
	}
	os.WriteFile(live, []byte(edited), 0o640)

	// SIGHUP re-applies; the box keeps answering.
	cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "SIGHUP was not handled", func() bool {
		return strings.Contains(stderr.String(), "SIGHUP: done")
	})
	if code, _, err := get(addr, "panel.localhost", "/healthz"); err != nil || code != 200 {
		t.Errorf("after SIGHUP /healthz: %d %v", code, err)
	}

	// SIGTERM: a clean stop, exit 0.
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("ruche up after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ruche up did not stop within 30 s of SIGTERM")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the HTTP port still answers after shutdown")
	}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "level=ERROR") && !strings.Contains(sc.Text(), "invalid") {
			t.Errorf("error logged: %s", sc.Text())
		}
	}
}
