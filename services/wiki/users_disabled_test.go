package wiki

import (
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision"
)

// A user the pack disables is left out of the wiki's users even when the
// database still hands over their hash (the pack was just edited, the
// database follows at the apply).
func TestDisabledUserNotInWiki(t *testing.T) {
	p := &provision.Pack{
		Association: provision.Association{Name: "Café", Locale: "fr"},
		Box:         provision.Box{Hostname: "cafe"},
		Wiki:        provision.Wiki{Enabled: true, Title: "Wiki", Editors: []string{"member"}},
		Panel: provision.Panel{Users: []provision.User{
			{Login: "alice", Role: provision.RoleAdmin},
			{Login: "dave", Role: provision.RoleMember, Disabled: true},
		}},
	}
	files := render(t, p, map[string]string{"alice": "$2a$10$alice", "dave": "$2a$10$dave"})
	auth := files["users.auth.php"]
	if !strings.Contains(auth, "\nalice:$2a$10$alice:") || strings.Contains(auth, "dave") {
		t.Errorf("users.auth.php:\n%s", auth)
	}
}
