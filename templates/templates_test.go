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
					Lang: lang, Template: name, Association: "A", Contact: "a@b.org", SiteName: "s", SiteTitle: "S", Tagline: "tag",
					Title: "T", Path: "/", Home: true,
					Nav:      []Link{{Title: "T", Path: "/", Current: true}, {Title: "U", Path: "/u"}},
					Body:     "<p>body</p>",
					NotFound: notFound,
					Feed:     "/feed.atom",
					Showcase: &Showcase{Address: []string{"1 rue"}, Phone: "01", PhoneURI: "tel:01", Email: "a@b.org",
						Hours: []string{"lundi"}, Links: []Link{{Title: "W", Path: "https://w.example/"}}},
					Event: &Event{Date: "2026-06-21", Time: "18:00", EndTime: "20:00", Place: []string{"P"},
						Registration: "https://r.example/", Calendar: "/event.ics"},
					Posts: []Post{{Title: "P", Path: "/p", Date: "2026-06-01", Summary: "s"}},
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
		{i18n.EN, "2026-06-21", "21 June 2026"},
		{i18n.EN, "2026-08-01", "1 August 2026"},
		{i18n.FR, "le 21 juin", "le 21 juin"},
		{i18n.EN, "2026-13-01", "2026-13-01"},
	} {
		if got := date(c.lang, c.in); got != c.want {
			t.Errorf("date(%s, %q) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}

func TestLongDateAndClock(t *testing.T) {
	for _, c := range []struct {
		lang     i18n.Lang
		in, want string
		fn       func(i18n.Lang, string) string
	}{
		{i18n.FR, "2026-06-21", "dimanche 21 juin 2026", longDate},
		{i18n.EN, "2026-06-21", "Sunday 21 June 2026", longDate},
		{i18n.FR, "18:00", "18\u00a0h", clock},
		{i18n.FR, "09:05", "9\u00a0h\u00a005", clock},
		{i18n.FR, "00:30", "0\u00a0h\u00a030", clock},
		{i18n.EN, "09:05", "09:05", clock},
	} {
		if got := c.fn(c.lang, c.in); got != c.want {
			t.Errorf("%s %q: got %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}

// TestParamsListed: every template says which params it reads, and every
// param kind has a parser the validator and the renderer share.
func TestParamsListed(t *testing.T) {
	for _, name := range Names() {
		ps := Params(name)
		if len(ps) == 0 {
			t.Errorf("template %s lists no params", name)
		}
		seen := map[string]bool{}
		for _, p := range ps {
			if seen[p.Name] {
				t.Errorf("template %s lists %s twice", name, p.Name)
			}
			seen[p.Name] = true
		}
	}
	if Params("blog") != nil {
		t.Error("an unknown template has params")
	}
}

func TestParseClock(t *testing.T) {
	for in, want := range map[string]string{"18:30": "18:30", "9:05": "09:05", "00:00": "00:00", "23:59": "23:59"} {
		if got, ok := ParseClock(in); !ok || got != want {
			t.Errorf("ParseClock(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "24:00", "18h30", "18:60", "18:5", "180:00", "-1:00", "+1:00", "18:+5", "18", "18:30:00", " 18:30"} {
		if got, ok := ParseClock(bad); ok {
			t.Errorf("ParseClock(%q) = %q, want refused", bad, got)
		}
	}
}

func TestParseEnd(t *testing.T) {
	for in, want := range map[string][2]string{
		"23:00":            {"", "23:00"},
		"2026-06-22":       {"2026-06-22", ""},
		"2026-06-22 02:00": {"2026-06-22", "02:00"},
		"2026-06-22  2:00": {"2026-06-22", "02:00"},
	} {
		d, c, ok := ParseEnd(in)
		if !ok || d != want[0] || c != want[1] {
			t.Errorf("ParseEnd(%q) = %q, %q, %v; want %q", in, d, c, ok, want)
		}
	}
	for _, bad := range []string{"demain", "2026-06-22T02:00", "02:00 2026-06-22", "2026-13-01", "2026-06-22 25:00"} {
		if _, _, ok := ParseEnd(bad); ok {
			t.Errorf("ParseEnd(%q) accepted", bad)
		}
	}
}

func TestSafeURL(t *testing.T) {
	for _, ok := range []string{"https://example.org/", "http://example.org/a?b=c#d", "/uploads/form.pdf", "/", "HTTPS://EXAMPLE.ORG"} {
		if !SafeURL(ok) {
			t.Errorf("SafeURL(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "//evil.example/", `/\evil.example`,
		"example.org", "mailto:a@b.org", "https://", "https://user:pw@example.org/", "https://exa mple.org/", "ftp://example.org/", "/a\nb"} {
		if SafeURL(bad) {
			t.Errorf("SafeURL(%q) = true", bad)
		}
	}
}

func TestParseLinks(t *testing.T) {
	links, bad := ParseLinks("Wiki|https://wiki.example/\n\n  Statuts | /uploads/statuts.pdf  \n")
	if bad != 0 || len(links) != 2 || links[1] != (Link{Title: "Statuts", Path: "/uploads/statuts.pdf"}) {
		t.Errorf("got %+v, bad line %d", links, bad)
	}
	for in, want := range map[string]int{
		"https://wiki.example/":                      1,
		"Wiki|https://w.example/\nX|javascript:x":    2,
		"|https://w.example/":                        1,
		"Wiki|https://w.example/\n\nMail|mailto:a@b": 3,
	} {
		if _, bad := ParseLinks(in); bad != want {
			t.Errorf("ParseLinks(%q): bad line %d, want %d", in, bad, want)
		}
	}
}

func TestPhoneURI(t *testing.T) {
	for in, want := range map[string]string{
		"04 72 00 00 00":       "tel:0472000000",
		"04.72.00.00.00":       "tel:0472000000",
		"+33 (0)4 72 00 00 00": "tel:+33472000000",
		"+33 4 72-00-00-00":    "tel:+33472000000",
		"3114":                 "tel:3114",
	} {
		if got, ok := PhoneURI(in); !ok || got != want {
			t.Errorf("PhoneURI(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "12", "appelez-nous", "04 72 + 00", "1234567890123456", `"><script>`} {
		if got, ok := PhoneURI(bad); ok {
			t.Errorf("PhoneURI(%q) = %q, want refused", bad, got)
		}
	}
}
