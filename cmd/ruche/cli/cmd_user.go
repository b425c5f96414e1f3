package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

var (
	msgPasswordSet = i18n.M{FR: "mot de passe de %s enregistré", EN: "password of %s saved"}
	msgNoPassword  = i18n.M{FR: "aucun mot de passe lu sur l'entrée standard", EN: "no password read from standard input"}
)

func newUserCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Panel accounts",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "passwd LOGIN",
		Short: "Set a panel user's password, read from standard input (one line)",
		Long: `Set a panel user's password, read from standard input (its first line).
The user must be declared in the pack (panel.users) and applied. The hash
(bcrypt) is shared with the wiki at the next apply, which passwd runs itself.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPasswd(cmd.Context(), g, args[0])
		},
	})
	return cmd
}

func runPasswd(ctx context.Context, g *globalOptions, login string) error {
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	lang := g.lang(nil)
	if raw, err := os.ReadFile(filepath.Join(root, provision.PackPath)); err == nil {
		if p, err := provision.Load(provision.PackPath, raw); err == nil {
			lang = g.lang(p)
		}
	}
	password, err := readPasswordLine(g.streams.In)
	if err != nil {
		return err
	}
	if len(password) == 0 {
		return i18n.Errorf(msgNoPassword)
	}
	db, err := openStore(ctx, root)
	if err != nil {
		return err
	}
	err = db.SetPassword(ctx, login, password)
	db.Close()
	if err != nil {
		return err
	}
	printf(g.streams.Out, lang, msgPasswordSet, login)
	return reapplyLive(ctx, g)
}

// reapplyLive renders the live pack again so that files built from the
// database (the wiki's users) follow: through the daemon when it runs.
func reapplyLive(ctx context.Context, g *globalOptions) error {
	root, err := g.absRoot()
	if err != nil {
		return err
	}
	live := filepath.Join(root, provision.PackPath)
	if _, err := os.Stat(live); errors.Is(err, fs.ErrNotExist) {
		return nil // never applied: the next apply will carry the hash
	}
	quiet := *g
	quiet.streams.Out = io.Discard
	return runApply(ctx, &quiet, applyOptions{Author: defaultAuthor(), Note: "passwd"}, live)
}

// readPasswordLine reads the first line of r, without its line ending.
func readPasswordLine(r io.Reader) ([]byte, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}
