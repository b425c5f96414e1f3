package provision

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ruche-box/ruche/provision/i18n"
)

// updatePacks rewrites the "# want:" lines of testdata/packs/bad from what
// Load says. Review the diff: the expectations are the contract.
var updatePacks = flag.Bool("update-packs", false, "rewrite the # want: lines of testdata/packs/bad")

// badPack is a file of testdata/packs/bad: a leading comment block that
// describes it, may pin the language ("# lang: fr", English otherwise) and
// lists the expected errors ("# want: LINE:COL: PATH: message"), in order.
type badPack struct {
	name  string
	lang  i18n.Lang
	desc  []string // comment lines that are neither lang nor want
	wants []string
	body  string // everything after the leading comments
}

func readBadPack(t *testing.T, file string) badPack {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bp := badPack{name: filepath.Base(file), lang: i18n.EN}
	rest := string(data)
	for strings.HasPrefix(rest, "#") {
		line, after, _ := strings.Cut(rest, "\n")
		rest = after
		switch {
		case strings.HasPrefix(line, "# want: "):
			bp.wants = append(bp.wants, strings.TrimPrefix(line, "# want: "))
		case strings.HasPrefix(line, "# lang: "):
			bp.lang = i18n.Lang(strings.TrimPrefix(line, "# lang: "))
		default:
			bp.desc = append(bp.desc, line)
		}
	}
	bp.body = rest
	return bp
}

// content is the file with its header rebuilt around wants.
func (bp badPack) content(wants []string) []byte {
	var b strings.Builder
	if bp.lang != i18n.EN {
		b.WriteString("# lang: " + string(bp.lang) + "\n")
	}
	for _, d := range bp.desc {
		b.WriteString(d + "\n")
	}
	for _, w := range wants {
		b.WriteString("# want: " + w + "\n")
	}
	b.WriteString(bp.body)
	return []byte(b.String())
}

// loadErrors runs Load and returns its errors, one line each, without the
// file name prefix.
func loadErrors(t *testing.T, name string, data []byte, lang i18n.Lang) []string {
	t.Helper()
	p, err := Load(name, data)
	if err == nil {
		return nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Load(%s) error is %T, want ErrorList", name, err)
	}
	if p != nil && p.File != name {
		t.Errorf("pack.File = %q, want %q", p.File, name)
	}
	var out []string
	for _, line := range strings.Split(list.Localize(lang), "\n") {
		rest, ok := strings.CutPrefix(line, name+":")
		if !ok {
			t.Errorf("error line %q does not start with the file name %q", line, name)
		}
		out = append(out, rest)
	}
	return out
}

// TestValidateBadPacks is the contract of error messages: each bad pack
// gives exactly its expected errors, in file order.
func TestValidateBadPacks(t *testing.T) {
	files, err := filepath.Glob("testdata/packs/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 35 {
		t.Fatalf("only %d bad packs, want at least 35", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			bp := readBadPack(t, file)
			if *updatePacks {
				// The want lines shift the body: recompute until the
				// header stops changing.
				wants := bp.wants
				for range 5 {
					got := loadErrors(t, bp.name, bp.content(wants), bp.lang)
					if reflect.DeepEqual(got, wants) {
						break
					}
					wants = got
				}
				if err := os.WriteFile(file, bp.content(wants), 0o644); err != nil {
					t.Fatal(err)
				}
				bp.wants = wants
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := loadErrors(t, bp.name, data, bp.lang)
			if len(got) == 0 {
				t.Fatalf("Load accepted a bad pack")
			}
			if !reflect.DeepEqual(got, bp.wants) {
				t.Errorf("errors:\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(bp.wants, "\n  "))
			}
		})
	}
}

// TestDecodeGoodPacks loads the good packs: no error, defaults applied.
func TestDecodeGoodPacks(t *testing.T) {
	files, err := filepath.Glob("testdata/packs/good/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("only %d good packs", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Load("pack.yaml", data)
			if err != nil {
				t.Fatalf("Load: %s", i18n.Localize(err, i18n.EN))
			}
			if errs := Validate(p); len(errs) > 0 {
				t.Errorf("Validate after Defaults: %s", errs.Localize(i18n.EN))
			}
			if p.Association.Locale == "" || p.Box.TLS == "" || p.Box.Timezone == "" || p.Backup.Schedule == "" {
				t.Errorf("defaults not applied: %+v %+v", p.Association, p.Box)
			}
		})
	}
}

