package provision

import (
	"path/filepath"

	"github.com/ruche-box/ruche/provision/i18n"
)

// MaxSocketPath is the longest path a Unix socket can be bound at on
// Linux: sockaddr_un's sun_path holds 108 bytes, the last one the NUL that
// ends the path. Go's net package and php-fpm alike refuse anything
// longer, and they refuse it only when the service starts.
const MaxSocketPath = 107

var msgSocketTooLong = i18n.M{
	FR: "le chemin de socket %s fait %d octets ; Linux n'en accepte que %d au plus : choisissez un --root plus court",
	EN: "the socket path %s is %d bytes long; Linux accepts at most %d: choose a shorter --root",
}

// Sockets are the Unix sockets the box binds under its root for a pack,
// root-relative: the control socket of `ruche up`, and php-fpm's when the
// wiki is on.
func Sockets(p *Pack) []string {
	s := []string{ControlSocket}
	if p != nil && p.Wiki.Enabled {
		s = append(s, WikiSocket)
	}
	return s
}

// CheckSockets refuses a root under which one of the pack's sockets would
// not fit in a socket address. Plan and apply call it before they touch
// anything, so that a root too long fails at once, by name, instead of
// leaving a box whose services cannot start.
func CheckSockets(root string, p *Pack) error {
	for _, rel := range Sockets(p) {
		path := filepath.Join(root, filepath.FromSlash(rel))
		if n := len(path); n > MaxSocketPath {
			return i18n.Errorf(msgSocketTooLong, path, n, MaxSocketPath)
		}
	}
	return nil
}
