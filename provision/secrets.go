package provision

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ruche-box/ruche/provision/i18n"
)

var (
	msgSecretMissing = i18n.M{
		FR: "le secret %q est introuvable : créez le fichier %s (mode 0600) avec le secret dedans",
		EN: "secret %q is missing: create the file %s (mode 0600) holding the secret",
	}
	msgSecretEmpty = i18n.M{
		FR: "le fichier du secret %q est vide : mettez le secret dans %s",
		EN: "the file of secret %q is empty: put the secret in %s",
	}
	msgSecretMode = i18n.M{
		FR: "le fichier du secret %q est lisible par d'autres (mode %04o) : chmod 0600 %s",
		EN: "the file of secret %q is readable by others (mode %04o): chmod 0600 %s",
	}
)

// SecretPath is the file that holds the secret name.
func SecretPath(root, name string) string {
	return filepath.Join(root, SecretsDir, name)
}

// CheckSecrets checks that every secret the pack names has its file, with
// mode 0600, and reports each missing one at the line of the field naming it.
func CheckSecrets(root string, p *Pack) error {
	var errs ErrorList
	for _, ref := range p.Secrets() {
		path := SecretPath(root, ref.Name)
		info, err := os.Stat(path)
		var text i18n.Text
		switch {
		case errors.Is(err, fs.ErrNotExist):
			text = i18n.T(msgSecretMissing, ref.Name, path)
		case err != nil:
			return err
		case info.Mode().Perm()&0o077 != 0:
			text = i18n.T(msgSecretMode, ref.Name, info.Mode().Perm(), path)
		case info.Size() == 0 || info.Size() == 1 && isNewlineOnly(path):
			text = i18n.T(msgSecretEmpty, ref.Name, path)
		default:
			continue
		}
		errs = append(errs, &FieldError{File: p.File, Line: ref.Pos.Line, Col: ref.Pos.Col, Path: ref.Path, Text: text})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// ReadSecret returns a secret's content, without the one trailing newline an
// editor adds.
func ReadSecret(root, name string) ([]byte, error) {
	data, err := os.ReadFile(SecretPath(root, name))
	if err != nil {
		return nil, err
	}
	if n := len(data); n > 0 && data[n-1] == '\n' {
		data = data[:n-1]
	}
	return data, nil
}

// isNewlineOnly reports whether a one-byte secret file holds just "\n".
func isNewlineOnly(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && string(data) == "\n"
}
