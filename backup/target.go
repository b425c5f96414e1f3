package backup

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Options say which box to back up and how to run restic. The zero value
// of each field is what a box uses.
type Options struct {
	// Root is where every path of the box lives ("/" on a box). A local
	// repository of the pack lives under it too.
	Root string
	// Restic is restic's path; "" is Binary("").
	Restic string
	// Runner runs restic; nil is ExecRunner.
	Runner Runner
	// Log is the backup's logger; nil is slog.Default().
	Log *slog.Logger
	// Now is the clock, for the state file; nil is time.Now.
	Now func() time.Time
	// Progress, when not nil, gets restic's progress during a backup,
	// with Target set.
	Progress func(Progress)
	// DialTimeout bounds the probe of a network target before restic
	// runs: restic itself retries an unreachable server for 15 minutes.
	// 0 is DefaultDialTimeout.
	DialTimeout time.Duration
	// MountInfo is the mount table read for removable targets; "" is
	// /proc/self/mountinfo.
	MountInfo string
	// SSH is the ssh client for sftp targets; "" is DefaultSSH.
	SSH string
	// Alerter is told each target's outcome: a failed backup or a missing
	// disk is raised (the admins get one mail per problem), a successful
	// one clears both. nil tells nobody.
	Alerter provision.Alerter
}

// DefaultDialTimeout is how long a network target has to answer a TCP
// connection before it is reported unreachable.
const DefaultDialTimeout = 10 * time.Second

// DefaultSSH is Debian's OpenSSH client.
const DefaultSSH = "/usr/bin/ssh"

// KnownHostsDir holds the known_hosts file generated for each sftp target
// from its pinned host_key, relative to the root.
const KnownHostsDir = "var/cache/ruche/ssh"

func (o *Options) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.Default()
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) root() (string, error) {
	r := o.Root
	if r == "" {
		r = "/"
	}
	return filepath.Abs(r)
}

var (
	msgSecretMissing = i18n.M{
		FR: "le secret %q est introuvable : créez le fichier %s (mode 0600) avec le secret dedans",
		EN: "secret %q is missing: create the file %s (mode 0600) holding the secret",
	}
	msgNoPasswordSecret = i18n.M{
		FR: "le pack ne nomme pas de mot de passe de sauvegarde (backup.password_secret)",
		EN: "the pack names no backup password (backup.password_secret)",
	}
	msgNoHostKey = i18n.M{
		FR: "une cible sftp: a besoin de la clé d'hôte du serveur épinglée dans host_key (ssh-keyscan -t ed25519 SERVEUR, vérifiée auprès de son administrateur)",
		EN: "an sftp: target needs the server's host key pinned in host_key (ssh-keyscan -t ed25519 SERVER, checked with its administrator)",
	}
	msgNoKeySecret = i18n.M{
		FR: "une cible sftp: a besoin d'une clé SSH privée nommée par key_secret",
		EN: "an sftp: target needs a private SSH key named by key_secret",
	}
	msgBadHostKey = i18n.M{
		FR: "host_key n'est pas une clé publique SSH lisible",
		EN: "host_key is not a readable SSH public key",
	}
	msgBadSFTP = i18n.M{
		FR: "adresse sftp: illisible %q",
		EN: "unreadable sftp: address %q",
	}
	msgQuote = i18n.M{
		FR: "le chemin %q contient un guillemet ou une barre oblique inverse, que la commande ssh de restic ne sait pas passer",
		EN: "the path %q holds a quote or a backslash, which restic's ssh command cannot pass",
	}
)

