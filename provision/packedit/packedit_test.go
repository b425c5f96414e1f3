package packedit

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// What yaml.v3 cannot keep, and so these golden files do not keep either,
// on the lines an edit touches (and only there; every other line is the
// original's, byte for byte):
//   - the spacing before a line comment ("role: member   # x" becomes
//     "role: admin # x" when the role changes);
//   - a foot comment's own indentation when the item it follows changes.
// A file whose layout yaml.v3 cannot reproduce at all on the edited lines
// (a list written "- x" at the key's own column) is written in yaml.v3's
// layout; its content is still right (TestLayoutFallback).

// editCase is one edit of a pack, with what it must do to the decoded
// pack.
type editCase struct {
	name string
	file string // under testdata/ or docs/examples/
	edit func(*Doc) error
	want func(*provision.Pack)
}

func aliasIndex(p *provision.Pack, addr string) int {
	return slices.IndexFunc(p.Mail.Aliases, func(a provision.Alias) bool { return a.Address == addr })
}

func userIndex(p *provision.Pack, login string) int {
	return slices.IndexFunc(p.Panel.Users, func(u provision.User) bool { return u.Login == login })
}

func siteIndex(p *provision.Pack, name string) int {
	return slices.IndexFunc(p.Sites, func(s provision.Site) bool { return s.Name == name })
}

const (
	commented = "testdata/commented.yaml"
	demo      = "../../docs/examples/demo.yaml"
	minimal   = "../testdata/packs/good/minimal.yaml"
)

