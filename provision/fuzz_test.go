package provision

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ruche-box/ruche/provision/i18n"
)

// FuzzLoad feeds Load every pack under testdata/packs and what the fuzzer
// makes of them. Load must never panic; every error must point into the
// file (line and column from 1) and print on one line in both languages;
// a pack Load accepts must stay valid, and must load again once written
// back as YAML.
func FuzzLoad(f *testing.F) {
	err := filepath.WalkDir("testdata/packs", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Add(data)
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load("pack.yaml", data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Load error is %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Line < 1 || e.Col < 1 {
					t.Errorf("error at %d:%d: %s", e.Line, e.Col, e.Localize(i18n.EN))
				}
				for _, lang := range []i18n.Lang{i18n.EN, i18n.FR} {
					msg := e.Localize(lang)
					// "%!" is fmt's mark of a bad format, unless the input itself has it.
					if strings.Contains(msg, "\n") || strings.Contains(msg, "%!") && !bytes.Contains(data, []byte("%!")) {
						t.Errorf("bad message %q", msg)
					}
				}
			}
			return
		}
		if errs := Validate(p); errs != nil {
			t.Fatalf("a loaded pack does not validate after Defaults: %s", errs.Localize(i18n.EN))
		}
		for _, s := range p.Secrets() {
			if s.Pos.Line < 1 || s.Pos.Col < 1 || !reSecret.MatchString(s.Name) {
				t.Errorf("secret %+v", s)
			}
		}
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if _, err := Load("again.yaml", out); err != nil {
			t.Fatalf("a valid pack written back does not load:\n%s\n%s", out, i18n.Localize(err, i18n.EN))
		}
	})
}
