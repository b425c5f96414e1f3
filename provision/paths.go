package provision

// Paths of the box, relative to the root ("/" on a box, --root elsewhere).
// Every file Ruche reads or writes is named here or derived from these.
const (
	PackPath      = "etc/ruche/pack.yaml" // the live pack
	SecretsDir    = "etc/ruche/secrets"   // one file per secret, 0600
	StateDir      = "var/lib/ruche"       // the box's own state
	ManifestPath  = "var/lib/ruche/manifest.json"
	RevisionsDir  = "var/lib/ruche/revisions" // NNNNNN.yaml + NNNNNN.json
	RemovedDir    = "var/lib/ruche/removed"   // what users made, moved aside
	DBPath        = "var/lib/ruche/ruche.db"  // panel database (SQLite)
	RunDir        = "run/ruche"
	ControlSocket = "run/ruche/control.sock" // the daemon's control API
	LogDir        = "var/log/ruche"
	// SMTPAddrFile holds the address `ruche up` told Postfix to listen on,
	// so that `ruche mail test` and other commands reach the same Postfix.
	SMTPAddrFile = "run/ruche/smtp.addr"

	// Backups (package backup): its state and the staged copy of the
	// database, restic's cache (never in $HOME), and the lock that lets
	// one backup run at a time.
	BackupDir      = "var/lib/ruche/backup"
	ResticCacheDir = "var/cache/ruche/restic"
	BackupLock     = "run/ruche/backup.lock"

	// The wiki: services/wiki runs it, services/web routes to it, and
	// neither imports the other.
	WikiSocket  = "run/ruche/php-fpm.sock" // php-fpm's FastCGI socket
	DokuWikiDir = "/usr/share/dokuwiki"    // Debian's DokuWiki code, the document root
)

// DefaultSMTPAddr is where the box's Postfix listens when `ruche up` is not
// told otherwise: port 25 on a box, a loopback high port under any other
// root (DESIGN.md).
func DefaultSMTPAddr(root string) string {
	if root == "/" {
		return ":25"
	}
	return "127.0.0.1:2525"
}
