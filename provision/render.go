package provision

import (
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/ruche-box/ruche/provision/i18n"
)

// RenderInput is everything a render depends on. Render is pure: the same
// input gives the same Desired, byte for byte, and reads nothing from disk.
type RenderInput struct {
	Pack *Pack
	// Root is the absolute folder every path of the box lives under ("/" on a
	// box). Renderers write it into configuration files that need absolute
	// paths (sockets, document roots); File.Path stays relative.
	Root string
	// PasswordHashes maps a panel login to its bcrypt hash, from the box's
	// database (the wiki shares them). Logins without a password are absent.
	PasswordHashes map[string]string
	// SMTP is the address the box's Postfix listens on for SMTP
	// (`ruche up --smtp`; DefaultSMTPAddr otherwise). The mail service
	// listens there, and what sends mail from the box (DokuWiki) speaks to it.
	SMTP string
}

// Abs returns the absolute path of a root-relative path.
func (in *RenderInput) Abs(rel string) string {
	return path.Join(in.Root, rel)
}

// Renderer is what a service registers with the engine: from the pack, the
// files and services it wants. A renderer appends to out and never reads the
// disk.
type Renderer interface {
	Name() string
	Render(in *RenderInput, out *Desired) error
}

var msgRender = i18n.M{FR: "rendu de %s", EN: "rendering %s"}

// Render runs every renderer and checks that no two of them want the same
// file. Renderers are pure and independent, so they run at the same time
// (a 500-site pack renders in about half the time on two cores); their
// outputs are merged in registration order.
func Render(in *RenderInput, renderers []Renderer) (*Desired, error) {
	parts := make([]Desired, len(renderers))
	errs := make([]error, len(renderers))
	var wg sync.WaitGroup
	for i, r := range renderers {
		parts[i].MoveAside = map[string]string{}
		wg.Go(func() { errs[i] = r.Render(in, &parts[i]) })
	}
	wg.Wait()
	out := &Desired{MoveAside: map[string]string{}}
	for i, r := range renderers {
		if errs[i] != nil {
			return nil, i18n.Wrap(errs[i], msgRender, r.Name())
		}
		out.Files = append(out.Files, parts[i].Files...)
		out.Trees = append(out.Trees, parts[i].Trees...)
		out.Services = append(out.Services, parts[i].Services...)
		for k, v := range parts[i].MoveAside {
			out.MoveAside[k] = v
		}
	}
	seen := make(map[string]bool, len(out.Files))
	for i := range out.Files {
		f := &out.Files[i]
		if !validRel(f.Path) {
			return nil, fmt.Errorf("render: bad file path %q", f.Path)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("render: two renderers want %s", f.Path)
		}
		seen[f.Path] = true
		if f.Mode == 0 {
			f.Mode = 0o644
		}
	}
	for i := range out.Trees {
		t := &out.Trees[i]
		if !validRel(t.Link) || seen[t.Link] {
			return nil, fmt.Errorf("render: bad or duplicate tree %q", t.Link)
		}
		seen[t.Link] = true
		for j := range t.Files {
			f := &t.Files[j]
			if !validRel(f.Path) {
				return nil, fmt.Errorf("render: bad file path %q in tree %s", f.Path, t.Link)
			}
			if f.Mode == 0 {
				f.Mode = 0o644
			}
		}
	}
	out.sortFiles()
	return out, nil
}

// validRel reports whether p is a clean path inside the root.
func validRel(p string) bool {
	return p != "" && p != "." && !strings.HasPrefix(p, "/") && path.Clean(p) == p && p != ".." && !strings.HasPrefix(p, "../")
}