func loadFile(t *testing.T, file string) *Pack {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(filepath.Base(file), data)
	if err != nil {
		t.Fatalf("Load: %s", i18n.Localize(err, i18n.EN))
	}
	return p
}

// TestDecodeFullPack checks values and positions of the DESIGN.md example.
func TestDecodeFullPack(t *testing.T) {
	p := loadFile(t, "testdata/packs/good/full.yaml")
	if p.Association.Name != "Café d'ANAIS" || p.Box.Hostname != "cafe-anais" {
		t.Errorf("association/box = %+v %+v", p.Association, p.Box)
	}
	if got := p.Sites[1].Params["date"]; got != "2026-06-21" {
		t.Errorf(`params.date = %q, want "2026-06-21" (a timestamp read as text)`, got)
	}
	if p.Mail.Relay == nil || p.Mail.Relay.Port != 587 || p.Mail.Relay.PasswordSecret != "smtp-relay" {
		t.Errorf("relay = %+v", p.Mail.Relay)
	}
	if !p.Backup.Targets[0].Removable || p.Backup.Keep != (Keep{7, 4, 12}) {
		t.Errorf("backup = %+v", p.Backup)
	}
	if !p.Wiki.Enabled || !p.Wiki.PublicRead || !reflect.DeepEqual(p.Wiki.Editors, []string{"admin", "member"}) {
		t.Errorf("wiki = %+v", p.Wiki)
	}
	for path, want := range map[string]Pos{
		"association.slug":     {6, 9},
		"sites[0].domains[1]":  {22, 31},
		"sites[1].params.date": {34, 20},
		"sites[1]":             {30, 5},
		"mail.relay.port":      {37, 41},
		"panel.users[1].role":  {51, 28},
		"sites[0].pages[0]":    {26, 9},
		"sites[0].nope":        {21, 5}, // absent: its parent
		"":                     {2, 1},
	} {
		if got := p.Pos(path); got != want {
			t.Errorf("Pos(%q) = %v, want %v", path, got, want)
		}
	}
	if got, want := p.KeyPos("sites[1].params.date"), (Pos{34, 14}); got != want {
		t.Errorf("KeyPos(params.date) = %v, want %v", got, want)
	}
}

// TestDecodeSecrets lists the secrets a pack names, in file order, with
// the place of their field.
func TestDecodeSecrets(t *testing.T) {
	p := loadFile(t, "testdata/packs/good/full.yaml")
	want := []SecretRef{
		{Name: "smtp-relay", Path: "mail.relay.password_secret", Pos: Pos{37, 93}},
		{Name: "restic", Path: "backup.password_secret", Pos: Pos{44, 20}},
	}
	if got := p.Secrets(); !reflect.DeepEqual(got, want) {
		t.Errorf("Secrets() = %+v, want %+v", got, want)
	}
	// A key_secret added to a target is listed too.
	p.Backup.Targets[1].KeySecret = "support-key"
	got := p.Secrets()
	if len(got) != 3 || got[2].Path != "backup.targets[1].key_secret" || got[2].Name != "support-key" {
		t.Errorf("Secrets() with key_secret = %+v", got)
	}
}

func TestDecodeMinimalDefaults(t *testing.T) {
	p := loadFile(t, "testdata/packs/good/minimal.yaml")
	want := Pack{
		APIVersion:  APIVersion,
		Kind:        Kind,
		Association: Association{Name: "Les Amis du Jardin", Slug: "amis-jardin", Locale: "fr"},
		Box:         Box{Hostname: "jardin", Timezone: "UTC", TLS: "internal"},
		Backup:      Backup{Schedule: DefaultSchedule},
		File:        "minimal.yaml",
	}
	p.positions, p.keyPositions = nil, nil
	if !reflect.DeepEqual(*p, want) {
		t.Errorf("minimal pack =\n%+v\nwant\n%+v", *p, want)
	}
	// Defaults is idempotent and keeps what was written.
	before := *p
	p.Defaults()
	if !reflect.DeepEqual(*p, before) {
		t.Errorf("Defaults twice changed the pack")
	}
}

