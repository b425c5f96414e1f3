// Package backuptest gives tests the real programs a backup talks to: the
// pinned restic and rest-server that `make bin/restic bin/rest-server`
// builds, a rest-server and an OpenSSH server (sftp) on loopback ports,
// each with its own keys in a temporary folder and stopped when the test
// ends.
//
// A program that is missing skips the test, except under CI=true, where it
// fails it: CI must run every backup test.
package backuptest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Environment variables that point at the binaries; without them, bin/ of
// the module root.
const (
	ResticEnv     = "RUCHE_RESTIC"
	RestServerEnv = "RUCHE_REST_SERVER"
	SSHD          = "/usr/sbin/sshd"
)

// missing skips, or fails under CI.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// ModuleRoot is the folder of the main module's go.mod, found from the
// test's working directory upwards.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/ruche-box/ruche\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("the module root (go.mod of github.com/ruche-box/ruche) is not above the working directory")
		}
		dir = parent
	}
}

// binary finds a test binary: $env, else bin/NAME at the module root.
func binary(t testing.TB, env, name string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		path = filepath.Join(ModuleRoot(t), "bin", name)
	}
	if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		missing(t, "%s is missing (make bin/%s, or set %s): %v", path, name, env, err)
	}
	return path
}

// Restic is the pinned restic (restic 0.18.1).
func Restic(t testing.TB) string {
	t.Helper()
	return binary(t, ResticEnv, "restic")
}

// RestServer is the pinned rest-server.
func RestServer(t testing.TB) string {
	t.Helper()
	return binary(t, RestServerEnv, "rest-server")
}

// freePort picks a loopback port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ClosedPort is a loopback port where nothing listens, for an
// unreachable target.
func ClosedPort(t testing.TB) int { return freePort(t) }

// syncBuffer is a bytes.Buffer safe for a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a server until the test ends and waits (bounded) until addr
// accepts connections.
func start(t testing.TB, addr string, name string, args ...string) *syncBuffer {
	t.Helper()
	var out syncBuffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) did not stop", name, cmd.Process.Pid)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return &out
		}
		select {
		case err := <-done:
			t.Fatalf("%s exited before listening on %s: %v\n%s", name, addr, err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after 15 s:\n%s", name, addr, out.String())
		}
	}
}

// StartRESTServer runs rest-server on a loopback port, without
// authentication, storing into a temporary folder; it returns the base URL
// ("http://127.0.0.1:PORT/").
func StartRESTServer(t testing.TB) string {
	t.Helper()
	bin := RestServer(t)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	start(t, addr, bin, "--path", t.TempDir(), "--listen", addr, "--no-auth")
	return "http://" + addr + "/"
}

// SSHServer is an OpenSSH server on a loopback port that lets the test's
// key log in as root and speaks sftp.
type SSHServer struct {
	Addr string // 127.0.0.1:PORT
	Port int
	// HostKey is the server's public host key, as a pack pins it
	// ("ssh-ed25519 AAAA...").
	HostKey string
	// ClientKey is the private key allowed to log in (OpenSSH PEM), as a
	// key secret holds it.
	ClientKey []byte
	// Log is sshd's own log so far, for failure messages.
	Log func() string
}

// NewKey returns a fresh ed25519 key: the private key in OpenSSH PEM and
// the public key in authorized_keys form, without its newline.
func NewKey(t testing.TB) (private []byte, public string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
}

// StartSSHD runs Debian's sshd in the foreground (-D) on a loopback port,
// with its own host key and authorized key in a temporary folder. It needs
// root (sshd checks its privilege separation) and creates /run/sshd, the
// folder sshd requires, when it is missing.
func StartSSHD(t testing.TB) *SSHServer {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		missing(t, "%s is missing (apt-get install openssh-server): %v", SSHD, err)
	}
	if os.Geteuid() != 0 {
		missing(t, "sshd's test needs root")
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostPriv, hostPub := NewKey(t)
	clientPriv, clientPub := NewKey(t)
	files := map[string][]byte{
		"host_ed25519":    hostPriv,
		"authorized_keys": []byte(clientPub + "\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := fmt.Sprintf(`ListenAddress 127.0.0.1
HostKey %[1]s/host_ed25519
PidFile %[1]s/sshd.pid
AuthorizedKeysFile %[1]s/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
UseDNS no
MaxStartups 20
Subsystem sftp internal-sftp
`, dir)
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	out := start(t, addr, SSHD, "-D", "-e", "-f", conf, "-p", strconv.Itoa(port), "-o", "LogLevel=VERBOSE")
	return &SSHServer{Addr: addr, Port: port, HostKey: hostPub, ClientKey: clientPriv, Log: out.String}
}