// OpenTarget returns the repository of target t of pack p, ready for
// restic, after checking what can be checked before restic runs: the
// password's secret file, a removable target's disk (ErrDiskMissing when
// its folder is not on a mounted disk), an sftp target's key and pinned
// host key (written to a known_hosts file under KnownHostsDir), and that a
// network target answers (ErrUnreachable). Every failure is an *Error.
func (o *Options) OpenTarget(ctx context.Context, p *provision.Pack, t provision.BackupTarget) (*Repo, error) {
	root, err := o.root()
	if err != nil {
		return nil, err
	}
	location := TargetLocation(root, t.Repository)
	display := DisplayLocation(location)
	if p.Backup.PasswordSecret == "" {
		return nil, configError(display, i18n.Errorf(msgNoPasswordSecret))
	}
	password := provision.SecretPath(root, p.Backup.PasswordSecret)
	if err := secretPresent(p.Backup.PasswordSecret, password); err != nil {
		return nil, configError(display, err)
	}
	repo := &Repo{
		Binary:       Binary(o.Restic),
		Location:     location,
		PasswordFile: password,
		CacheDir:     filepath.Join(root, provision.ResticCacheDir),
		Runner:       o.Runner,
		Log:          o.log().With("target", t.Name),
	}
	if err := os.MkdirAll(repo.CacheDir, 0o700); err != nil {
		return nil, err
	}
	switch {
	case isLocal(t.Repository):
		if t.Removable {
			if err := diskPresent(o.MountInfo, root, location); err != nil {
				return nil, &Error{Kind: ErrDiskMissing, Repository: display, Code: -1, Message: err.Error(), Err: err}
			}
		}
	case hasScheme(t.Repository, "sftp:"):
		sftp, err := parseSFTP(t.Repository)
		if err != nil {
			return nil, configError(display, err)
		}
		command, err := o.sshCommand(root, p, t, sftp)
		if err != nil {
			return nil, err
		}
		repo.Options = append(repo.Options, "sftp.command="+command)
		if err := o.probe(ctx, display, net.JoinHostPort(sftp.host, sftp.port)); err != nil {
			return nil, err
		}
		// The pinned host key is checked before restic runs: restic may
		// exit before it relays ssh's "Host key verification failed".
		timeout := o.DialTimeout
		if timeout <= 0 {
			timeout = DefaultDialTimeout
		}
		if err := CheckSFTPHostKey(ctx, t.Repository, t.HostKey, timeout); err != nil {
			return nil, err
		}
	case hasScheme(t.Repository, "rest:"):
		if addr := restAddr(t.Repository); addr != "" {
			if err := o.probe(ctx, display, addr); err != nil {
				return nil, err
			}
		}
	}
	return repo, nil
}

// TargetLocation is the repository as restic reads it: a local path of the
// pack ("/media/usb/restic", "local:/srv/restic") lives under root; other
// repositories are kept as written.
func TargetLocation(root, repository string) string {
	if p, ok := strings.CutPrefix(repository, "local:"); ok {
		repository = p
	}
	if strings.HasPrefix(repository, "/") {
		return filepath.Join(root, filepath.FromSlash(repository))
	}
	return repository
}

// DisplayLocation hides a password in a repository's URL (rest:, s3: with
// credentials), for messages and logs.
func DisplayLocation(location string) string {
	i := strings.Index(location, "://")
	if i < 0 {
		return location
	}
	prefix := ""
	if j := strings.Index(location, ":"); j < i {
		prefix, location = location[:j+1], location[j+1:]
	}
	u, err := url.Parse(location)
	if err != nil || u.User == nil {
		return prefix + location
	}
	return prefix + u.Redacted()
}

func isLocal(repository string) bool {
	return strings.HasPrefix(repository, "/") || strings.HasPrefix(repository, "local:")
}

func hasScheme(repository, scheme string) bool {
	return len(repository) >= len(scheme) && strings.EqualFold(repository[:len(scheme)], scheme)
}

