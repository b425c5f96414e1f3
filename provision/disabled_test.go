package provision

import (
	"strings"
	"testing"
)

// panel.users[].disabled: a disabled login named by an alias is an error
// (its mail would be lost, or leak to someone who left), and at least one
// admin must stay active.
func TestValidateDisabledUsers(t *testing.T) {
	users := func(adminDisabled bool) []User {
		return []User{
			{Login: "alice", Role: RoleAdmin, Email: "alice@example.org", Disabled: adminDisabled},
			{Login: "dave", Role: RoleMember, Email: "dave@example.org", Disabled: true},
		}
	}
	p := minimalPack()
	p.Panel.Users = users(false)
	if errs := Validate(p); len(errs) != 0 {
		t.Fatalf("a disabled member: %v", englishLines(errs))
	}

	p.Mail = Mail{Domains: []string{"jardin.org"}, Aliases: []Alias{{Address: "bureau@jardin.org", To: []string{"alice", "dave"}}}}
	got := strings.Join(englishLines(Validate(p)), "\n")
	if !strings.Contains(got, `user "dave" is disabled (panel.users[1].disabled)`) || strings.Contains(got, `"alice"`) {
		t.Errorf("an alias naming disabled dave:\n%s", got)
	}

	p = minimalPack()
	p.Panel.Users = users(true)
	got = strings.Join(englishLines(Validate(p)), "\n")
	if !strings.Contains(got, "every admin is disabled") {
		t.Errorf("every admin disabled:\n%s", got)
	}
}