var cases = []editCase{
	{"alias-recipients", commented,
		func(d *Doc) error {
			return d.SetAlias("bureau@ecureuils.fr", []string{"contact@ecureuils.fr", "zoé@example.org", "bob"})
		},
		func(p *provision.Pack) {
			i := aliasIndex(p, "bureau@ecureuils.fr")
			p.Mail.Aliases[i].To = append(p.Mail.Aliases[i].To, "bob")
		}},
	{"alias-flow-recipients", commented,
		func(d *Doc) error { return d.SetAlias("CONTACT@ecureuils.fr", []string{"tech1@example.org", "alice"}) },
		func(p *provision.Pack) {
			p.Mail.Aliases[aliasIndex(p, "contact@ecureuils.fr")].To = []string{"tech1@example.org", "alice"}
		}},
	{"alias-add", commented,
		func(d *Doc) error { return d.SetAlias("fête@ecureuils.fr", []string{"alice", "bob"}) },
		func(p *provision.Pack) {
			p.Mail.Aliases = append(p.Mail.Aliases, provision.Alias{Address: "fête@ecureuils.fr", To: []string{"alice", "bob"}})
		}},
	{"alias-remove", commented,
		func(d *Doc) error { return d.RemoveAlias("bureau@ecureuils.fr") },
		func(p *provision.Pack) { p.Mail.Aliases = slices.Delete(p.Mail.Aliases, 1, 2) }},
	{"alias-remove-first", commented,
		func(d *Doc) error { return d.SetAlias("bureau@ecureuils.fr", []string{"zoé@example.org"}) },
		func(p *provision.Pack) { p.Mail.Aliases[1].To = []string{"zoé@example.org"} }},
	{"alias-create-section", minimal,
		func(d *Doc) error {
			if err := d.SetUser(provision.User{Login: "ana", Role: "admin", Email: "ana@example.org"}); err != nil {
				return err
			}
			return d.SetAlias("info@jardin.example", []string{"ana"})
		},
		nil}, // minimal has no mail domain: only checked to be YAML, see TestEditsLoad
	{"demo-alias", demo,
		func(d *Doc) error {
			return d.SetAlias("contact@cafe-anais.org", []string{"alice", "claire@example.org"})
		},
		func(p *provision.Pack) { p.Mail.Aliases[0].To = []string{"alice", "claire@example.org"} }},
	{"user-add-flow", commented,
		func(d *Doc) error {
			return d.SetUser(provision.User{Login: "zoe", Name: "Zoé Lefèvre", Role: "member", Email: "zoe@example.org"})
		},
		func(p *provision.Pack) {
			p.Panel.Users = append(p.Panel.Users, provision.User{Login: "zoe", Name: "Zoé Lefèvre", Role: "member", Email: "zoe@example.org"})
		}},
	{"user-update-block", commented,
		func(d *Doc) error { return d.SetUser(provision.User{Login: "bob", Name: "Bob Été", Role: "admin"}) },
		func(p *provision.Pack) {
			u := &p.Panel.Users[userIndex(p, "bob")]
			u.Role, u.Email = "admin", ""
		}},
	{"user-update-flow", commented,
		func(d *Doc) error {
			return d.SetUser(provision.User{Login: "tech1", Name: "Technicienne", Role: "technician", Email: "yes@example.org"})
		},
		func(p *provision.Pack) {
			p.Panel.Users[userIndex(p, "tech1")] = provision.User{Login: "tech1", Name: "Technicienne", Role: "technician", Email: "yes@example.org"}
		}},
	{"user-remove", commented,
		func(d *Doc) error { return d.RemoveUser("bob") },
		func(p *provision.Pack) { p.Panel.Users = slices.Delete(p.Panel.Users, 1, 2) }},
	{"user-disable", commented,
		func(d *Doc) error { return d.SetUserDisabled("bob", true) },
		func(p *provision.Pack) { p.Panel.Users[userIndex(p, "bob")].Disabled = true }},
	{"user-disable-flow", demo,
		func(d *Doc) error { return d.SetUserDisabled("bob", true) },
		func(p *provision.Pack) { p.Panel.Users[userIndex(p, "bob")].Disabled = true }},
	{"site-add", commented,
		func(d *Doc) error {
			return d.AddSite(provision.Site{Name: "jeux", Domains: []string{"jeux.ecureuils.fr"}, Template: "showcase", Title: "Soirées jeux",
				Pages: []provision.Page{{Path: "/", Title: "Jeux", Body: "Le **vendredi** soir.\n\nVenez nombreux !\n"}}})
		},
		func(p *provision.Pack) {
			p.Sites = append(p.Sites, provision.Site{Name: "jeux", Domains: []string{"jeux.ecureuils.fr"}, Template: "showcase", Title: "Soirées jeux",
				Pages: []provision.Page{{Path: "/", Title: "Jeux", Body: "Le **vendredi** soir.\n\nVenez nombreux !\n"}}})
		}},
	{"site-remove", commented,
		func(d *Doc) error { return d.RemoveSite("vitrine") },
		func(p *provision.Pack) { p.Sites = slices.Delete(p.Sites, 0, 1) }},
	{"site-title", commented,
		func(d *Doc) error { return d.SetSiteTitle("vitrine", "Les Écureuils « roux »") },
		func(p *provision.Pack) { p.Sites[0].Title = "Les Écureuils « roux »" }},
	{"site-page-edit", commented,
		func(d *Doc) error {
			return d.SetSitePage("vitrine", provision.Page{Path: "/contact", Title: "Nous écrire", Body: "Écrivez-nous à bureau@ecureuils.fr.\n\nOu passez !\n"})
		},
		func(p *provision.Pack) {
			p.Sites[0].Pages[1].Title, p.Sites[0].Pages[1].Body = "Nous écrire", "Écrivez-nous à bureau@ecureuils.fr.\n\nOu passez !\n"
		}},
	{"site-page-add", demo,
		func(d *Doc) error {
			return d.SetSitePage("vitrine", provision.Page{Path: "/ateliers", Title: "Ateliers", Body: "Tous les **mardis**.\n"})
		},
		func(p *provision.Pack) {
			p.Sites[0].Pages = append(p.Sites[0].Pages, provision.Page{Path: "/ateliers", Title: "Ateliers", Body: "Tous les **mardis**.\n"})
		}},
	{"site-page-remove", commented,
		func(d *Doc) error { return d.RemoveSitePage("vitrine", "/") },
		func(p *provision.Pack) { p.Sites[0].Pages = slices.Delete(p.Sites[0].Pages, 0, 1) }},
	{"site-param-flow", commented,
		func(d *Doc) error { return d.SetSiteParam("fete", "place", "Parc des Érables") },
		func(p *provision.Pack) { p.Sites[1].Params["place"] = "Parc des Érables" }},
	{"site-param-remove", demo,
		func(d *Doc) error { return d.SetSiteParam("fete-2026", "place", "") },
		func(p *provision.Pack) { delete(p.Sites[1].Params, "place") }},
}

