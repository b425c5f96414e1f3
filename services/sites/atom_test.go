package sites

import (
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ruche-box/ruche/provision"
)

// parsedFeed is an Atom feed as a reader parses it, in the Atom namespace.
type parsedFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	ID      string   `xml:"http://www.w3.org/2005/Atom id"`
	Title   string   `xml:"http://www.w3.org/2005/Atom title"`
	Updated string   `xml:"http://www.w3.org/2005/Atom updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Type string `xml:"type,attr"`
		Href string `xml:"href,attr"`
	} `xml:"http://www.w3.org/2005/Atom link"`
	Author struct {
		Name string `xml:"http://www.w3.org/2005/Atom name"`
	} `xml:"http://www.w3.org/2005/Atom author"`
	Entries []struct {
		ID      string `xml:"http://www.w3.org/2005/Atom id"`
		Title   string `xml:"http://www.w3.org/2005/Atom title"`
		Updated string `xml:"http://www.w3.org/2005/Atom updated"`
		Link    struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
		Content struct {
			Type string `xml:"type,attr"`
			Text string `xml:",chardata"`
		} `xml:"http://www.w3.org/2005/Atom content"`
	} `xml:"http://www.w3.org/2005/Atom entry"`
}

var reUUID = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestAtomFeeds parses the feed of each news site of the test packs with
// encoding/xml and checks what RFC 4287 requires of it: a feed id, title,
// updated and author, a self and an alternate link, absolute; entries with
// a unique id, a title, an RFC 3339 updated, a link, and their page as
// escaped HTML; newest first, the feed's updated its newest entry's.
func TestAtomFeeds(t *testing.T) {
	for _, c := range []struct {
		pack, site, base, lang string
		entries                int
	}{
		{"pack", "journal", "https://journal.xn--caf-anais-d4a.fr", "fr", 3},
		{"pack-en", "news", "http://news-riverside.local", "en", 1},
	} {
		t.Run(c.site, func(t *testing.T) {
			raw := siteFiles(render(t, loadPack(t, "testdata/"+c.pack+".yaml")))[c.site+"/feed.atom"]
			if !strings.HasPrefix(string(raw), `<?xml version="1.0" encoding="UTF-8"?>`) {
				t.Errorf("no XML declaration: %.60s", raw)
			}
			var f parsedFeed
			if err := xml.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			if !reUUID.MatchString(f.ID) || f.Title == "" || f.Author.Name == "" || f.Lang != c.lang {
				t.Errorf("feed id %q, title %q, author %q, lang %q", f.ID, f.Title, f.Author.Name, f.Lang)
			}
			links := map[string]string{}
			for _, l := range f.Links {
				links[l.Rel] = l.Href
			}
			if links["self"] != c.base+"/feed.atom" || links["alternate"] != c.base+"/" {
				t.Errorf("links %v, want self and alternate under %s", links, c.base)
			}
			if len(f.Entries) != c.entries {
				t.Fatalf("%d entries, want %d", len(f.Entries), c.entries)
			}
			ids := map[string]bool{f.ID: true}
			var newest, previous time.Time
			for i, e := range f.Entries {
				if !reUUID.MatchString(e.ID) || ids[e.ID] {
					t.Errorf("entry %d: id %q is not a fresh urn:uuid", i, e.ID)
				}
				ids[e.ID] = true
				updated, err := time.Parse(time.RFC3339, e.Updated)
				if err != nil {
					t.Errorf("entry %d: updated: %v", i, err)
				}
				if i > 0 && updated.After(previous) {
					t.Errorf("entry %d is newer than the one before it", i)
				}
				previous = updated
				if updated.After(newest) {
					newest = updated
				}
				if e.Title == "" || e.Link.Rel != "alternate" || !strings.HasPrefix(e.Link.Href, c.base+"/") {
					t.Errorf("entry %d: title %q, link %+v", i, e.Title, e.Link)
				}
				// The content is HTML once unescaped: it parses, and holds
				// the post's paragraph.
				if e.Content.Type != "html" || !strings.HasPrefix(e.Content.Text, "<p>") {
					t.Errorf("entry %d: content %s %q", i, e.Content.Type, e.Content.Text)
				}
				if _, err := html.Parse(strings.NewReader(e.Content.Text)); err != nil {
					t.Errorf("entry %d: content: %v", i, err)
				}
			}
			if u, err := time.Parse(time.RFC3339, f.Updated); err != nil || !u.Equal(newest) {
				t.Errorf("feed updated %q, want its newest entry's %v", f.Updated, newest)
			}
		})
	}
}

// TestAtomEscaping: a title with markup stays text in the feed.
func TestAtomEscaping(t *testing.T) {
	raw := siteFiles(render(t, loadPack(t, "testdata/pack-en.yaml")))["news/feed.atom"]
	var f parsedFeed
	if err := xml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if got, want := f.Entries[0].Title, "Hello, <world> & friends"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if !strings.Contains(f.Entries[0].Content.Text, `<a href="/program">link</a>`) {
		t.Errorf("content %q", f.Entries[0].Content.Text)
	}
}

// TestNoFeedWithoutPosts: a news site with no dated post has no feed to
// advertise.
func TestNoFeedWithoutPosts(t *testing.T) {
	p := &provision.Pack{Association: provision.Association{Slug: "a"}, Box: provision.Box{Hostname: "b"},
		Sites: []provision.Site{{Name: "n", Template: "news", Title: "N", Pages: []provision.Page{{Path: "/a", Title: "A"}}}}}
	files := siteFiles(render(t, p))
	if files["n/feed.atom"] != nil || strings.Contains(string(files["n/index.html"]), "atom") {
		t.Error("a feed without posts")
	}
	if !strings.Contains(string(files["n/index.html"]), "Pas encore de nouvelles.") {
		t.Error("the index does not say there is no news yet")
	}
}

func TestBaseURL(t *testing.T) {
	for _, c := range []struct {
		tls     string
		domains []string
		want    string
	}{
		{"internal", []string{"café-anais.fr", "www.cafe.org"}, "https://xn--caf-anais-d4a.fr"},
		{"", nil, "https://s-box.local"},
		{"acme", []string{"Cafe.ORG"}, "https://cafe.org"},
		{"off", nil, "http://s-box.local"},
	} {
		p := &provision.Pack{Box: provision.Box{Hostname: "box", TLS: c.tls}}
		if got := BaseURL(p, &provision.Site{Name: "s", Domains: c.domains}); got != c.want {
			t.Errorf("BaseURL(%s, %v) = %q, want %q", c.tls, c.domains, got, c.want)
		}
	}
}

func TestUUID(t *testing.T) {
	a, b := uuidURN("asso", "site", "/a"), uuidURN("asso", "site", "/b")
	if !reUUID.MatchString(a) || a == b || a != uuidURN("asso", "site", "/a") {
		t.Errorf("uuidURN: %s, %s", a, b)
	}
	// The parts are separated: ("ab", "c") is not ("a", "bc").
	if uuidURN("ab", "c") == uuidURN("a", "bc") {
		t.Error("uuidURN does not separate its parts")
	}
}
