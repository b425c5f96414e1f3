package templates

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision/i18n"
)

func TestNames(t *testing.T) {
	got := Names()
	if !slices.IsSorted(got) {
		t.Errorf("Names() = %v, not sorted", got)
	}
	for _, want := range []string{"showcase", "event", "news"} {
		if !slices.Contains(got, want) || !Known(want) {
			t.Errorf("template %s missing from %v", want, got)
		}
	}
	got[0] = "changed"
	if Names()[0] == "changed" {
		t.Error("Names() hands out its own slice")
	}
	if Known("blog") {
		t.Error(`Known("blog") = true`)
	}
}

// TestEveryTemplate renders a page and a 404 with each template in both
// languages: a template that refers to a missing word or field fails here.
func TestEveryTemplate(t *testing.T) {
	for _, name := range Names() {
		for _, lang := range []i18n.Lang{i18n.FR, i18n.EN} {
			for _, notFound := range []bool{false, true} {
				var buf bytes.Buffer
				p := &SitePage{
					Lang: lang, Association: "A", SiteName: "s", SiteTitle: "S", Title: "T", Path: "/", Home: true,
					Params:   map[string]string{"date": "2026-06-21", "place": "P"},
					Nav:      []Link{{Title: "T", Path: "/", Current: true}, {Title: "U", Path: "/u"}},
					Body:     "<p>body</p>",
					NotFound: notFound,
				}
				if err := Site(&buf, name, p); err != nil {
					t.Fatalf("%s %s: %v", name, lang, err)
				}
				if want := `<html lang="` + string(lang) + `">`; !strings.Contains(buf.String(), want) {
					t.Errorf("%s %s: no %s", name, lang, want)
				}
			}
		}
	}
	if err := Site(&bytes.Buffer{}, "blog", &SitePage{}); err == nil {
		t.Error("an unknown template renders")
	}
}

func TestDate(t *testing.T) {
	for _, c := range []struct {
		lang     i18n.Lang
		in, want string
	}{
		{i18n.FR, "2026-06-21", "21 juin 2026"},
		{i18n.FR, "2026-08-01", "1er août 2026"},
		{i18n.EN, "2026-06-21", "June 21, 2026"},
		{i18n.FR, "le 21 juin", "le 21 juin"},
		{i18n.EN, "2026-13-01", "2026-13-01"},
	} {
		if got := date(c.lang, c.in); got != c.want {
			t.Errorf("date(%s, %q) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}