func read(t *testing.T, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// content is a decoded pack in a comparable form: its exported fields.
func content(t *testing.T, p *provision.Pack) string {
	t.Helper()
	p.File = ""
	b, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEditsGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := read(t, c.file)
			d, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.edit(d); err != nil {
				t.Fatalf("edit: %v", err)
			}
			got, err := d.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", c.name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := read(t, golden)
			if !bytes.Equal(got, want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", got, golden, want)
			}
			if bytes.Equal(got, raw) {
				t.Errorf("the edit changed nothing")
			}
			if c.want == nil {
				return
			}
			before, err := provision.Load(c.file, raw)
			if err != nil {
				t.Fatalf("the original does not load: %v", err)
			}
			after, err := provision.Load(golden, got)
			if err != nil {
				t.Fatalf("the edited pack does not load: %v", err)
			}
			c.want(before)
			if w, g := content(t, before), content(t, after); w != g {
				t.Errorf("decoded content differs:\ngot  %s\nwant %s", g, w)
			}
		})
	}
}

// TestEditsKeepLines: every line of the original that the edit is not
// about is still in the output, in the same order (comments, blank lines,
// quoting, flow style).
func TestEditsKeepLines(t *testing.T) {
	for _, c := range cases {
		raw := read(t, c.file)
		d, _ := Parse(raw)
		if err := c.edit(d); err != nil {
			t.Fatal(err)
		}
		got, _ := d.Bytes()
		// Comments and blank lines are not content: the merge must have
		// kept all of them, but those of a removed item.
		kept := 0
		orig := lines(raw)
		for _, l := range orig {
			if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
				if bytes.Contains(got, []byte(l)) {
					kept++
				}
			}
		}
		var want int
		for _, l := range orig {
			if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
				want++
			}
		}
		removes := strings.Contains(c.name, "remove")
		if !removes && kept != want {
			t.Errorf("%s: %d of %d comment or blank lines kept as they were:\n%s", c.name, kept, want, got)
		}
	}
}

// TestNoEditSameBytes: Parse then Bytes gives the file back; and the merge
// with an empty edit gives back the file too, so that the layout kept on
// edits comes from the merge, not from luck.
func TestNoEditSameBytes(t *testing.T) {
	files, _ := filepath.Glob("../../docs/examples/*.yaml")
	more, _ := filepath.Glob("../testdata/packs/good/*.yaml")
	files = append(append(files, more...), commented)
	if len(files) < 4 {
		t.Fatalf("only %d packs found", len(files))
	}
	for _, f := range files {
		raw := read(t, f)
		d, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got, err := d.Bytes()
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: Parse+Bytes changed the file (err %v)", f, err)
		}
		if m := merge(raw, d.orig, d.orig); !bytes.Equal(m, raw) {
			t.Errorf("%s: merge with no edit:\n%s", f, m)
		}
		// yaml.v3's own rendering reads as the same pack.
		p1, err1 := provision.Load(f, raw)
		p2, err2 := provision.Load(f, d.orig)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", f, err1, err2)
		}
		if content(t, p1) != content(t, p2) {
			t.Errorf("%s: yaml.v3's rendering decodes differently", f)
		}
		// Setting every alias to what it is, and every user to what
		// they are, is no edit at all.
		for _, a := range p1.Mail.Aliases {
			if err := d.SetAlias(a.Address, a.To); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range p1.Panel.Users {
			if err := d.SetUser(u); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := d.Bytes(); !bytes.Equal(got, raw) {
			t.Errorf("%s: identity edits changed the file:\n%s", f, got)
		}
	}
}

