package notify

import (
	"slices"
	"testing"

	"github.com/ruche-box/ruche/provision"
)

// A disabled admin or technician (a volunteer who left) is told nothing.
func TestRecipientsSkipDisabled(t *testing.T) {
	p := &provision.Pack{Panel: provision.Panel{Users: []provision.User{
		{Login: "alice", Role: provision.RoleAdmin, Email: "alice@example.org"},
		{Login: "old", Role: provision.RoleTechnician, Email: "old@example.org", Disabled: true},
		{Login: "tech", Role: provision.RoleTechnician, Email: "tech@example.org"},
	}}}
	if got, want := Recipients(p), []string{"alice@example.org", "tech@example.org"}; !slices.Equal(got, want) {
		t.Errorf("Recipients = %v, want %v", got, want)
	}
}
