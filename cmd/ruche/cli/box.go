package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
	"github.com/ruche-box/ruche/provision/store"
	"github.com/ruche-box/ruche/services/mail"
	"github.com/ruche-box/ruche/services/sites"
	"github.com/ruche-box/ruche/services/web"
	"github.com/ruche-box/ruche/services/wiki"
)

// renderers is the wiring of every service that renders files from the
// pack, in order. A reader follows the pack from here into one package.
func renderers() []provision.Renderer {
	return []provision.Renderer{
		sites.Renderer{},
		wiki.Renderer{},
		mail.Renderer{},
		web.Renderer{},
	}
}

// absRoot makes --root absolute, since rendered configuration files hold
// absolute paths.
func (g *globalOptions) absRoot() (string, error) {
	return filepath.Abs(g.Root)
}

// loadPack reads and validates a pack file. Validation errors are printed,
// one per line, and reported as exit 1 with nothing on disk touched.
func (g *globalOptions) loadPack(file string) (*provision.Pack, []byte, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	p, err := provision.Load(file, raw)
	if err != nil {
		var list provision.ErrorList
		if errors.As(err, &list) {
			fmt.Fprintln(g.streams.Err, list.Localize(g.lang(p)))
			return nil, nil, silentError{ExitFailed}
		}
		return nil, nil, err
	}
	return p, raw, nil
}

// reportPackErrors prints a pack error list (for example missing secrets)
// in the user's language and turns it into exit 1.
func (g *globalOptions) reportPackErrors(err error, p *provision.Pack) error {
	var list provision.ErrorList
	if errors.As(err, &list) {
		fmt.Fprintln(g.streams.Err, list.Localize(g.lang(p)))
		return silentError{ExitFailed}
	}
	return err
}

// openStore opens the box's database under root, creating it on first use.
// A root too long for the box's control socket gets no database: `ruche up`
// opens it before its first apply, and would leave it behind a box that
// cannot run (the engine checks the pack's other sockets).
func openStore(ctx context.Context, root string) (*store.DB, error) {
	if err := provision.CheckSockets(root, nil); err != nil {
		return nil, err
	}
	return store.Open(ctx, filepath.Join(root, provision.DBPath))
}

// newEngine is the engine for root with every renderer wired in.
func newEngine(root string, db *store.DB) *provision.Engine {
	e := &provision.Engine{Root: root, Renderers: renderers()}
	if db != nil {
		e.Store = db
	}
	return e
}

// defaultAuthor names who runs a command, for the revision log.
func defaultAuthor() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "cli"
}

// printf writes a localized line.
func printf(w io.Writer, lang i18n.Lang, m i18n.M, args ...any) {
	fmt.Fprintln(w, m.Sprintf(lang, args...))
}
