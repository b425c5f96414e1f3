package notify

import (
	"net/mail"
	"os"
	"path/filepath"
	"strings"

	"github.com/ruche-box/ruche/provision"
)

// Recipients are the e-mail addresses of the pack's admins and technicians
// (panel.users), in the pack's order, each once whatever its case; users
// without an address, and disabled ones, are skipped. A nil pack has none.
func Recipients(p *provision.Pack) []string {
	if p == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, u := range p.Panel.Users {
		// A disabled user left: the box's mail is no longer theirs.
		if u.Role != provision.RoleAdmin && u.Role != provision.RoleTechnician || u.Disabled {
			continue
		}
		e := strings.TrimSpace(u.Email)
		if e == "" || seen[strings.ToLower(e)] {
			continue
		}
		seen[strings.ToLower(e)] = true
		out = append(out, e)
	}
	return out
}

// LivePack returns a function that reads the live pack under root
// (<root>/etc/ruche/pack.yaml) at each call, so that alerts follow the
// pack's locale and users as they are edited. A pack that no longer passes
// validation (a newer rule) is still used: an alert must not be lost to a
// warning about a site.
func LivePack(root string) func() (*provision.Pack, error) {
	return func() (*provision.Pack, error) {
		raw, err := os.ReadFile(filepath.Join(root, provision.PackPath))
		if err != nil {
			return nil, err
		}
		p, err := provision.Load(provision.PackPath, raw)
		if p == nil {
			return nil, err
		}
		return p, nil
	}
}

// BoxAddr is where the box's Postfix listens: override when given, else
// the address `ruche up` wrote into <root>/run/ruche/smtp.addr, else
// provision.DefaultSMTPAddr(root).
func BoxAddr(root, override string) string {
	if override != "" {
		return override
	}
	if raw, err := os.ReadFile(filepath.Join(root, provision.SMTPAddrFile)); err == nil {
		if a := strings.TrimSpace(string(raw)); a != "" {
			return a
		}
	}
	return provision.DefaultSMTPAddr(root)
}

// BoxSender is who the box's own mail comes from: "Ruche
// <ruche@DOMAIN>" with the pack's box.domain when it has one (a relay
// more readily accepts a domain the association owns), else
// ruche@<hostname>.local, its name on the LAN.
func BoxSender(p *provision.Pack) string {
	addr := "ruche@localhost"
	switch {
	case p == nil:
	case p.Box.Domain != "":
		addr = "ruche@" + p.Box.Domain
	case p.Box.Hostname != "":
		addr = "ruche@" + p.Box.Hostname + ".local"
	}
	// An internationalised domain in punycode: the header must stay ASCII
	// for servers without SMTPUTF8.
	return (&mail.Address{Name: "Ruche", Address: asciiDomain(addr)}).String()
}

// BoxClient is the client for the box's Postfix under root (addr as for
// BoxAddr), sending as BoxSender and greeting as <hostname>.local.
func BoxClient(root string, p *provision.Pack, addr string) *Client {
	hello := "localhost"
	if p != nil && p.Box.Hostname != "" {
		hello = p.Box.Hostname + ".local"
	}
	return &Client{Addr: BoxAddr(root, addr), From: BoxSender(p), HelloName: hello}
}
