package packedit

import (
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// sameAddress compares addresses as Postfix does: local part without case,
// domain in ASCII; as typed when either is no address.
func sameAddress(a, b string) bool {
	ka, oka := provision.EmailASCII(a)
	kb, okb := provision.EmailASCII(b)
	if oka && okb {
		return ka == kb
	}
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// SetAlias adds the alias address, creating mail.aliases when needed, or
// replaces the recipients of the one already there.
func (d *Doc) SetAlias(address string, to []string) error {
	if strings.TrimSpace(address) == "" {
		return errRequired("mail.aliases.address")
	}
	mail, err := child(d.top(), "mail", "mail", yaml.MappingNode)
	if err != nil {
		return err
	}
	aliases, err := child(mail, "aliases", "mail.aliases", yaml.SequenceNode)
	if err != nil {
		return err
	}
	if i := find(aliases, "address", address, sameAddress); i >= 0 {
		setStrings(item(aliases, i), "to", to, true)
		return nil
	}
	// A new alias looks like its neighbours: `to` in flow style ([a, b])
	// unless the first alias writes its list as lines.
	flow := true
	style := newItemStyle(aliases)
	if len(aliases.Content) > 0 {
		if old := get(item(aliases, 0), "to"); old != nil && old.Kind == yaml.SequenceNode {
			flow = old.Style&yaml.FlowStyle != 0
		}
	}
	a := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: style,
		Content: []*yaml.Node{str("address"), str(address), str("to"), strSeq(to, flow)}}
	aliases.Content = append(aliases.Content, a)
	return nil
}

// RemoveAlias removes the alias address.
func (d *Doc) RemoveAlias(address string) error {
	aliases := d.lookup("mail", "aliases")
	i := find(aliases, "address", address, sameAddress)
	if i < 0 {
		return i18n.Errorf(msgNoAlias, address)
	}
	remove(aliases, i)
	return nil
}

// users is panel.users, created when create is set.
func (d *Doc) users(create bool) (*yaml.Node, error) {
	if !create {
		return d.lookup("panel", "users"), nil
	}
	panel, err := child(d.top(), "panel", "panel", yaml.MappingNode)
	if err != nil {
		return nil, err
	}
	return child(panel, "users", "panel.users", yaml.SequenceNode)
}

// SetUser adds the user u.Login, or updates the name, role and e-mail of
// the one already there (an empty name or e-mail removes the key; other
// keys and comments stay).
func (d *Doc) SetUser(u provision.User) error {
	if u.Login == "" {
		return errRequired("panel.users.login")
	}
	if u.Role == "" {
		return errRequired("panel.users.role")
	}
	users, err := d.users(true)
	if err != nil {
		return err
	}
	if i := find(users, "login", u.Login, same); i >= 0 {
		m := item(users, i)
		setOrDel(m, "name", u.Name)
		set(m, "role", u.Role)
		setOrDel(m, "email", u.Email)
		return nil
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: newItemStyle(users)}
	set(m, "login", u.Login)
	setOrDel(m, "name", u.Name)
	set(m, "role", u.Role)
	setOrDel(m, "email", u.Email)
	users.Content = append(users.Content, m)
	return nil
}

// RemoveUser removes login from panel.users.
func (d *Doc) RemoveUser(login string) error {
	users, _ := d.users(false)
	i := find(users, "login", login, same)
	if i < 0 {
		return i18n.Errorf(msgNoUser, login)
	}
	remove(users, i)
	return nil
}

// SetUserDisabled writes `disabled: true` on login, or removes the key.
func (d *Doc) SetUserDisabled(login string, disabled bool) error {
	users, _ := d.users(false)
	i := find(users, "login", login, same)
	if i < 0 {
		return i18n.Errorf(msgNoUser, login)
	}
	m := item(users, i)
	if !disabled {
		del(m, "disabled")
		return nil
	}
	if v := get(m, "disabled"); v != nil && v.Kind == yaml.ScalarNode {
		v.Value, v.Tag, v.Style = "true", "!!bool", 0
		return nil
	}
	m.Content = append(m.Content, str("disabled"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	return nil
}

// site returns the mapping of site name.
func (d *Doc) site(name string) (*yaml.Node, error) {
	sites := d.lookup("sites")
	i := find(sites, "name", name, same)
	if i < 0 {
		return nil, i18n.Errorf(msgNoSite, name)
	}
	return item(sites, i), nil
}

// AddSite appends s to sites. Its pages' bodies are literal blocks (|).
func (d *Doc) AddSite(s provision.Site) error {
	if s.Name == "" {
		return errRequired("sites.name")
	}
	sites, err := child(d.top(), "sites", "sites", yaml.SequenceNode)
	if err != nil {
		return err
	}
	if find(sites, "name", s.Name, same) >= 0 {
		return i18n.Errorf(msgSiteExists, s.Name)
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	set(m, "name", s.Name)
	if len(s.Domains) > 0 {
		setNode(m, "domains", strSeq(s.Domains, true))
	}
	setOrDel(m, "template", s.Template)
	setOrDel(m, "title", s.Title)
	if len(s.Params) > 0 {
		params := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range slices.Sorted(maps.Keys(s.Params)) {
			set(params, k, s.Params[k])
		}
		setNode(m, "params", params)
	}
	if len(s.Pages) > 0 {
		pages := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, p := range s.Pages {
			pages.Content = append(pages.Content, pageNode(p))
		}
		setNode(m, "pages", pages)
	}
	sites.Content = append(sites.Content, m)
	return nil
}

// RemoveSite removes site name.
func (d *Doc) RemoveSite(name string) error {
	sites := d.lookup("sites")
	i := find(sites, "name", name, same)
	if i < 0 {
		return i18n.Errorf(msgNoSite, name)
	}
	remove(sites, i)
	return nil
}

// SetSiteTitle sets the title of site name.
func (d *Doc) SetSiteTitle(name, title string) error {
	s, err := d.site(name)
	if err != nil {
		return err
	}
	set(s, "title", title)
	return nil
}

// body is a page's Markdown as a literal block scalar, so that the pack
// reads like the page.
func body(s string) *yaml.Node {
	n := str(s)
	if s != "" {
		n.Style = yaml.LiteralStyle
	}
	return n
}

func pageNode(p provision.Page) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	set(m, "path", p.Path)
	setOrDel(m, "title", p.Title)
	setOrDel(m, "date", p.Date)
	m.Content = append(m.Content, str("body"), body(p.Body))
	return m
}

// SetSitePage adds the page p.Path to site, or replaces the title, date
// (empty removes it) and body of the page already there; its other keys
// and comments stay.
func (d *Doc) SetSitePage(site string, p provision.Page) error {
	if p.Path == "" {
		return errRequired("sites.pages.path")
	}
	s, err := d.site(site)
	if err != nil {
		return err
	}
	pages, err := child(s, "pages", "sites.pages", yaml.SequenceNode)
	if err != nil {
		return err
	}
	if i := find(pages, "path", p.Path, same); i >= 0 {
		m := item(pages, i)
		setOrDel(m, "title", p.Title)
		setOrDel(m, "date", p.Date)
		setNode(m, "body", body(p.Body))
		return nil
	}
	pages.Content = append(pages.Content, pageNode(p))
	return nil
}

// RemoveSitePage removes the page path of site.
func (d *Doc) RemoveSitePage(site, path string) error {
	s, err := d.site(site)
	if err != nil {
		return err
	}
	pages := get(s, "pages")
	i := find(pages, "path", path, same)
	if i < 0 {
		return i18n.Errorf(msgNoPage, site, path)
	}
	remove(pages, i)
	return nil
}

// SetSiteParam sets params.key of site; an empty value removes it.
func (d *Doc) SetSiteParam(site, key, value string) error {
	if key == "" {
		return errRequired("sites.params")
	}
	s, err := d.site(site)
	if err != nil {
		return err
	}
	if value == "" {
		if params := get(s, "params"); params != nil && params.Kind == yaml.MappingNode {
			del(params, key)
			if len(params.Content) == 0 {
				del(s, "params")
			}
		}
		return nil
	}
	params, err := child(s, "params", "sites.params", yaml.MappingNode)
	if err != nil {
		return err
	}
	set(params, key, value)
	return nil
}
