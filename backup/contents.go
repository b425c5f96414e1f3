package backup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Where the backup keeps its own files, relative to the root.
const (
	// DBCopy is the consistent copy of the panel database (VACUUM INTO)
	// taken before restic runs. It is in every snapshot at this path; the
	// live database (provision.DBPath) never is. A restore puts it back
	// as provision.DBPath.
	DBCopy = provision.BackupDir + "/ruche.db"
	// StateFile records each target's last result (State).
	StateFile = provision.BackupDir + "/state.json"
)

// Contents is what a backup of the box saves: Paths relative to Dir (the
// root), so that a snapshot holds etc/ruche/... and var/lib/ruche/...
// whatever the root was, and Excludes as restic patterns on absolute paths.
type Contents struct {
	Dir      string
	Paths    []string
	Excludes []string
}

// Folders of the box's data that a backup leaves out: the live database
// (its copy DBCopy is saved instead), the backup's own state, and
// DokuWiki's caches, which it rebuilds.
var excluded = []string{
	provision.DBPath,
	provision.DBPath + "-wal",
	provision.DBPath + "-shm",
	provision.DBPath + "-journal",
	StateFile,
	"var/lib/ruche/wiki/cache",
	"var/lib/ruche/wiki/locks",
	"var/lib/ruche/wiki/tmp",
}

var msgNoPack = i18n.M{
	FR: "aucun pack appliqué sous %s : rien à sauvegarder (lancez d'abord ruche apply)",
	EN: "no pack applied under %s: nothing to back up (run ruche apply first)",
}

// ContentsOf lists what a backup of the box at root saves:
//   - etc/ruche/pack.yaml, the live pack;
//   - etc/ruche/secrets, every secret but the backup password itself;
//   - var/lib/ruche, the box's state: pack revisions, the database's
//     copy DBCopy, the wiki's data, every site's pages and uploads,
//     uploads moved aside, Caddy's certificates and local CA;
//
// without the live database, the backup's state file, DokuWiki's caches,
// the engine's temporary files, and any local repository of the pack
// that lies inside them. Paths that do not exist are left out.
func ContentsOf(root string, p *provision.Pack) (Contents, error) {
	c := Contents{Dir: root}
	pack := filepath.Join(root, provision.PackPath)
	if _, err := os.Stat(pack); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return c, i18n.Errorf(msgNoPack, root)
		}
		return c, err
	}
	for _, rel := range []string{provision.PackPath, provision.SecretsDir, provision.StateDir} {
		if _, err := os.Lstat(filepath.Join(root, rel)); err == nil {
			c.Paths = append(c.Paths, rel)
		}
	}
	for _, rel := range excluded {
		c.Excludes = append(c.Excludes, escapePattern(filepath.Join(root, rel)))
	}
	// The backup's temporary files: the database copy being written,
	// state.json's.
	c.Excludes = append(c.Excludes, escapePattern(filepath.Join(root, provision.BackupDir))+"/.*")
	// The engine's files being written ("." NAME ".ruche-tmp") anywhere.
	c.Excludes = append(c.Excludes, ".*.ruche-tmp")
	if p.Backup.PasswordSecret != "" {
		c.Excludes = append(c.Excludes, escapePattern(provision.SecretPath(root, p.Backup.PasswordSecret)))
	}
	for _, t := range p.Backup.Targets {
		if isLocal(t.Repository) {
			c.Excludes = append(c.Excludes, escapePattern(TargetLocation(root, t.Repository)))
		}
	}
	return c, nil
}

// escapePattern makes a path a restic pattern that matches only itself.
func escapePattern(path string) string {
	var b strings.Builder
	for _, r := range path {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