// TestDecodeAnchorsAndMerge: anchors, aliases and merge keys resolve, with
// positions where the values are written.
func TestDecodeAnchorsAndMerge(t *testing.T) {
	src := `apiVersion: ruche/v1
kind: Pack
association: {name: Jardin, slug: jardin}
box: {hostname: jardin}
x-defaults: &defaults
  template: showcase
  title: Jardin
sites:
  - <<: *defaults
    name: vitrine
  - <<: *defaults
    name: fete
    template: event
`
	p, err := Load("pack.yaml", []byte(src))
	if err != nil {
		// x-defaults is not a field: that is the one expected error.
		var list ErrorList
		if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(list[0].Localize(i18n.EN), `unknown field "x-defaults"`) {
			t.Fatalf("Load: %v", i18n.Localize(err, i18n.EN))
		}
	}
	if p.Sites[0].Template != "showcase" || p.Sites[1].Template != "event" || p.Sites[1].Title != "Jardin" {
		t.Errorf("sites = %+v", p.Sites)
	}
	if got, want := p.Pos("sites[0].title"), (Pos{7, 10}); got != want {
		t.Errorf("merged title at %v, want %v (where it is written)", got, want)
	}
}

func TestDecodeQuotedNumbersAndBooleans(t *testing.T) {
	src := `apiVersion: ruche/v1
kind: Pack
association: {name: Jardin, slug: jardin}
box: {hostname: jardin}
wiki: {enabled: yes, title: Wiki, public_read: "false"}
mail:
  relay: {host: smtp.example.net, port: "2525"}
backup:
  keep: {daily: 0x7}
`
	p, err := Load("pack.yaml", []byte(src))
	if err != nil {
		t.Fatal(i18n.Localize(err, i18n.EN))
	}
	if !p.Wiki.Enabled || p.Wiki.PublicRead || p.Mail.Relay.Port != 2525 || p.Backup.Keep.Daily != 7 {
		t.Errorf("wiki %+v relay %+v keep %+v", p.Wiki, p.Mail.Relay, p.Backup.Keep)
	}
}

