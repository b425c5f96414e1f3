// Package provision holds the pack (the box's declarative configuration), its
// strict decoding and validation, and the reconcile engine that turns a pack
// into files and services on disk: render, plan, apply, revisions.
//
// provision imports no service: each service package registers a Renderer
// (see render.go) and the engine calls them in order.
package provision

// APIVersion and Kind identify a pack document.
const (
	APIVersion = "ruche/v1"
	Kind       = "Pack"
)

// Pack is the v1 pack. Field names (yaml tags) are the contract of DESIGN.md.
type Pack struct {
	APIVersion  string      `yaml:"apiVersion"`
	Kind        string      `yaml:"kind"`
	Association Association `yaml:"association"`
	Box         Box         `yaml:"box"`
	Wiki        Wiki        `yaml:"wiki"`
	Sites       []Site      `yaml:"sites"`
	Mail        Mail        `yaml:"mail"`
	Backup      Backup      `yaml:"backup"`
	Panel       Panel       `yaml:"panel"`

	// File is the name the pack was read from, for error messages.
	File string `yaml:"-"`
	// positions maps a field path ("sites[1].domains[0]") to where its value
	// stands in the file. Filled by Decode.
	positions map[string]Pos `yaml:"-"`
	// keyPositions maps a field path to where its key stands ("title" in
	// "title: x"), for errors about the name itself (a bad params key).
	// Filled by Decode.
	keyPositions map[string]Pos `yaml:"-"`
}

// Association is who the box belongs to.
type Association struct {
	Name    string `yaml:"name"`
	Slug    string `yaml:"slug"`
	Locale  string `yaml:"locale"`
	Contact string `yaml:"contact"`
}

// Box is the machine itself.
type Box struct {
	Hostname string `yaml:"hostname"`
	Domain   string `yaml:"domain"`
	Timezone string `yaml:"timezone"`
	TLS      string `yaml:"tls"` // internal | acme | off
}

// Wiki is the DokuWiki instance.
type Wiki struct {
	Enabled    bool     `yaml:"enabled"`
	Title      string   `yaml:"title"`
	Domain     string   `yaml:"domain"`
	PublicRead bool     `yaml:"public_read"`
	Editors    []string `yaml:"editors"`
}

// Site is one website of the farm.
type Site struct {
	Name     string            `yaml:"name"`
	Domains  []string          `yaml:"domains"`
	Template string            `yaml:"template"`
	Title    string            `yaml:"title"`
	Pages    []Page            `yaml:"pages"`
	Params   map[string]string `yaml:"params"`
}

// Page is one Markdown page of a site.
type Page struct {
	Path  string `yaml:"path"`
	Title string `yaml:"title"`
	Body  string `yaml:"body"`
	// Date (YYYY-MM-DD) makes a page of a news site a dated post, listed
	// on its home page and in its feed; other templates ignore it.
	Date string `yaml:"date"`
}

// Mail is Postfix: domains the box receives for, a relay for outgoing mail,
// and aliases.
type Mail struct {
	Domains []string `yaml:"domains"`
	Relay   *Relay   `yaml:"relay"`
	Aliases []Alias  `yaml:"aliases"`
}

// Relay is the smarthost outgoing mail goes through.
type Relay struct {
	Host           string `yaml:"host"`
	Port           int    `yaml:"port"`
	Username       string `yaml:"username"`
	PasswordSecret string `yaml:"password_secret"`
}

// Alias forwards one address to others.
type Alias struct {
	Address string   `yaml:"address"`
	To      []string `yaml:"to"`
}

// Backup is restic: when, how long, where.
type Backup struct {
	Schedule       string         `yaml:"schedule"`
	Keep           Keep           `yaml:"keep"`
	PasswordSecret string         `yaml:"password_secret"`
	Targets        []BackupTarget `yaml:"targets"`
}

// Keep is the retention policy (restic forget --keep-*).
type Keep struct {
	Daily   int `yaml:"daily"`
	Weekly  int `yaml:"weekly"`
	Monthly int `yaml:"monthly"`
}

// BackupTarget is one restic repository.
type BackupTarget struct {
	Name       string `yaml:"name"`
	Repository string `yaml:"repository"`
	Removable  bool   `yaml:"removable"`
	// KeySecret names the SSH private key for an sftp: repository.
	KeySecret string `yaml:"key_secret"`
	// HostKey pins the sftp server's public host key ("ssh-ed25519 AAAA...").
	HostKey string `yaml:"host_key"`
}

// Panel is the admin panel.
type Panel struct {
	Users []User `yaml:"users"`
}

// User is a panel account. Password hashes live in the box's database, never
// in the pack.
type User struct {
	Login string `yaml:"login"`
	Name  string `yaml:"name"`
	Role  string `yaml:"role"` // admin | technician | member
	Email string `yaml:"email"`
	// Disabled keeps the account (its tickets, comments and audit entries
	// keep their author) but lets nobody log in with it, in the panel or
	// the wiki, and sends it no mail: a volunteer who left.
	Disabled bool `yaml:"disabled"`
}

// Roles a panel user may have.
const (
	RoleAdmin      = "admin"
	RoleTechnician = "technician"
	RoleMember     = "member"
)

// Pos is a place in the pack file (1-based).
type Pos struct {
	Line, Col int
}

// Pos returns where the value at path stands in the pack file, or the
// nearest enclosing path that has a position (a missing field is reported
// at its parent). Paths look like "sites[1].domains[0]".
func (p *Pack) Pos(path string) Pos {
	for {
		if pos, ok := p.positions[path]; ok {
			return pos
		}
		if path == "" {
			return Pos{1, 1}
		}
		path = parentPath(path)
	}
}

// parentPath strips the last element of a field path.
func parentPath(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch path[i] {
		case '.':
			return path[:i]
		case '[':
			return path[:i]
		}
	}
	return ""
}

// Locale is the pack's language, "fr" unless it says "en".
func (p *Pack) Locale() string {
	if p != nil && p.Association.Locale == "en" {
		return "en"
	}
	return "fr"
}