// TestEveryAliasEdit edits each alias and user of every pack in turn
// (recipients reversed, a role changed) and checks that the result loads
// as the pack with exactly that change.
func TestEveryAliasEdit(t *testing.T) {
	files, _ := filepath.Glob("../../docs/examples/*.yaml")
	more, _ := filepath.Glob("../testdata/packs/good/*.yaml")
	files = append(append(files, more...), commented)
	n := 0
	for _, f := range files {
		raw := read(t, f)
		orig, err := provision.Load(f, raw)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range orig.Mail.Aliases {
			d, _ := Parse(raw)
			to := slices.Clone(a.To)
			slices.Reverse(to)
			to = append(to, "extra@example.org")
			if err := d.SetAlias(a.Address, to); err != nil {
				t.Fatal(err)
			}
			got, _ := d.Bytes()
			p, err := provision.Load(f, got)
			if err != nil {
				t.Fatalf("%s alias %d: %v\n%s", f, i, err, got)
			}
			want, _ := provision.Load(f, raw)
			want.Mail.Aliases[i].To = to
			if content(t, p) != content(t, want) {
				t.Errorf("%s alias %d: content differs\n%s", f, i, got)
			}
			n++
		}
		for i, u := range orig.Panel.Users {
			d, _ := Parse(raw)
			u.Name += " Jr"
			if err := d.SetUser(u); err != nil {
				t.Fatal(err)
			}
			got, _ := d.Bytes()
			p, err := provision.Load(f, got)
			if err != nil {
				t.Fatalf("%s user %d: %v\n%s", f, i, err, got)
			}
			want, _ := provision.Load(f, raw)
			want.Panel.Users[i].Name = u.Name
			if content(t, p) != content(t, want) {
				t.Errorf("%s user %d: content differs\n%s", f, i, got)
			}
			n++
		}
	}
	if n < 8 {
		t.Fatalf("only %d edits tried", n)
	}
}

// TestLayoutFallback: a list written at its key's column ("- x" under
// "users:"), which yaml.v3 cannot write, still gets a correct pack.
func TestLayoutFallback(t *testing.T) {
	raw := []byte("# tête\napiVersion: ruche/v1\nkind: Pack\nassociation:\n    name: A\n    slug: ab\nbox:\n    hostname: a\npanel:\n    users:\n    - login: ana  # elle\n      role: admin\n")
	d, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.indent != 4 {
		t.Errorf("indent %d, want 4", d.indent)
	}
	if err := d.SetUser(provision.User{Login: "bea", Role: "member"}); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Bytes()
	p, err := provision.Load("x", got)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if len(p.Panel.Users) != 2 || p.Panel.Users[1].Login != "bea" || p.Panel.Users[0].Login != "ana" {
		t.Errorf("users %+v\n%s", p.Panel.Users, got)
	}
	if !bytes.Contains(got, []byte("# tête\n")) || !bytes.Contains(got, []byte("# elle")) {
		t.Errorf("comments lost:\n%s", got)
	}
}

func TestMissingNamed(t *testing.T) {
	raw := read(t, commented)
	for _, c := range []struct {
		name string
		err  func(*Doc) error
	}{
		{"nobody@ecureuils.fr", func(d *Doc) error { return d.RemoveAlias("nobody@ecureuils.fr") }},
		{"zed", func(d *Doc) error { return d.RemoveUser("zed") }},
		{"zed", func(d *Doc) error { return d.SetUserDisabled("zed", true) }},
		{"blog", func(d *Doc) error { return d.RemoveSite("blog") }},
		{"blog", func(d *Doc) error { return d.SetSiteTitle("blog", "x") }},
		{"/nulle-part", func(d *Doc) error { return d.RemoveSitePage("vitrine", "/nulle-part") }},
		{"blog", func(d *Doc) error { return d.SetSiteParam("blog", "date", "2026-01-01") }},
		{"vitrine", func(d *Doc) error { return d.AddSite(provision.Site{Name: "vitrine"}) }},
	} {
		d, _ := Parse(raw)
		err := c.err(d)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		fr, en := i18n.Localize(err, i18n.FR), i18n.Localize(err, i18n.EN)
		if fr == en || !strings.Contains(fr, c.name) || !strings.Contains(en, c.name) {
			t.Errorf("%s: fr %q en %q", c.name, fr, en)
		}
		if got, _ := d.Bytes(); !bytes.Equal(got, raw) {
			t.Errorf("%s: a failed edit changed the file", c.name)
		}
	}
}