// TestDecodeErrorsSorted: errors come out in file order whatever order the
// checks ran in, both from Load and from Localize of an unsorted list.
func TestDecodeErrorsSorted(t *testing.T) {
	data, err := os.ReadFile("testdata/packs/bad/multiple-errors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load("pack.yaml", data)
	var list ErrorList
	if !errors.As(err, &list) || len(list) < 5 {
		t.Fatalf("Load: %v", err)
	}
	for i := 1; i < len(list); i++ {
		if posLess(Pos{list[i].Line, list[i].Col}, Pos{list[i-1].Line, list[i-1].Col}) {
			t.Errorf("error %d (%d:%d) before error %d (%d:%d)", i, list[i].Line, list[i].Col, i-1, list[i-1].Line, list[i-1].Col)
		}
	}
	unsorted := ErrorList{
		{File: "p.yaml", Line: 9, Col: 1, Path: "b", Text: i18n.T(msgRequired)},
		{File: "p.yaml", Line: 2, Col: 7, Path: "a", Text: i18n.T(msgRequired)},
		{File: "p.yaml", Line: 2, Col: 3, Path: "c", Text: i18n.T(msgRequired)},
	}
	want := "p.yaml:2:3: c: this field is required\np.yaml:2:7: a: this field is required\np.yaml:9:1: b: this field is required"
	if got := unsorted.Localize(i18n.EN); got != want {
		t.Errorf("Localize =\n%s\nwant\n%s", got, want)
	}
	if unsorted[0].Line != 9 {
		t.Errorf("Localize sorted the list in place")
	}
	if got := unsorted.Error(); !strings.HasPrefix(got, "p.yaml:2:3: c: ce champ est obligatoire") {
		t.Errorf("Error() is not French first: %q", got)
	}
}

func TestDecodeFieldErrorFormat(t *testing.T) {
	e := &FieldError{File: "pack.yaml", Line: 12, Col: 5, Path: "sites[1].domains[0]", Text: i18n.T(msgDomain, quoted("fete..org"))}
	for lang, want := range map[i18n.Lang]string{
		i18n.EN: `pack.yaml:12:5: sites[1].domains[0]: "fete..org" is not a domain name`,
		i18n.FR: `pack.yaml:12:5: sites[1].domains[0]: « fete..org » n'est pas un nom de domaine`,
	} {
		if got := e.Localize(lang); got != want {
			t.Errorf("Localize(%s) = %s, want %s", lang, got, want)
		}
	}
	// A value with a newline stays on one line, escaped; a long one is cut.
	e = &FieldError{Line: 1, Col: 1, Text: i18n.T(msgDomain, quoted("a\nb"+strings.Repeat("x", 100)))}
	if got := e.Localize(i18n.FR); strings.Contains(got, "\n") || !strings.Contains(got, `« a\nb`) || !strings.Contains(got, "x… »") {
		t.Errorf("Localize = %q", got)
	}
	// A cause that speaks for itself is appended, in the same language.
	e = &FieldError{Line: 3, Col: 4, Path: "backup.schedule", Err: i18n.Errorf(i18n.M{FR: "heure invalide", EN: "bad hour"})}
	if got := e.Localize(i18n.EN); got != "3:4: backup.schedule: bad hour" {
		t.Errorf("Localize = %q", got)
	}
}

// TestDecodeMessagesBilingual: every message has both languages, with the
// same verbs, so no argument is lost in translation.
func TestDecodeMessagesBilingual(t *testing.T) {
	msgs := []i18n.M{msgEmpty, msgFileTooBig, msgSyntax, msgMultiDoc, msgTooBig, msgUnknownField, msgUnknownFieldSuggest,
		msgDuplicateKey, msgKeyNotWord, msgBadMerge, msgNotWhole, msgNotNumber, msgNotBool, msgCannotRead,
		msgAPIVersionMissing, msgAPIVersionBad, msgKindMissing, msgKindBad,
		msgRequired, msgSlug, msgLocale, msgEmail, msgHostname, msgWikiLabel, msgTimezone, msgTLS, msgACMENoDomain,
		msgDomain, msgDomainEmpty, msgDomainDot, msgDomainIP, msgDomainOneLabel, msgDomainLocal, msgUsedBy,
		msgGivenTwice, msgRole, msgSiteName, msgSiteReserved, msgSiteLabel, msgTemplate, msgPageSlash, msgPageDots,
		msgPagePath, msgParamKey, msgRelayHost, msgPort, msgPasswordForUser, msgAliasDomain, msgAliasNoTo,
		msgAliasLoop, msgSchedule, msgKeepNegative, msgKeepNothing, msgBackupPassword, msgTargetName, msgRepoRelative,
		msgRepoBad, msgRemovable, msgSFTPOnly, msgHostKey, msgSecretValue, msgSecretName, msgLogin, msgNoAdmin}
	for _, p := range plainSyntax {
		msgs = append(msgs, p)
	}
	for _, m := range msgs {
		if m.FR == "" || m.EN == "" || m.FR == m.EN {
			t.Errorf("message not in both languages: %+v", m)
		}
		if verbs(m.FR) != verbs(m.EN) {
			t.Errorf("verbs differ: %q vs %q", m.FR, m.EN)
		}
		if strings.Contains(m.FR, `"`) {
			t.Errorf("French message uses \" instead of « »: %q", m.FR)
		}
	}
}

func verbs(s string) string {
	var out []string
	for i := 0; i < len(s)-1; i++ {
		if s[i] == '%' {
			if s[i+1] == '%' {
				i++
				continue
			}
			out = append(out, s[i:i+2])
			i++
		}
	}
	// %q in English is « %s » in French: same argument, same order.
	return strings.ReplaceAll(strings.Join(out, ","), "%q", "%s")
}

func TestDecodeSuggestion(t *testing.T) {
	fields := structFields(reflect.TypeOf(Site{}))
	for _, tc := range []struct{ name, want string }{
		{"titel", "title"},
		{"Title", "title"},
		{"domain", "domains"},
		{"page", "pages"},
		{"colour", ""},
		{"x", ""},
	} {
		d := &decoder{p: &Pack{}}
		d.unknown(&yaml.Node{Line: 3, Column: 5}, "sites[0]", tc.name, fields)
		got := d.errs[0].Localize(i18n.EN)
		hasSuggestion := strings.Contains(got, "did you mean")
		if tc.want == "" && hasSuggestion || tc.want != "" && !strings.Contains(got, `did you mean "`+tc.want+`"?`) {
			t.Errorf("unknown(%q) = %s, want suggestion %q", tc.name, got, tc.want)
		}
	}
}

func TestDecodeEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"titel", "title", 1}, {"", "abc", 3}, {"abc", "abc", 0}, {"kitten", "sitting", 3}, {"café", "cafe", 1}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestDecodeHostileYAML: inputs that would hang or exhaust a naive
// decoder end in an error, quickly.
func TestDecodeHostileYAML(t *testing.T) {
	for name, tc := range map[string]struct {
		src  string
		want string
	}{
		"merge of itself": {
			"apiVersion: ruche/v1\nkind: Pack\nassociation: &a {<<: *a, name: J, slug: jj}\nbox: {hostname: j}\n",
			"",
		},
		"list containing itself": {
			"apiVersion: ruche/v1\nkind: Pack\nassociation: {name: J, slug: jj}\nbox: {hostname: j}\nsites: &s [*s]\n",
			"5:12: sites[0]: expected a group of fields (name: value), got a list",
		},
		"too big": {
			"apiVersion: ruche/v1\n#" + strings.Repeat("x", maxPackSize),
			"1:1: the file is 4 MiB: a pack is under 4 MiB; is this the right file?",
		},
		"bomb": {
			"apiVersion: ruche/v1\nkind: Pack\nassociation: {name: J, slug: jj}\nbox: {hostname: j}\n" +
				"mail:\n  aliases:\n    - &a {address: a@x.org, to: [" + strings.Repeat("b@x.org,", 300) + "]}\n" +
				"    - " + strings.Repeat("*a\n    - ", 300) + "*a\n",
			"too many values once YAML aliases are expanded",
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load("p.yaml", []byte(tc.src))
			got := ""
			if err != nil {
				got = i18n.Localize(err, i18n.EN)
			}
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDecodeSyntaxLines: yaml.v3 counts lines differently for parser and
// scanner errors; the reported line is the one to look at.
func TestDecodeSyntaxLines(t *testing.T) {
	for src, want := range map[string]string{
		"a: b: c\n":                "1:1: a \":\" is out of place",
		"x: 1\ny: 2\na: b: c\n":    "3:1: a \":\" is out of place",
		"x: 1\ny: [1, 2\nz: 3\n":   "2:1: the YAML is malformed: did not find expected ',' or ']'",
		"x: 1\n- a\n":              "2:1: the indentation does not match the lines above",
		"x: 1\ny:\n  - a\n b: 2\n": "4:1: the indentation does not match the lines above",
		"x: 1\ny: *nope\n":         "1:1: the YAML is malformed: unknown anchor 'nope' referenced",
		"x: 1\ny: 2\nz: \"abc\n":   "3:1: the YAML is malformed: found unexpected end of stream",
		"x: 1\ny: 2\nz: 3\n\xff\n": "1:1: the YAML is malformed: invalid leading UTF-8 octet",
	} {
		_, err := Decode("p.yaml", []byte(src))
		if got := i18n.Localize(err, i18n.EN); !strings.HasPrefix(got, "p.yaml:"+want) {
			t.Errorf("Decode(%q) = %s, want %s", src, got, want)
		}
	}
}
