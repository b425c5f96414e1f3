package sites

import (
	"crypto/sha1"
	"encoding/xml"
	"fmt"
	"time"
)

// The Atom feed of a news site (RFC 4287), built with encoding/xml so that
// every value is escaped by the same code that a reader's parser undoes.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Base    string      `xml:"http://www.w3.org/XML/1998/namespace base,attr"`
	ID      string      `xml:"id"`
	Title   atomText    `xml:"title"`
	Sub     *atomText   `xml:"subtitle"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Gen     string      `xml:"generator"`
	Entries []atomEntry `xml:"entry"`
}

type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Text string `xml:",chardata"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name  string `xml:"name"`
	Email string `xml:"email,omitempty"`
}

type atomEntry struct {
	ID        string    `xml:"id"`
	Title     atomText  `xml:"title"`
	Updated   string    `xml:"updated"`
	Published string    `xml:"published"`
	Link      atomLink  `xml:"link"`
	Summary   *atomText `xml:"summary"`
	Content   atomText  `xml:"content"`
}

// renderFeed renders the feed of a news site's posts (at least one). A
// post's time is midnight of its date in the box's time zone: the pack
// gives a day, and a render must not read the clock. The feed's updated
// is its newest post's.
func renderFeed(st *site, posts []post) ([]byte, error) {
	f := atomFeed{
		Lang:    string(st.lang),
		Base:    st.base + "/",
		ID:      uuidURN(st.pack.Association.Slug, st.spec.Name, ""),
		Title:   atomText{Type: "text", Text: st.title},
		Updated: postTime(st, posts[0].Date),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: st.base + "/" + FeedFile},
			{Rel: "alternate", Type: "text/html", Href: st.base + "/"},
		},
		Author: atomPerson{Name: firstNonEmpty(st.pack.Association.Name, st.title), Email: st.pack.Association.Contact},
		Gen:    "Ruche",
	}
	if t := st.spec.Params["tagline"]; t != "" {
		f.Sub = &atomText{Type: "text", Text: t}
	}
	for _, p := range posts {
		updated := postTime(st, p.Date)
		e := atomEntry{
			ID:        uuidURN(st.pack.Association.Slug, st.spec.Name, p.Path),
			Title:     atomText{Type: "text", Text: p.Title},
			Updated:   updated,
			Published: updated,
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: st.base + p.Path},
			// The sanitised HTML of the page, escaped once more as XML
			// text: type="html" says a reader unescapes then renders it.
			Content: atomText{Type: "html", Text: string(p.body)},
		}
		if p.Summary != "" {
			e.Summary = &atomText{Type: "text", Text: p.Summary}
		}
		f.Entries = append(f.Entries, e)
	}
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// postTime is a post's date as an RFC 3339 time: midnight in the box's
// time zone.
func postTime(st *site, date string) string {
	d, _ := time.ParseInLocation(time.DateOnly, date, st.loc)
	return d.Format(time.RFC3339)
}

// uuidURN is a name-based UUID (version 5, RFC 9562) for what a feed or a
// calendar must identify forever: derived from the association's slug,
// the site's name and a path, it survives a change of domain or title,
// and the same pack always gives the same one.
func uuidURN(parts ...string) string {
	h := sha1.New()
	h.Write(urlNamespace[:])
	h.Write([]byte("ruche:sites:"))
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// urlNamespace is RFC 9562's namespace for URLs, under which Ruche hashes
// "ruche:sites:" and the parts. Changing either would change the identity
// of every feed, post and event, and readers would show them all again.
var urlNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