// secretPresent checks that a secret's file exists and is not empty.
func secretPresent(name, path string) error {
	info, err := os.Stat(path)
	if err == nil && info.Size() > 0 {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return i18n.Errorf(msgSecretMissing, name, path)
}

// sftpAddr is what Ruche needs of an sftp: repository to build ssh's
// command.
type sftpAddr struct {
	user, host, port string
}

// parseSFTP reads restic's two sftp forms: sftp:[user@]host:path and
// sftp://[user@]host[:port]//path.
func parseSFTP(repository string) (sftpAddr, error) {
	rest := repository[len("sftp:"):]
	bad := i18n.Errorf(msgBadSFTP, repository)
	var a sftpAddr
	if strings.HasPrefix(rest, "//") {
		u, err := url.Parse("sftp:" + rest)
		if err != nil || u.Hostname() == "" {
			return a, bad
		}
		a.host, a.port = u.Hostname(), u.Port()
		if u.User != nil {
			a.user = u.User.Username()
		}
	} else {
		host, _, ok := strings.Cut(rest, ":")
		if !ok || host == "" {
			return a, bad
		}
		if i := strings.LastIndex(host, "@"); i >= 0 {
			a.user, host = host[:i], host[i+1:]
		}
		a.host = host
	}
	if a.port == "" {
		a.port = "22"
	}
	return a, nil
}

// sshCommand builds restic's sftp.command: Debian's ssh with nothing read
// from a home folder or /etc/ssh (-F /dev/null), the target's key only,
// and the server's host key checked strictly against the one pinned in
// the pack, through a known_hosts file generated from it.
func (o *Options) sshCommand(root string, p *provision.Pack, t provision.BackupTarget, a sftpAddr) (string, error) {
	display := DisplayLocation(t.Repository)
	if t.HostKey == "" {
		return "", configError(display, i18n.Errorf(msgNoHostKey))
	}
	if t.KeySecret == "" {
		return "", configError(display, i18n.Errorf(msgNoKeySecret))
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(t.HostKey))
	if err != nil {
		return "", configError(display, i18n.Errorf(msgBadHostKey))
	}
	keyFile := provision.SecretPath(root, t.KeySecret)
	if err := secretPresent(t.KeySecret, keyFile); err != nil {
		return "", configError(display, err)
	}
	knownHosts := filepath.Join(root, KnownHostsDir, t.Name+".known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(a.host, a.port))}, key) + "\n"
	if old, err := os.ReadFile(knownHosts); err != nil || !bytes.Equal(old, []byte(line)) {
		if err := writeFileAtomic(knownHosts, []byte(line), 0o644); err != nil {
			return "", err
		}
	}
	sshBin := o.SSH
	if sshBin == "" {
		sshBin = DefaultSSH
	}
	args := []string{sshBin,
		"-F", "/dev/null",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "CheckHostIP=no",
		"-o", "UpdateHostKeys=no",
		"-o", "IdentitiesOnly=yes",
		"-o", "ConnectTimeout=15",
		"-o", "ServerAliveInterval=15",
		"-o", "ServerAliveCountMax=4",
		"-i", keyFile,
		"-p", a.port,
	}
	if a.user != "" {
		args = append(args, "-l", a.user)
	}
	args = append(args, a.host, "-s", "sftp")
	quoted := make([]string, len(args))
	for i, arg := range args {
		// restic splits sftp.command itself: a backslash outside
		// quotes splits, and quotes cannot be escaped.
		if strings.ContainsAny(arg, "\"'\\") {
			return "", configError(display, i18n.Errorf(msgQuote, arg))
		}
		if strings.ContainsFunc(arg, func(r rune) bool { return r <= ' ' }) {
			arg = `"` + arg + `"`
		}
		quoted[i] = arg
	}
	return strings.Join(quoted, " "), nil
}

// restAddr is the host:port a rest: repository connects to.
func restAddr(repository string) string {
	u, err := url.Parse(repository[len("rest:"):])
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// probe opens and closes a TCP connection to addr, so that an unreachable
// server is reported in seconds rather than after restic's 15 minutes of
// retries.
func (o *Options) probe(ctx context.Context, display, addr string) error {
	timeout := o.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return &Error{Kind: ErrInterrupted, Repository: display, Code: -1, Err: ctx.Err()}
		}
		return &Error{Kind: ErrUnreachable, Repository: display, Code: -1, Message: err.Error(), Err: err}
	}
	return c.Close()
}
